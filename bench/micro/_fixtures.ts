/**
 * Deterministic data for the micro-benchmarks: vectors, an article object as
 * the reader produces it, and the REST listing JSON of the same object.
 * @module
 */
import type { WeftObject } from "../../src/messages.ts";
import { prng } from "../../scripts/sample_data.ts";

/** `dims` float32 values in [-1, 1), the same on every run for one `seed`. */
export function vector(dims: number, seed = 1): Float32Array {
  const random = prng(seed);
  return Float32Array.from({ length: dims }, () => random() * 2 - 1);
}

/** `rows` vectors of `dims` values: a multi-vector (e.g. ColBERT-style 32 × 128). */
export function multiVector(rows: number, dims: number, seed = 1): Float32Array[] {
  return Array.from({ length: rows }, (_, i) => vector(dims, seed * 1000 + i));
}

/** The UUID of article `i`. */
export function uuid(i: number): string {
  return `7b3c1f2a-4d5e-4f60-8a7b-${i.toString(16).padStart(12, "0")}`;
}

/**
 * An article as the REST reader hands it on: a `dims`-dim named vector and
 * about 0.5 KB of properties (two texts, numbers, a date, a text array).
 */
export function article(i: number, dims = 768): WeftObject {
  const random = prng(i + 7);
  return {
    id: uuid(i),
    properties: {
      title: `Article ${i}: notes on adaptive batching`,
      body: "lorem ipsum dolor sit amet, consectetur adipiscing elit ".repeat(6),
      rating: random() * 5,
      views: Math.floor(random() * 1e6),
      published: new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString(),
      tags: ["weaviate", "backup", "etl"],
    },
    vectors: { default: vector(dims, i + 1) },
    createdAt: 1_764_000_000_000 + i,
    updatedAt: 1_764_000_000_000 + i,
  };
}

/** The same article as `GET /v1/objects?include=vector` lists it, as JSON text. */
export function restListingJson(i: number, dims = 768): string {
  const o = article(i, dims);
  return JSON.stringify({
    class: "Articles",
    creationTimeUnix: o.createdAt,
    id: o.id,
    lastUpdateTimeUnix: o.updatedAt,
    properties: o.properties,
    vectors: { default: Array.from(o.vectors.default as Float32Array) },
  });
}
