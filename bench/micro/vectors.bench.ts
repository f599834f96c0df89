/**
 * Vector encoding: float32 → base64 inside a backup line
 * (`plugins/_shared/backup_format.ts`) against JSON number arrays (what the
 * REST listing and REST inserts cost), for 768 and 3,072 dims and a 32 × 128
 * multi-vector.
 *
 *   deno bench -A bench/micro/vectors.bench.ts
 * @module
 */
import { decodeObject, encodeObject } from "../../plugins/_shared/backup_format.ts";
import type { WeftObject } from "../../src/messages.ts";
import { multiVector, uuid, vector } from "./_fixtures.ts";

/** Keeps results alive so that no case is optimised away. */
let sink = 0;

function bytesOf(v: Float32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function single(dims: number): void {
  const v = vector(dims);
  const object: WeftObject = { id: uuid(1), properties: {}, vectors: { default: v } };
  const line = encodeObject(object);
  const numbers = JSON.stringify(Array.from(v));
  const base64 = bytesOf(v).toBase64();
  const encode = `vector ${dims} encode`;
  const decode = `vector ${dims} decode`;

  Deno.bench({
    name: `JSON.stringify(Array.from(f32)) ${dims}`,
    group: encode,
    baseline: true,
    fn: () => void (sink += JSON.stringify(Array.from(v)).length),
  });
  Deno.bench({
    name: `Uint8Array.toBase64 ${dims} (f32ToBase64)`,
    group: encode,
    fn: () => void (sink += bytesOf(v).toBase64().length),
  });
  Deno.bench({
    name: `encodeObject, vector only ${dims}`,
    group: encode,
    fn: () => void (sink += encodeObject(object).length),
  });

  Deno.bench({
    name: `Float32Array.from(JSON.parse(numbers)) ${dims}`,
    group: decode,
    baseline: true,
    fn: () => void (sink += Float32Array.from(JSON.parse(numbers) as number[]).length),
  });
  Deno.bench({
    name: `Uint8Array.fromBase64 → f32 ${dims} (base64ToF32)`,
    group: decode,
    fn: () => {
      const bytes = Uint8Array.fromBase64(base64);
      sink += new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).length;
    },
  });
  Deno.bench({
    name: `decodeObject, vector only ${dims}`,
    group: decode,
    fn: () => void (sink += decodeObject(line).id.length),
  });
}

single(768);
single(3072);

const rows = multiVector(32, 128);
const multi: WeftObject = { id: uuid(2), properties: {}, vectors: { colbert: rows } };
const multiLine = encodeObject(multi);
const multiNumbers = JSON.stringify(rows.map((r) => Array.from(r)));

Deno.bench({
  name: "JSON.stringify number arrays 32×128",
  group: "multi-vector 32×128 encode",
  baseline: true,
  fn: () => void (sink += JSON.stringify(rows.map((r) => Array.from(r))).length),
});
Deno.bench({
  name: "encodeObject, multi-vector 32×128",
  group: "multi-vector 32×128 encode",
  fn: () => void (sink += encodeObject(multi).length),
});
Deno.bench({
  name: "JSON.parse number arrays → f32[] 32×128",
  group: "multi-vector 32×128 decode",
  baseline: true,
  fn: () => {
    const parsed = JSON.parse(multiNumbers) as number[][];
    sink += parsed.map((r) => Float32Array.from(r)).length;
  },
});
Deno.bench({
  name: "decodeObject, multi-vector 32×128",
  group: "multi-vector 32×128 decode",
  fn: () => void (sink += decodeObject(multiLine).id.length),
});

addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
