/**
 * Client-side batching (`BatchObjects`, what the writer sends) against
 * Weaviate's server-side batch streaming (`BatchStream`, gRPC, 1.36+), on the
 * same objects and the same server, rounds interleaved, medians shown.
 *
 * Both modes send the same pre-encoded objects (the writer's encoder), so the
 * only difference is how they reach the server:
 * - `BatchObjects`: requests of `size` objects, `concurrency` in flight;
 * - `BatchStream`: one stream; `Data` messages of the size the server asks
 *   for (its `Backoff` messages, 200 at first), at most `window` objects sent
 *   but not yet reported in its `Results`.
 *
 *   deno run -A bench/batch_stream.ts
 *   BENCH_OBJECTS=20000 BENCH_DIMS=768 ROUNDS=3 deno run -A bench/batch_stream.ts
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { type BatchItem, GrpcBatcher } from "../plugins/_shared/grpc_batch.ts";
import type { WeftObject } from "../src/messages.ts";
import { prng } from "../scripts/sample_data.ts";
import { useWeaviate } from "../tests/harness/weaviate.ts";

const OBJECTS = Number(Deno.env.get("BENCH_OBJECTS") ?? 10_000);
const DIMS = Number(Deno.env.get("BENCH_DIMS") ?? 768);
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 3);
const WINDOW = Number(Deno.env.get("STREAM_WINDOW") ?? 2_000);

const replies = protobuf.Root.fromJSON({
  nested: {
    Reply: {
      oneofs: {
        message: { oneof: ["results", "shuttingDown", "started", "backoff", "outOfMemory"] },
      },
      fields: {
        results: { type: "Results", id: 1 },
        shuttingDown: { type: "Empty", id: 2 },
        started: { type: "Empty", id: 4 },
        backoff: { type: "Backoff", id: 5 },
        outOfMemory: { type: "Empty", id: 7 },
      },
    },
    Empty: { fields: {} },
    Backoff: { fields: { batchSize: { type: "int32", id: 1 } } },
    Results: {
      fields: {
        errors: { rule: "repeated", type: "Failure", id: 1 },
        successes: { rule: "repeated", type: "Success", id: 2 },
      },
    },
    Failure: { fields: { error: { type: "string", id: 1 }, uuid: { type: "string", id: 2 } } },
    Success: { fields: { uuid: { type: "string", id: 2 } } },
  },
}).lookupType("Reply");

interface Reply {
  results?: { errors?: { error: string; uuid: string }[]; successes?: unknown[] };
  backoff?: { batchSize: number };
  shuttingDown?: object;
  outOfMemory?: object;
}

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());
const grpcUrl = new URL(server.grpcUrl);
const batcher = new GrpcBatcher(grpcUrl, { headers: {} });
const client = new grpc.Client(
  `${grpcUrl.hostname}:${grpcUrl.port}`,
  grpc.credentials.createInsecure(),
  { "grpc.max_send_message_length": -1, "grpc.max_receive_message_length": -1 },
);

const random = prng(7);
const objects: WeftObject[] = Array.from({ length: OBJECTS }, (_, i) => ({
  id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
  properties: { title: `Article ${i}`, body: "lorem ipsum dolor sit amet ".repeat(16), n: i },
  vectors: { default: Float32Array.from({ length: DIMS }, () => random() * 2 - 1) },
}));

async function rest(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function create(name: string): Promise<BatchItem[]> {
  await rest("POST", "/v1/schema", {
    class: name,
    properties: [
      { name: "title", dataType: ["text"] },
      { name: "body", dataType: ["text"] },
      { name: "n", dataType: ["int"] },
    ],
    vectorConfig: { default: { vectorizer: { none: {} }, vectorIndexType: "hnsw" } },
  });
  return objects.map((object) => ({ collection: name, object, withVectors: true }));
}

async function count(name: string): Promise<number> {
  const body = await rest("POST", "/v1/graphql", {
    query: `{ Aggregate { ${name} { meta { count } } } }`,
  }) as { data: { Aggregate: Record<string, { meta: { count: number } }[]> } };
  return body.data.Aggregate[name]![0]!.meta.count;
}

/** Client-side batching: `size` objects a request, `concurrency` in flight. */
async function unary(items: BatchItem[], size: number, concurrency: number): Promise<void> {
  let next = 0;
  const signal = new AbortController().signal;
  const worker = async () => {
    while (next < items.length) {
      const slice = items.slice(next, next += size);
      for (const request of batcher.encode(slice)) {
        const failed = await batcher.send(request, signal);
        if (failed.length) throw new Error(`refused: ${failed[0]!.error}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** `message` (field `field` of BatchStreamRequest) as length-delimited bytes. */
function wrap(field: number, body: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32((field << 3) | 2).bytes(body).finish();
}

/** Server-side batching: one stream, sized by the server's backoff messages. */
function stream(items: BatchItem[]): Promise<{ backoffs: number[] }> {
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest<Uint8Array, Reply>(
      "/weaviate.v1.Weaviate/BatchStream",
      (body) => body as Buffer,
      (bytes) => replies.decode(bytes) as unknown as Reply,
      new grpc.Metadata(),
      {},
    );
    let size = 200;
    let sent = 0;
    let reported = 0;
    let ended = false;
    const backoffs: number[] = [];
    const pump = () => {
      while (sent < items.length && sent - reported < WINDOW) {
        const slice = items.slice(sent, sent + size);
        sent += slice.length;
        // An encoded request is the `Objects` message: repeated BatchObject, field 1.
        for (const { body } of batcher.encode(slice)) call.write(wrap(2, wrap(1, body)));
      }
      if (sent === items.length && reported === items.length && !ended) {
        ended = true;
        call.write(wrap(3, new Uint8Array()));
        call.end();
      }
    };
    call.on("data", (reply: Reply) => {
      if (reply.results) {
        if (reply.results.errors?.length) {
          call.cancel();
          return reject(new Error(`refused: ${reply.results.errors[0]!.error}`));
        }
        reported += reply.results.successes?.length ?? 0;
      }
      if (reply.backoff) backoffs.push(size = reply.backoff.batchSize);
      if (reply.shuttingDown || reply.outOfMemory) {
        return reject(new Error("server shutting down or out of memory"));
      }
      pump();
    });
    call.on("error", reject);
    call.on("end", () => (reported === items.length ? resolve({ backoffs }) : undefined));
    call.write(wrap(1, new Uint8Array())); // Start
  });
}

const cases: [string, (items: BatchItem[]) => Promise<unknown>][] = [
  ["BatchObjects 500 × 2", (items) => unary(items, 500, 2)],
  ["BatchObjects 500 × 4", (items) => unary(items, 500, 4)],
  ["BatchObjects 1000 × 2", (items) => unary(items, 1000, 2)],
  [`BatchStream (window ${WINDOW})`, (items) => stream(items)],
];
const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
let n = 0;
console.error(`${OBJECTS} objects × ${DIMS} dims, ${ROUNDS} rounds`);
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, run] of cases) {
    const name = `Stream${n++}`;
    const items = await create(name);
    const started = performance.now();
    const detail = await run(items);
    const seconds = (performance.now() - started) / 1000;
    const stored = await count(name);
    if (stored !== OBJECTS) throw new Error(`${label}: ${stored} of ${OBJECTS} objects stored`);
    times.get(label)!.push(seconds);
    console.error(`  round ${round + 1} ${label}: ${seconds.toFixed(2)} s`, detail ?? "");
    await rest("DELETE", `/v1/schema/${name}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const best = Math.min(...[...times.values()].map(median));
console.log(`| mode | median s | objects/s | vs best |\n|---|---|---|---|`);
for (const [label, xs] of times) {
  const m = median(xs);
  console.log(
    `| ${label} | ${m.toFixed(2)} | ${Math.round(OBJECTS / m)} | ${(best / m * 100).toFixed(0)}% |`,
  );
}
client.close();
batcher.close();
await server.stop();
