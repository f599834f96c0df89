import assert from "node:assert/strict";
import { byteSize, duration, optionalString } from "../../src/units.ts";

Deno.test("duration() reads milliseconds as numbers and strings with units", () => {
  const schema = duration();
  const cases: [number | string, number][] = [
    [0, 0],
    [250, 250],
    ["250", 250],
    ["500ms", 500],
    ["30s", 30_000],
    ["1.5s", 1_500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    [" 30 s ", 30_000],
    ["10S", 10_000],
    ["0.0005s", 1],
  ];
  for (const [input, expected] of cases) {
    assert.equal(schema.parse(input), expected, JSON.stringify(input));
  }
});

Deno.test("duration() rejects unknown units, negative and fractional numbers", () => {
  const schema = duration();
  for (const input of ["30x", "abc", "-5s", "", "1d", "5 m s", "1e3"]) {
    const result = schema.safeParse(input);
    assert.equal(result.success, false, JSON.stringify(input));
    assert.equal(
      result.error?.issues[0]?.message,
      `expected a duration like "30s", got "${input}"`,
    );
  }
  for (const input of [-1, 1.5, Number.NaN]) {
    assert.equal(schema.safeParse(input).success, false, String(input));
  }
  assert.equal(schema.safeParse(true).success, false);
});

Deno.test("byteSize() reads sizes in decimal and binary units", () => {
  const schema = byteSize();
  const cases: [number | string, number][] = [
    [1, 1],
    ["100", 100],
    ["100b", 100],
    ["1kb", 1_000],
    ["1KiB", 1_024],
    ["1.5KiB", 1_536],
    ["64MiB", 64 * 1024 * 1024],
    ["64 mib", 64 * 1024 * 1024],
    ["2MB", 2_000_000],
    ["1GB", 1_000_000_000],
    ["1GiB", 1024 ** 3],
  ];
  for (const [input, expected] of cases) {
    assert.equal(schema.parse(input), expected, JSON.stringify(input));
  }
});

Deno.test("byteSize() rejects zero, negative and unknown sizes", () => {
  const schema = byteSize();
  for (const input of ["0", "0b", "0.1b", "12 parsecs", "-1MiB", "1TB", "MiB", ""]) {
    const result = schema.safeParse(input);
    assert.equal(result.success, false, JSON.stringify(input));
    assert.equal(result.error?.issues[0]?.message, `expected a size like "64MiB", got "${input}"`);
  }
  for (const input of [0, -5, 2.5]) {
    assert.equal(schema.safeParse(input).success, false, String(input));
  }
});

Deno.test("optionalString() treats an empty string as absent", () => {
  const schema = optionalString();
  assert.equal(schema.parse(""), undefined);
  assert.equal(schema.parse(undefined), undefined);
  assert.equal(schema.parse("key"), "key");
  assert.equal(schema.safeParse(42).success, false);
});
