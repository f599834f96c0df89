/**
 * Content hashes of objects, for comparing two copies: properties (as
 * canonical JSON), vectors (bit for bit) and references, hashed apart so a
 * difference can be named.
 * @module
 */
import { createHash } from "node:crypto";
import type { WeftObject } from "../../src/messages.ts";

/** Hashes of one object's parts. */
export interface ObjectHash {
  properties: string;
  vectors: string;
  references: string;
}

/** JSON with object keys sorted at every depth. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
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
 * target), so a copy restored under new names still compares equal.
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
    .filter(([, refs]) => refs.length > 0)
    .map(([prop, refs]) => [
      prop,
      refs.map((r) => `${r.collection ? renames?.get(r.collection) ?? r.collection : ""}/${r.id}`)
        .sort(),
    ])
    .sort(([a], [b]) => String(a).localeCompare(String(b)));
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
