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

Deno.test("stringifyJson throws JSON.stringify's TypeError for a circular value, and keeps -0 past 64 levels", () => {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  assert.throws(
    () => stringifyJson(circular),
    (e) => e instanceof TypeError && /circular/i.test(e.message),
  );
  let deep: unknown = [-0];
  for (let i = 0; i < 100; i++) deep = { d: deep };
  assert.match(stringifyJson(deep), /\[-0\]/);
});
