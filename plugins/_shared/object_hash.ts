/**
 * Content hashes of objects, for comparing two copies: properties (as
 * canonical JSON), vectors (bit for bit) and references, hashed apart so a
 * difference can be named. Nothing that a copy can lose is folded away:
 * `-0` differs from `0`, and a reference property holding `[]` differs from
 * one that is absent.
 * @module
 */
import { createHash } from "node:crypto";
import type { WeftObject } from "../../src/messages.ts";
import { stringifyJson } from "./json.ts";

/** Hashes of one object's parts. */
export interface ObjectHash {
  properties: string;
  vectors: string;
  references: string;
}

/**
 * JSON with object keys sorted at every depth, negative zero kept as `-0`.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./object_hash.ts";
 * if (canonicalJson({ b: [-0], a: { d: 1, c: 0 } }) !== '{"a":{"c":0,"d":1},"b":[-0]}') {
 *   throw new Error("not canonical");
 * }
 * ```
 */
export function canonicalJson(value: unknown): string {
  return stringifyJson(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return sortKeys((value as { toJSON: () => unknown }).toJSON());
  }
  if (Array.isArray(value)) return value.map(sortKeys);
  const proto = Object.getPrototypeOf(value);
  // Only plain objects are key-sorted; others are written as they are.
  if (proto !== Object.prototype && proto !== null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}

function sha(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("base64");
}

function bytes(v: Float32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * Hashes `object`. `renames` maps collection names in references (source →
 * target), so a copy restored under new names still compares equal. The
 * order of an object's references does not count; a reference property
 * holding `[]` differs from an absent one.
 */
export function hashObject(object: WeftObject, renames?: ReadonlyMap<string, string>): ObjectHash {
  const vectors = createHash("sha256");
  if (object.vector) vectors.update("\u0000").update(bytes(object.vector));
  for (const name of Object.keys(object.vectors).sort()) {
    const v = object.vectors[name]!;
    vectors.update(`\u0001${name}\u0001`);
    for (const row of Array.isArray(v) ? v : [v]) {
      vectors.update(`${row.length}:`).update(bytes(row));
    }
  }
  const references = Object.entries(object.references ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([prop, refs]) => [
      prop,
      refs.map((r) => `${r.collection ? renames?.get(r.collection) ?? r.collection : ""}/${r.id}`)
        .sort(),
    ]);
  return {
    properties: sha(canonicalJson(object.properties)),
    vectors: vectors.digest("base64"),
    references: sha(JSON.stringify(references)),
  };
}

/** Names of the parts in which two hashes differ. */
export function differingParts(a: ObjectHash, b: ObjectHash): string[] {
  return (["properties", "vectors", "references"] as const).filter((k) => a[k] !== b[k]);
}
