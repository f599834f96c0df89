import assert from "node:assert/strict";
import { JsonLiteral, stringifyJson } from "../../src/json.ts";

Deno.test("stringifyJson writes what JSON.stringify writes when no value needs care", () => {
  const value = {
    a: "text",
    b: [1, 2.5, -3, 0, null, true, { c: "d" }],
    e: { f: { g: [[], {}] } },
    h: undefined,
    when: new Date(Date.UTC(2020, 0, 1)),
  };
  assert.equal(stringifyJson(value), JSON.stringify(value));
});

Deno.test("stringifyJson keeps a negative zero wherever it is", () => {
  assert.equal(stringifyJson(-0), "-0");
  assert.equal(stringifyJson({ a: { b: [1, { c: [-0] }] } }), '{"a":{"b":[1,{"c":[-0]}]}}');
  assert.equal(stringifyJson([0, -0, "-0"]), '[0,-0,"-0"]');
  // A value's toJSON may produce one too.
  assert.equal(stringifyJson({ x: { toJSON: () => [-0] } }), '{"x":[-0]}');
});

Deno.test("stringifyJson writes a JsonLiteral as its text, also deep inside", () => {
  assert.equal(
    stringifyJson({ n: [new JsonLiteral("9007199254740993")] }),
    '{"n":[9007199254740993]}',
  );
});
