import assert from "node:assert/strict";
import { interpolate } from "../../src/interpolate.ts";

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => Object.hasOwn(vars, name) ? vars[name] : undefined;
}

Deno.test("interpolate() substitutes ${VAR} wherever it appears", () => {
  const result = interpolate("http://${HOST}:${PORT}/v1", envOf({ HOST: "db", PORT: "8080" }));
  assert.deepEqual(result, {
    value: "http://db:8080/v1",
    missing: [],
    errors: [],
    changed: true,
    substituted: ["HOST", "PORT"],
  });
});

Deno.test("interpolate() leaves text without ${ alone", () => {
  const lookups: string[] = [];
  const result = interpolate("cost: $5, $HOME, {a}, $", (name) => {
    lookups.push(name);
    return "x";
  });
  assert.deepEqual(result, {
    value: "cost: $5, $HOME, {a}, $",
    missing: [],
    errors: [],
    changed: false,
    substituted: [],
  });
  assert.deepEqual(lookups, []);
});

Deno.test("interpolate() lists unset variables without a default as missing", () => {
  const result = interpolate("${A}-${B}-${C}", envOf({ B: "b" }));
  assert.equal(result.value, "-b-");
  assert.deepEqual(result.missing, ["A", "C"]);
  assert.deepEqual(result.errors, []);
});

Deno.test("interpolate() treats an empty ${VAR} as set", () => {
  const result = interpolate("[${A}]", envOf({ A: "" }));
  assert.equal(result.value, "[]");
  assert.deepEqual(result.missing, []);
});

Deno.test("interpolate() uses the :- default when the variable is unset or empty", () => {
  assert.equal(interpolate("${A:-d}", envOf({})).value, "d");
  assert.equal(interpolate("${A:-d}", envOf({ A: "" })).value, "d");
  assert.equal(interpolate("${A:-d}", envOf({ A: "v" })).value, "v");
  assert.equal(interpolate("${A:-}", envOf({})).value, "");
  assert.deepEqual(interpolate("${A:-}", envOf({})).missing, []);
});

Deno.test("interpolate() uses the - default only when the variable is unset", () => {
  assert.equal(interpolate("${A-d}", envOf({})).value, "d");
  assert.equal(interpolate("${A-d}", envOf({ A: "" })).value, "");
  assert.equal(interpolate("${A-d}", envOf({ A: "v" })).value, "v");
});

Deno.test("interpolate() keeps defaults that contain balanced braces, colons and dashes", () => {
  const env = envOf({});
  assert.equal(interpolate("${P:-./b-{timestamp}}", env).value, "./b-{timestamp}");
  assert.equal(interpolate("${U:-http://h:1/a-b}", env).value, "http://h:1/a-b");
  assert.equal(interpolate("${X:-{{a}}}/{b}", env).value, "{{a}}/{b}");
  assert.equal(interpolate("${X:- spaced }", env).value, " spaced ");
});

Deno.test("interpolate() turns $${ into a literal ${ without looking it up", () => {
  const lookups: string[] = [];
  const result = interpolate("$${HOME} and ${HOME}", (name) => {
    lookups.push(name);
    return "/root";
  });
  assert.equal(result.value, "${HOME} and /root");
  assert.deepEqual(lookups, ["HOME"]);
  assert.equal(result.changed, true);
  assert.equal(interpolate("$${", envOf({})).value, "${");
});

Deno.test("interpolate() does not interpolate values again", () => {
  const result = interpolate("${A}", envOf({ A: "${B}", B: "nope" }));
  assert.equal(result.value, "${B}");
});

Deno.test("interpolate() reports an unclosed ${ by position and keeps the text", () => {
  const result = interpolate("a ${B:-{c}", envOf({ B: "x" }));
  assert.equal(result.value, "a ${B:-{c}");
  assert.deepEqual(result.errors, ['unclosed "${" at character 3 of the value']);
});

Deno.test("interpolate() reports a reference that is not a variable name", () => {
  for (const inner of ["1ABC", "", "A B", "A:+x", "A?"]) {
    const result = interpolate(`x\${${inner}}y`, envOf({}));
    assert.equal(result.value, "xy", inner);
    assert.deepEqual(result.errors, [
      '"${" at character 2 of the value does not start a variable reference like ${NAME} or ' +
      "${NAME:-default}",
    ], inner);
    assert.equal(result.changed, true);
  }
});

Deno.test("interpolate() errors never echo the text around them", () => {
  const secret = "sk-live-0123456789";
  for (const text of [`${secret}\${`, `\${!${secret}}`, `\${A:+${secret}}`, `\${A:-${secret}`]) {
    const result = interpolate(text, envOf({}));
    assert.equal(result.errors.length, 1, text);
    assert.ok(!result.errors[0]!.includes(secret), result.errors[0]!);
  }
});

Deno.test("interpolate() lists the variables whose values were used, once each", () => {
  const env = envOf({ A: "a", B: "", C: "c" });
  assert.deepEqual(interpolate("${A}${A}${B:-d}${C-x}${D:-e}${B}", env).substituted, [
    "A",
    "C",
    "B",
  ]);
  assert.deepEqual(interpolate("${Z}${Z}", env).missing, ["Z"]);
});
