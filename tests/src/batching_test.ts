import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { ServerError } from "../../src/errors.ts";
import { FlagSet, resolveFlags } from "../../src/flags.ts";
import { type Message, partitionKey, type WeftObject } from "../../src/messages.ts";
import type { ResolvedPipeline, RuntimeConfig } from "../../src/pipeline.ts";
import { type Batch, type BatchSink, definePlugin, type ObjectOutcome } from "../../src/plugin.ts";
import { RunError, runPipeline } from "../../src/runner.ts";
import { estimateBytes, MAX_IN_FLIGHT_BYTES } from "../../src/batching.ts";
import { createLogger } from "../../src/logger.ts";

const anyConfig = z.object({}).passthrough();
const log = createLogger({ level: "silent" });

function object(i: number, properties: Record<string, unknown> = {}): WeftObject {
  return { id: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`, properties, vectors: {} };
}

/** Messages of partitions `keys`, `n` objects each, interleaved batch by batch. */
function interleaved(keys: [string, string?][], n: number, per: number): Message[] {
  const messages: Message[] = [];
  const collections = [...new Set(keys.map(([c]) => c))];
  for (const c of collections) {
    messages.push({ type: "collection", collection: c, definition: { class: c } });
  }
  for (const [c, t] of keys) {
    messages.push({
      type: "partition-start",
      partition: partitionKey(c, t),
      collection: c,
      ...(t ? { tenant: t } : {}),
    });
  }
  for (let seq = 0; seq * per < n; seq++) {
    for (const [c, t] of keys) {
      messages.push({
        type: "objects",
        partition: partitionKey(c, t),
        collection: c,
        ...(t ? { tenant: t } : {}),
        seq,
        objects: Array.from(
          { length: Math.min(per, n - seq * per) },
          (_, i) => object(seq * per + i, { n: seq * per + i }),
        ),
      });
    }
  }
  for (const [c, t] of keys) {
    messages.push({
      type: "partition-end",
      partition: partitionKey(c, t),
      collection: c,
      ...(t ? { tenant: t } : {}),
      objects: n,
    });
  }
  return messages;
}

interface Recorder {
  batches: Batch[];
  messages: Message[];
  /** Objects written per partition, in the order they were written. */
  written: Map<string, string[]>;
  closed: boolean;
  /** Objects written per partition when its partition-end arrived. */
  atEnd: Map<string, number>;
}

function memorySink(
  recorder: Recorder,
  decide: (batch: Batch, call: number) => Promise<ObjectOutcome[]> | ObjectOutcome[],
  limits: Partial<BatchSink["limits"]> = {},
) {
  let calls = 0;
  return definePlugin({
    name: "memory-batch-sink",
    description: "Keeps what it is given.",
    kind: "sink",
    config: anyConfig,
    create: (): BatchSink => ({
      limits: { maxObjects: 1000, maxBytes: 1 << 20, idempotent: true, ...limits },
      write(message) {
        recorder.messages.push(message);
        if (message.type === "partition-end") {
          recorder.atEnd.set(
            message.partition,
            recorder.written.get(message.partition)?.length ?? 0,
          );
        }
      },
      async writeBatch(batch) {
        recorder.batches.push(batch);
        const outcomes = await decide(batch, ++calls);
        for (const [i, o] of batch.objects.entries()) {
          if (outcomes[i] === undefined) {
            const list = recorder.written.get(batch.partition) ?? [];
            list.push(o.id);
            recorder.written.set(batch.partition, list);
          }
        }
        return outcomes;
      },
      close() {
        recorder.closed = true;
      },
    }),
  });
}

function listSource(messages: Message[]) {
  return definePlugin({
    name: "list-source",
    description: "Sends a fixed list.",
    kind: "source",
    config: anyConfig,
    create: () => ReadableStream.from(messages),
  });
}

function pipeline(
  messages: Message[],
  sink: ReturnType<typeof memorySink>,
  runtime: Partial<RuntimeConfig> = {},
): ResolvedPipeline {
  return {
    name: "batching-test",
    source: { id: "source", plugin: listSource(messages), config: {} },
    transforms: [],
    sink: { id: "sink", plugin: sink, config: {} },
    runtime: {
      retry: { attempts: 3, minDelay: 1, maxDelay: 5, timeout: 5_000 },
      progressInterval: 0,
      concurrency: 4,
      batch: "auto",
      ...runtime,
    },
  };
}

const recorder = (): Recorder => ({
  batches: [],
  messages: [],
  written: new Map(),
  closed: false,
  atEnd: new Map(),
});
const allWritten = (batch: Batch): ObjectOutcome[] => batch.objects.map(() => undefined);

for (const adaptive of [true, false]) {
  Deno.test(`batching re-batches interleaved partitions to the fixed size (adaptive-batching ${adaptive ? "on" : "off"})`, async () => {
    const rec = recorder();
    const flags = new FlagSet(resolveFlags({ "adaptive-batching": adaptive }, {}));
    const summary = await runPipeline(
      pipeline(
        interleaved([["A"], ["B", "t1"], ["B", "t2"]], 250, 30),
        memorySink(rec, allWritten),
        { batch: { size: 40, concurrency: 2 } },
      ),
      { log, flags },
    );
    assert.equal(summary.objects, 750);
    assert.deepEqual(summary.collections.B?.tenants, { t1: 250, t2: 250 });
    for (const batch of rec.batches) {
      assert.ok(batch.objects.length <= 40, `batch of ${batch.objects.length}`);
      assert.ok(batch.objects.every((o) => rec.written.get(batch.partition)?.includes(o.id)));
    }
    // A batch never mixes partitions, and each partition got all its objects once.
    for (const key of ["A", "B/t1", "B/t2"]) {
      assert.equal(new Set(rec.written.get(key)).size, 250, key);
    }
    // Every object of a partition is written before its end reaches the sink.
    assert.deepEqual(Object.fromEntries(rec.atEnd), { A: 250, "B/t1": 250, "B/t2": 250 });
    assert.ok(rec.closed);
    assert.equal(summary.batching?.size, 40);
    assert.equal(summary.batching?.maxConcurrency, 2);
  });
}

Deno.test("batching keeps a request under the sink's byte limit", async () => {
  const rec = recorder();
  const big = "x".repeat(10_000);
  const messages = interleaved([["A"]], 50, 50).map((m) =>
    m.type === "objects"
      ? { ...m, objects: m.objects.map((o) => ({ ...o, properties: { text: big } })) }
      : m
  );
  await runPipeline(
    pipeline(messages, memorySink(rec, allWritten, { maxBytes: 45_000 })),
    { log },
  );
  assert.ok(rec.batches.length >= 13, `${rec.batches.length} batches`);
  assert.ok(rec.batches.every((b) => b.objects.length <= 4));
  assert.equal(rec.written.get("A")?.length, 50);
});

Deno.test("batching retries only the objects that failed, alone", async () => {
  const rec = recorder();
  const flaky = new Set([object(3).id, object(7).id]);
  const summary = await runPipeline(
    pipeline(
      interleaved([["A"]], 20, 20),
      memorySink(rec, (batch) =>
        batch.objects.map((o) => {
          if (!flaky.has(o.id)) return undefined;
          flaky.delete(o.id); // fails once, then goes in
          return { error: "shard not ready" };
        })),
      { batch: { size: 20, concurrency: 1 } },
    ),
    { log },
  );
  assert.equal(summary.objects, 20);
  assert.equal(rec.batches.length, 2);
  assert.deepEqual(rec.batches[1]!.objects.map((o) => o.id), [object(3).id, object(7).id]);
  assert.equal(summary.batching?.retriedObjects, 2);
  assert.equal(summary.batching?.deadLettered, 0);
});

Deno.test("batching writes objects refused on every attempt to a dead-letter file and fails the run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rec = recorder();
    const bad = object(5).id;
    const error = await runPipeline(
      pipeline(
        interleaved([["A"], ["B", "t1"]], 10, 10),
        memorySink(
          rec,
          (batch) =>
            batch.objects.map((o) =>
              o.id === bad && batch.collection === "B"
                ? { error: "invalid number property 'n': wrong type" }
                : undefined
            ),
        ),
        { deadLetter: join(dir, "dead.jsonl") },
      ),
      { log },
    ).then(() => assert.fail("expected the run to fail"), (e) => e as RunError);
    assert.ok(error instanceof RunError);
    assert.match(error.message, /1 object\(s\).*00000000-0000-0000-0000-000000000005.*"B".*"t1"/);
    assert.equal(error.summary.objects, 19);
    assert.equal(error.summary.batching?.deadLettered, 1);
    // The rest was written, and the sink finished (closed) before the run failed.
    assert.ok(rec.closed);
    const lines = (await Deno.readTextFile(join(dir, "dead.jsonl"))).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0], {
      type: "collection",
      format: "weft-dead-letter",
      collection: "B",
      definition: { class: "B" },
    });
    assert.equal(lines[1].type, "object");
    assert.equal(lines[1].tenant, "t1");
    assert.equal(lines[1].attempts, 3);
    assert.equal(lines[1].object.id, bad);
    assert.deepEqual(lines[1].object.properties, { n: 5 });
    assert.match(lines[1].error, /wrong type/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("batching dead-letters an object marked not retryable at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rec = recorder();
    const error = await runPipeline(
      pipeline(
        interleaved([["A"]], 4, 4),
        memorySink(
          rec,
          (batch) =>
            batch.objects.map((o, i) =>
              i === 0 && o.id === object(0).id ? { error: "bad", retryable: false } : undefined
            ),
        ),
        { deadLetter: join(dir, "dead.jsonl") },
      ),
      { log },
    ).then(() => assert.fail("expected a failure"), (e) => e as RunError);
    assert.equal(error.summary.batching?.deadLettered, 1);
    assert.equal(rec.batches.length, 1);
    const lines = (await Deno.readTextFile(join(dir, "dead.jsonl"))).trim().split("\n");
    assert.equal(JSON.parse(lines[1]!).attempts, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("batching sends a batch again after a transient failure, and fails on a permanent one", async () => {
  const rec = recorder();
  const summary = await runPipeline(
    pipeline(
      interleaved([["A"]], 10, 10),
      memorySink(rec, (batch, call) => {
        if (call === 1) throw new ServerError("Cannot insert: 503 Service Unavailable");
        return allWritten(batch);
      }),
    ),
    { log },
  );
  assert.equal(summary.objects, 10);
  assert.equal(summary.batching?.retriedRequests, 1);

  const failing = recorder();
  const error = await runPipeline(
    pipeline(
      interleaved([["A"]], 10, 10),
      memorySink(failing, () => {
        throw new ServerError("Cannot insert: collection does not exist", { retryable: false });
      }),
    ),
    { log },
  ).then(() => assert.fail("expected a failure"), (e) => e as RunError);
  assert.match(error.message, /collection does not exist/);
  assert.equal(failing.batches.length, 1);
  assert.equal(failing.closed, false);
});

Deno.test("batching never has more requests in flight than allowed", async () => {
  const rec = recorder();
  let inFlight = 0;
  let most = 0;
  await runPipeline(
    pipeline(
      interleaved([["A"], ["B"], ["C"]], 100, 10),
      memorySink(rec, async (batch) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        return allWritten(batch);
      }),
      { batch: { size: 10, concurrency: 3 } },
    ),
    { log },
  );
  assert.equal(most, 3);
  for (const key of ["A", "B", "C"]) assert.equal(rec.written.get(key)?.length, 100);
});

Deno.test("batching holds requests back past MAX_IN_FLIGHT_BYTES, whatever the concurrency", async () => {
  const rec = recorder();
  // 3,072-dim vectors: 12 KiB each, so 100 objects a batch is about 1.2 MiB.
  const messages = interleaved([["A"]], 6_000, 500).map((m) =>
    m.type === "objects"
      ? { ...m, objects: m.objects.map((o) => ({ ...o, vector: new Float32Array(3_072) })) }
      : m
  );
  let inFlight = 0;
  let bytes = 0;
  let mostBytes = 0;
  let most = 0;
  await runPipeline(
    pipeline(
      messages,
      memorySink(rec, async (batch) => {
        const size = batch.objects.reduce((n, o) => n + estimateBytes(o), 0);
        most = Math.max(most, ++inFlight);
        bytes += size;
        mostBytes = Math.max(mostBytes, bytes);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        bytes -= size;
        return allWritten(batch);
      }, { maxBytes: 16 << 20 }),
      { batch: { size: 100, concurrency: 64 } },
    ),
    { log },
  );
  assert.equal(rec.written.get("A")?.length, 6_000);
  assert.ok(mostBytes <= MAX_IN_FLIGHT_BYTES, `${mostBytes} bytes in flight`);
  // The byte budget, not the concurrency of 64, was the limit.
  assert.ok(most >= 8 && most < 64, `${most} requests in flight`);
});

Deno.test("batching keeps the in-flight limit while many retries wait for a slot", async () => {
  const rec = recorder();
  let inFlight = 0;
  let most = 0;
  const failedOnce = new Set<string>();
  await runPipeline(
    pipeline(
      interleaved([["A"], ["B"], ["C"], ["D"]], 40, 10),
      memorySink(rec, async (batch) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        // Every object fails once: retries of all partitions queue up together.
        return batch.objects.map((o) => {
          const key = `${batch.partition}:${o.id}`;
          if (failedOnce.has(key)) return undefined;
          failedOnce.add(key);
          return { error: "busy" };
        });
      }),
      { batch: { size: 5, concurrency: 2 } },
    ),
    { log },
  );
  assert.equal(most, 2);
  for (const key of ["A", "B", "C", "D"]) assert.equal(rec.written.get(key)?.length, 40);
});

Deno.test("batching frees a request that ignores its signal when the time limit passes", async () => {
  const rec = recorder();
  let calls = 0;
  const summary = await runPipeline(
    pipeline(
      interleaved([["A"]], 5, 5),
      memorySink(
        rec,
        (batch) => ++calls === 1 ? new Promise<ObjectOutcome[]>(() => {}) : allWritten(batch),
      ),
      { retry: { attempts: 3, minDelay: 1, maxDelay: 5, timeout: 50 } },
    ),
    { log },
  );
  assert.equal(summary.objects, 5);
  assert.equal(summary.batching?.retriedRequests, 1);
});

Deno.test("batching fails the run when writeBatch throws at once", async () => {
  const rec = recorder();
  const error = await runPipeline(
    pipeline(
      interleaved([["A"]], 5, 5),
      memorySink(rec, () => {
        throw new TypeError("bug in the sink");
      }),
    ),
    { log },
  ).then(() => assert.fail("expected a failure"), (e) => e as RunError);
  assert.match(error.message, /bug in the sink/);
});
