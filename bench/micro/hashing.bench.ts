/**
 * Hashing: sha256 streamed over 1 MiB chunks with `node:crypto` (as
 * file-reader and file-writer hash data files), and the per-object content
 * hashes of `plugins/_shared/object_hash.ts` (writer checks, verifier).
 *
 *   deno bench -A bench/micro/hashing.bench.ts
 * @module
 */
import { createHash } from "node:crypto";
import { canonicalJson, hashObject } from "../../plugins/_shared/object_hash.ts";
import { article } from "./_fixtures.ts";

let sink = 0;

const MIB = 1024 * 1024;
const CHUNKS = 16;
const chunk = new Uint8Array(MIB);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
const whole = new Uint8Array(CHUNKS * MIB);
for (let i = 0; i < CHUNKS; i++) whole.set(chunk, i * MIB);

Deno.bench({
  name: "node:crypto sha256, 16 × 1 MiB chunks (file-reader/writer)",
  group: "sha256 of 16 MiB",
  baseline: true,
  fn: () => {
    const hash = createHash("sha256");
    for (let i = 0; i < CHUNKS; i++) hash.update(chunk);
    sink += hash.digest("hex").length;
  },
});
Deno.bench({
  name: "crypto.subtle.digest sha256, one 16 MiB buffer",
  group: "sha256 of 16 MiB",
  async fn() {
    sink += (await crypto.subtle.digest("SHA-256", whole)).byteLength;
  },
});

const object = article(1);
Deno.bench({
  name: "hashObject (768-dim article: properties, vectors, references)",
  group: "object hash",
  baseline: true,
  fn: () => void (sink += hashObject(object).properties.length),
});
Deno.bench({
  name: "canonicalJson(properties) only",
  group: "object hash",
  fn: () => void (sink += canonicalJson(object.properties).length),
});
Deno.bench({
  name: "node:crypto sha256 of the 3 KB vector only",
  group: "object hash",
  fn: () => {
    const v = object.vectors.default as Float32Array;
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    sink += createHash("sha256").update(bytes).digest("base64").length;
  },
});

addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
