/**
 * The core's batching: `BatchController.record` fed synthetic latencies on a
 * virtual clock (cost per decision), and `batchingSink` driven with an
 * in-memory sink that answers at once (the core's overhead per object and
 * per request, with no I/O).
 *
 *   deno bench -A bench/micro/batching.bench.ts
 * @module
 */
import { BatchController } from "../../src/batch_controller.ts";
import { batchingSink } from "../../src/batching.ts";
import { createLogger } from "../../src/logger.ts";
import { type Message, partitionKey, type WeftObject } from "../../src/messages.ts";
import type { Batch, BatchSink, ObjectOutcome } from "../../src/plugin.ts";
import { prng } from "../../scripts/sample_data.ts";
import { article, uuid } from "./_fixtures.ts";

let sink = 0;

const SAMPLES = 10_000;

/** Feeds `SAMPLES` completions at the controller's concurrency; latency grows with load. */
function drive(adaptive: boolean): number {
  let now = 0;
  const random = prng(3);
  const controller = new BatchController({
    adaptive,
    initialSize: 250,
    maxSize: 5_000,
    initialConcurrency: 2,
    maxConcurrency: 16,
    targetLatencyMs: 2_000,
    now: () => now,
  });
  for (let i = 0; i < SAMPLES; i++) {
    const load = controller.size * controller.concurrency;
    const latencyMs = 20 + load / 50 + random() * 10;
    now += latencyMs / controller.concurrency;
    controller.record({
      objects: controller.size,
      latencyMs,
      overloaded: load > 40_000 && random() < 0.05,
    });
  }
  return controller.stats().requests;
}

Deno.bench({
  name: `BatchController.record × ${SAMPLES} (adaptive)`,
  group: "batch controller",
  baseline: true,
  fn: () => void (sink += drive(true)),
});
Deno.bench({
  name: `BatchController.record × ${SAMPLES} (fixed)`,
  group: "batch controller",
  fn: () => void (sink += drive(false)),
});
{
  const controller = new BatchController({
    adaptive: true,
    initialSize: 250,
    maxSize: 5_000,
    initialConcurrency: 2,
    maxConcurrency: 16,
  });
  for (let i = 0; i < 600; i++) {
    controller.record({ objects: 250, latencyMs: 30, overloaded: false });
  }
  Deno.bench({
    name: "BatchController.stats() (sorts 512 latencies)",
    group: "batch controller",
    fn: () => void (sink += controller.stats().requests),
  });
}

const OBJECTS = 10_000;
const PAGE = 500;
const log = createLogger({ level: "silent" });
const scratch = Deno.makeTempDirSync({ prefix: "weft-micro-" });
addEventListener("unload", () => Deno.removeSync(scratch, { recursive: true }));

function messages(objects: WeftObject[]): Message[] {
  const partition = partitionKey("Articles");
  const out: Message[] = [
    { type: "collection", collection: "Articles", definition: { class: "Articles" } },
    { type: "partition-start", partition, collection: "Articles" },
  ];
  for (let seq = 0; seq * PAGE < objects.length; seq++) {
    out.push({
      type: "objects",
      partition,
      collection: "Articles",
      seq,
      objects: objects.slice(seq * PAGE, (seq + 1) * PAGE),
    });
  }
  out.push({ type: "partition-end", partition, collection: "Articles", objects: objects.length });
  return out;
}

/** Writes `list` through `batchingSink` into a sink that accepts every batch at once. */
async function through(list: Message[], batch: "auto" | { size: number; concurrency: number }) {
  let written = 0;
  const memory: BatchSink = {
    limits: { maxObjects: 1_000, maxBytes: 16 << 20, idempotent: true },
    writeBatch(b: Batch): Promise<ObjectOutcome[]> {
      written += b.objects.length;
      return Promise.resolve(new Array<ObjectOutcome>(b.objects.length));
    },
  };
  const { stream } = batchingSink({
    sink: memory,
    batch,
    adaptive: true,
    retry: { attempts: 3, minDelay: 100, maxDelay: 1_000, timeout: 30_000 },
    deadLetterPath: `${scratch}/dead-letter.jsonl`,
    signal: new AbortController().signal,
    log,
    acknowledge: () => {},
  });
  await ReadableStream.from(list).pipeTo(stream);
  if (written !== OBJECTS) throw new Error(`wrote ${written} of ${OBJECTS}`);
}

const bare = messages(
  Array.from({ length: OBJECTS }, (_, i) => ({ id: uuid(i), properties: {}, vectors: {} })),
);
const articles = messages(Array.from({ length: OBJECTS }, (_, i) => article(i)));

Deno.bench({
  name: `batchingSink, ${OBJECTS} bare objects, auto (250 × 2 → adaptive)`,
  group: "batchingSink per 10k objects",
  baseline: true,
  async fn() {
    await through(bare, "auto");
  },
});
Deno.bench({
  name: `batchingSink, ${OBJECTS} bare objects, fixed 100 × 4`,
  group: "batchingSink per 10k objects",
  async fn() {
    await through(bare, { size: 100, concurrency: 4 });
  },
});
Deno.bench({
  name: `batchingSink, ${OBJECTS} 768-dim articles, auto`,
  group: "batchingSink per 10k objects",
  async fn() {
    await through(articles, "auto");
  },
});

addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
