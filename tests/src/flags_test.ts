import assert from "node:assert/strict";
import {
  closestFlag,
  flagEnvName,
  flagEnvProblems,
  FLAGS,
  FlagSet,
  parseFlagValue,
  resolveFlags,
  unknownFlag,
} from "../../src/flags.ts";

/** `[name, value, source]` of every resolved flag. */
function summary(flags: ReturnType<typeof resolveFlags>): [string, boolean, string][] {
  return flags.map((f) => [f.name, f.value, f.source]);
}

Deno.test("FLAGS is alphabetised, kebab-case and fully described", () => {
  const names = FLAGS.map((f) => f.name);
  assert.deepEqual(names, [...names].sort());
  for (const flag of FLAGS) {
    assert.match(flag.name, /^[a-z]+(-[a-z]+)*$/);
    assert.ok(flag.description.length > 20, flag.name);
    assert.ok(["alpha", "beta", "stable"].includes(flag.stage), flag.name);
  }
});

Deno.test("resolveFlags() gives every flag its default when nothing sets it", () => {
  assert.deepEqual(
    summary(resolveFlags({}, {})),
    FLAGS.map((f) => [f.name, f.default, "default"]),
  );
});

Deno.test("resolveFlags() takes the environment over the pipeline over the default", () => {
  const flags = resolveFlags(
    { "adaptive-batching": false, "parallel-partitions": false },
    { WEFT_FLAG_PARALLEL_PARTITIONS: "on", PATH: "/bin" },
  );
  assert.deepEqual(summary(flags), [
    ["adaptive-batching", false, "pipeline"],
    ["grpc-reader", true, "default"],
    ["parallel-partitions", true, "env"],
  ]);
  assert.deepEqual(summary(resolveFlags({}, { WEFT_FLAG_ADAPTIVE_BATCHING: "OFF" }))[0], [
    "adaptive-batching",
    false,
    "env",
  ]);
});

Deno.test("resolveFlags() rejects an unknown pipeline flag, suggesting the closest", () => {
  assert.throws(() => resolveFlags({ "adaptive-bathcing": true }, {}), {
    name: "TypeError",
    message: 'Cannot set flag: unknown flag "adaptive-bathcing"; did you mean ' +
      '"adaptive-batching"? (see `weft flags`)',
  });
});

Deno.test("resolveFlags() rejects a WEFT_FLAG_* variable that names no flag, naming it", () => {
  assert.throws(() => resolveFlags({}, { WEFT_FLAG_PARALLEL_PARTITION: "on" }), {
    name: "TypeError",
    message: 'Cannot read WEFT_FLAG_PARALLEL_PARTITION: unknown flag "parallel-partition"; ' +
      'did you mean "parallel-partitions"? (see `weft flags`)',
  });
});

Deno.test("resolveFlags() rejects a WEFT_FLAG_* value that is not on or off", () => {
  assert.throws(() => resolveFlags({}, { WEFT_FLAG_ADAPTIVE_BATCHING: "maybe" }), {
    name: "TypeError",
    message: 'Cannot read WEFT_FLAG_ADAPTIVE_BATCHING: expected on or off, got "maybe"',
  });
});

Deno.test("flagEnvProblems() lists every bad WEFT_FLAG_* variable, sorted", () => {
  assert.deepEqual(
    flagEnvProblems({
      WEFT_FLAG_ZZZ: "on",
      WEFT_FLAG_ADAPTIVE_BATCHING: "",
      WEFT_FLAG_parallel_partitions: "on",
      WEFT_FLAGS: "ignored",
      OTHER: "x",
    }),
    [
      { variable: "WEFT_FLAG_ADAPTIVE_BATCHING", message: 'expected on or off, got ""' },
      { variable: "WEFT_FLAG_ZZZ", message: 'unknown flag "zzz" (see `weft flags`)' },
      {
        variable: "WEFT_FLAG_parallel_partitions",
        message: "spell it WEFT_FLAG_PARALLEL_PARTITIONS",
      },
    ],
  );
  assert.deepEqual(flagEnvProblems({ WEFT_FLAG_PARALLEL_PARTITIONS: "off" }), []);
});

Deno.test("parseFlagValue() reads on/off, true/false, yes/no and 1/0", () => {
  for (const on of ["on", "ON", " true ", "1", "yes"]) assert.equal(parseFlagValue(on), true, on);
  for (const off of ["off", "False", "0", "no"]) assert.equal(parseFlagValue(off), false, off);
  for (const bad of ["", "enabled", "2"]) assert.equal(parseFlagValue(bad), undefined, bad);
});

Deno.test("flagEnvName() and closestFlag() map names to variables and typos to flags", () => {
  assert.equal(flagEnvName("adaptive-batching"), "WEFT_FLAG_ADAPTIVE_BATCHING");
  assert.equal(closestFlag("paralel-partitions"), "parallel-partitions");
  assert.equal(closestFlag("turbo"), undefined);
  assert.equal(unknownFlag("turbo"), 'unknown flag "turbo" (see `weft flags`)');
});

Deno.test("FlagSet.enabled() answers for known flags and throws for unknown ones", () => {
  const flags = new FlagSet(resolveFlags({ "adaptive-batching": false }, {}));
  assert.equal(flags.enabled("adaptive-batching"), false);
  assert.equal(flags.enabled("parallel-partitions"), true);
  assert.throws(() => flags.enabled("adaptive-batch"), {
    name: "TypeError",
    message: 'Cannot read flag: unknown flag "adaptive-batch"; did you mean ' +
      '"adaptive-batching"? (see `weft flags`)',
  });
});
