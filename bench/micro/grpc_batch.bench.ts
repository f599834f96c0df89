/**
 * The gRPC `BatchObjects` request of 100 articles (768-dim vector each) as
 * `plugins/_shared/grpc_batch.ts` encodes it (`GrpcBatcher.encode`: protobuf,
 * vectors as raw float32 bytes, properties as a `Struct`), against the JSON
 * body of a REST batch insert of the same objects. The batcher's channel is
 * never used: grpc-js connects on the first call only.
 *
 *   deno bench -A bench/micro/grpc_batch.bench.ts
 * @module
 */
import { type BatchItem, GrpcBatcher } from "../../plugins/_shared/grpc_batch.ts";
import type { WeftObject } from "../../src/messages.ts";
import { article } from "./_fixtures.ts";

let sink = 0;

const BATCH = 100;
const objects = Array.from({ length: BATCH }, (_, i) => article(i));
const items = (list: WeftObject[]): BatchItem[] =>
  list.map((object) => ({ collection: "Articles", object, withVectors: true }));
const full = items(objects);
const noProperties = items(objects.map((o) => ({ ...o, properties: {} })));
const noVectors = objects.map((object) => ({ collection: "Articles", object, withVectors: false }));

const batcher = new GrpcBatcher(new URL("http://127.0.0.1:9"), { headers: {} });
addEventListener("unload", () => batcher.close());

const requestBytes = batcher.encode(full).reduce((n, r) => n + r.body.byteLength, 0);

Deno.bench({
  name: `GrpcBatcher.encode, 100 articles (${(requestBytes / 1024).toFixed(0)} KiB)`,
  group: "batch of 100 × 768",
  baseline: true,
  fn: () => void (sink += batcher.encode(full).length),
});
Deno.bench({
  name: "GrpcBatcher.encode, vectors only (properties {})",
  group: "batch of 100 × 768",
  fn: () => void (sink += batcher.encode(noProperties).length),
});
Deno.bench({
  name: "GrpcBatcher.encode, properties only (withVectors: false)",
  group: "batch of 100 × 768",
  fn: () => void (sink += batcher.encode(noVectors).length),
});
Deno.bench({
  name: "REST batch body: JSON.stringify with number arrays",
  group: "batch of 100 × 768",
  fn: () => {
    const body = JSON.stringify({
      objects: objects.map((o) => ({
        class: "Articles",
        id: o.id,
        properties: o.properties,
        vectors: { default: Array.from(o.vectors.default as Float32Array) },
      })),
    });
    sink += body.length;
  },
});

addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
