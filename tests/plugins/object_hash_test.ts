import assert from "node:assert/strict";
import { canonicalJson, differingParts, hashObject } from "../../plugins/_shared/object_hash.ts";
import type { WeftObject } from "../../src/messages.ts";

const ID = "0b9d1c4e-6f1a-4f7e-9a55-3c2b1a0f9e8d";
const OTHER = "5e0c7a31-2b44-4c1d-8f6e-7a9b0c1d2e3f";

function object(parts: Partial<WeftObject> = {}): WeftObject {
  return { id: ID, properties: {}, vectors: {}, ...parts };
}

const differ = (a: Partial<WeftObject>, b: Partial<WeftObject>) =>
  differingParts(hashObject(object(a)), hashObject(object(b)));

Deno.test("canonicalJson() sorts keys at every depth, inside arrays too", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { z: [{ y: 1, x: 2 }], c: null } }),
    '{"a":{"c":null,"z":[{"x":2,"y":1}]},"b":1}',
  );
  assert.equal(
    canonicalJson({ a: { c: 1, b: 2 }, d: 3 }),
    canonicalJson({ d: 3, a: { b: 2, c: 1 } }),
  );
});

Deno.test("canonicalJson() keeps negative zero, at the top, in arrays and nested objects", () => {
  assert.equal(canonicalJson(-0), "-0");
  assert.equal(canonicalJson({ n: -0, m: 0 }), '{"m":0,"n":-0}');
  assert.equal(canonicalJson({ list: [1, -0, 0] }), '{"list":[1,-0,0]}');
  assert.equal(canonicalJson({ o: { b: -0, a: "-0" } }), '{"o":{"a":"-0","b":-0}}');
  assert.notEqual(canonicalJson({ amount: -0 }), canonicalJson({ amount: 0 }));
});

Deno.test("hashObject() tells a negative zero from a zero, in a number and a number[]", () => {
  assert.deepEqual(differ({ properties: { amount: -0 } }, { properties: { amount: 0 } }), [
    "properties",
  ]);
  assert.deepEqual(
    differ({ properties: { price: [1.5, -0] } }, { properties: { price: [1.5, 0] } }),
    ["properties"],
  );
  assert.deepEqual(differ({ properties: { amount: -0 } }, { properties: { amount: -0 } }), []);
});

Deno.test("hashObject() tells an empty reference list from an absent reference property", () => {
  assert.deepEqual(differ({ references: { author: [] } }, {}), ["references"]);
  assert.deepEqual(differ({ references: { author: [] } }, { references: {} }), ["references"]);
  assert.deepEqual(
    differ({ references: { author: [], related: [{ id: OTHER }] } }, {
      references: { related: [{ id: OTHER }] },
    }),
    ["references"],
  );
  assert.deepEqual(differ({ references: {} }, {}), [], "no reference properties either way");
  assert.deepEqual(differ({ references: { author: [] } }, { references: { author: [] } }), []);
});

Deno.test("hashObject() ignores key and reference order, maps renamed collections", () => {
  const a = object({
    properties: { b: 1, a: { y: 2, x: 3 } },
    references: {
      related: [{ id: OTHER, collection: "Src" }, { id: ID, collection: "Authors" }],
      author: [],
    },
  });
  const b = object({
    properties: { a: { x: 3, y: 2 }, b: 1 },
    references: {
      author: [],
      related: [{ id: ID, collection: "Authors" }, { id: OTHER, collection: "Copy" }],
    },
  });
  assert.deepEqual(differingParts(hashObject(a), hashObject(b)), ["references"]);
  assert.deepEqual(differingParts(hashObject(a, new Map([["Src", "Copy"]])), hashObject(b)), []);
});

Deno.test("hashObject() compares vectors bit for bit, negative zero included", () => {
  assert.deepEqual(
    differ({ vectors: { v: Float32Array.of(-0, 1) } }, { vectors: { v: Float32Array.of(0, 1) } }),
    ["vectors"],
  );
});
