import assert from "node:assert/strict";
import { decodeObject, encodeObject } from "../../plugins/_shared/backup_format.ts";
import type { Vector, WeftObject } from "../../src/messages.ts";

/** A float32 vector with exactly these bit patterns. */
function fromBits(...bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

/** The bit patterns of a vector (reading floats as numbers could canonicalise NaNs). */
function bitsOf(vector: Float32Array): number[] {
  return [...new Uint32Array(vector.buffer, vector.byteOffset, vector.length)];
}

function bitsOfVector(vector: Vector): number[] | number[][] {
  return Array.isArray(vector) ? vector.map(bitsOf) : bitsOf(vector);
}

const SPECIAL_BITS = [
  0x7fc00000, // quiet NaN
  0x7fc00001, // quiet NaN with a payload
  0xffc12345, // negative NaN with a payload
  0x7f800001, // signalling NaN
  0x7fbfffff, // signalling NaN, largest payload
  0x80000000, // -0
  0x00000000, // +0
  0x00000001, // smallest subnormal
  0x807fffff, // largest negative subnormal
  0x00400000, // a subnormal
  0x7f800000, // Infinity
  0xff800000, // -Infinity
  0x7f7fffff, // largest finite
  0x00800000, // smallest normal
  0x3f800001, // 1 + ulp
  0xbeaaaaab, // -1/3
];

Deno.test("encodeObject()/decodeObject() keep float32 vectors bit for bit", () => {
  const object: WeftObject = {
    id: "6b5d2f6e-4a3c-4b0e-9a7e-1f2d3c4b5a69",
    properties: {},
    vector: fromBits(...SPECIAL_BITS),
    vectors: {
      single: fromBits(...[...SPECIAL_BITS].reverse()),
      colbert: [
        fromBits(0x7fc00001, 0x80000000),
        fromBits(0x00000001),
        fromBits(0xffc12345, 0x7f800000, 0xff800000),
      ],
    },
  };
  const decoded = decodeObject(encodeObject(object));
  assert.ok(decoded.vector instanceof Float32Array);
  assert.deepEqual(bitsOf(decoded.vector), SPECIAL_BITS);
  assert.deepEqual(Object.keys(decoded.vectors), ["single", "colbert"]);
  for (const [name, vector] of Object.entries(object.vectors)) {
    const got = decoded.vectors[name]!;
    assert.equal(Array.isArray(got), Array.isArray(vector), name);
    assert.deepEqual(bitsOfVector(got), bitsOfVector(vector), name);
  }
  const colbert = decoded.vectors.colbert as Float32Array[];
  assert.ok(colbert.every((v) => v instanceof Float32Array));
  assert.equal(Object.is(colbert[0]![1], -0), true);
  assert.equal(colbert[2]![1], Infinity);
  assert.equal(colbert[2]![2], -Infinity);
  assert.equal(colbert[1]![0], 2 ** -149);
});

Deno.test("encodeObject() stores only the viewed part of a vector that shares its buffer", () => {
  const backing = fromBits(0x11111111, 0x3f800000, 0x40000000, 0x22222222);
  const view = backing.subarray(1, 3);
  const decoded = decodeObject(encodeObject({ id: "a", properties: {}, vectors: { v: view } }));
  assert.deepEqual(bitsOf(decoded.vectors.v as Float32Array), [0x3f800000, 0x40000000]);
});

Deno.test("encodeObject()/decodeObject() keep empty vectors and multi-vectors", () => {
  const decoded = decodeObject(encodeObject({
    id: "a",
    properties: {},
    vectors: { empty: new Float32Array(0), none: [] },
  }));
  assert.deepEqual(bitsOf(decoded.vectors.empty as Float32Array), []);
  assert.deepEqual(decoded.vectors.none, []);
});

Deno.test("encodeObject()/decodeObject() keep properties, references and timestamps", () => {
  const object: WeftObject = {
    id: "0b7c6d5e-4f3a-4b2c-8d1e-0f9a8b7c6d5e",
    properties: {
      title: 'Line one\nline two \u2028 "quoted" é 🚀',
      count: 42,
      ratio: 0.1,
      big: 9007199254740991,
      flag: false,
      none: null,
      date: "2024-05-06T07:08:09.123456Z",
      blob: "aGVsbG8=",
      tags: ["a", "b"],
      geo: { latitude: 52.37, longitude: 4.89 },
      nested: [{ x: 1, y: [true, null] }],
    },
    vectors: {},
    references: {
      hasAuthor: [{ id: "11111111-1111-4111-8111-111111111111", collection: "Author" }],
      cites: [
        { id: "22222222-2222-4222-8222-222222222222" },
        { id: "33333333-3333-4333-8333-333333333333", collection: "Paper" },
      ],
    },
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_001,
  };
  const line = encodeObject(object);
  assert.ok(!line.includes("\n"), "a record spans several lines");
  const decoded = decodeObject(line);
  assert.deepEqual(decoded, object);
});

Deno.test("encodeObject() leaves out absent and empty parts", () => {
  const line = encodeObject({ id: "a", properties: { n: 1 }, vectors: {}, references: {} });
  assert.deepEqual(JSON.parse(line), { id: "a", properties: { n: 1 } });
  assert.deepEqual(decodeObject(line), { id: "a", properties: { n: 1 }, vectors: {} });
  const zero = decodeObject(encodeObject({ id: "b", properties: {}, vectors: {}, createdAt: 0 }));
  assert.equal(zero.createdAt, 0);
});

Deno.test("decodeObject() rejects lines that are not objects or whose vectors are cut", () => {
  assert.throws(() => decodeObject('{"properties":{}}'), TypeError);
  assert.throws(() => decodeObject('{"id":"a"}'), TypeError);
  assert.throws(() => decodeObject("null"), TypeError);
  assert.throws(() => decodeObject("{"), SyntaxError);
  assert.throws(
    () => decodeObject('{"id":"a","properties":{},"vectors":{"v":"AAAA"}}'),
    /not a multiple of 4/,
  );
});
