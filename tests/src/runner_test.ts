import assert from "node:assert/strict";
import { z } from "zod";
import { CancelledError, PluginError, ServerError } from "../../src/errors.ts";
import { createLogger } from "../../src/logger.ts";
import {
  type Message,
  type ObjectsMessage,
  partitionKey,
  type WeftObject,
} from "../../src/messages.ts";
import type { ResolvedPipeline, ResolvedStep } from "../../src/pipeline.ts";
import { type AnyPlugin, definePlugin, type PluginContext } from "../../src/plugin.ts";
import { Redactor } from "../../src/redact.ts";
import { sleep } from "../../src/retry.ts";
import { RunError, runPipeline } from "../../src/runner.ts";
import type { RunSummary } from "../../src/summary.ts";

const silent = createLogger({ level: "silent" });
const anyConfig = z.record(z.string(), z.unknown());

function step(plugin: AnyPlugin, id: string, config: unknown = {}): ResolvedStep {
  return { id, plugin, config };
}

function pipelineOf(
  source: ResolvedStep,
  sink: ResolvedStep,
  transforms: ResolvedStep[] = [],
): ResolvedPipeline {
  return {
    name: "test",
    source,
    transforms,
    sink,
    runtime: {
      retry: { attempts: 3, minDelay: 1, maxDelay: 5, timeout: 1000 },
      progressInterval: 0,
      concurrency: 4,
      batch: "auto",
    },
  };
}

function object(i: number): WeftObject {
  return {
    id: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
    properties: {},
    vectors: {},
  };
}

function batch(collection: string, n: number, tenant?: string): ObjectsMessage {
  const objects = Array.from({ length: n }, (_, i) => object(i));
  return tenant === undefined
    ? { type: "objects", partition: partitionKey(collection), collection, seq: 0, objects }
    : {
      type: "objects",
      partition: partitionKey(collection, tenant),
      collection,
      tenant,
      seq: 0,
      objects,
    };
}

/** A source that sends `messages`, then ends. */
function listSource(name: string, messages: Message[], onCreate?: (ctx: PluginContext) => void) {
  return definePlugin({
    name,
    description: "Sends a fixed list of messages.",
    kind: "source",
    config: anyConfig,
    create: (_config, ctx) => {
      onCreate?.(ctx);
      return ReadableStream.from(messages);
    },
  });
}

/** A sink that keeps what it gets. */
function memorySink(received: Message[] = [], onCreate?: (ctx: PluginContext) => void) {
  return definePlugin({
    name: "memory-sink",
    description: "Keeps messages in memory.",
    kind: "sink",
    config: anyConfig,
    create: (_config, ctx) => {
      onCreate?.(ctx);
      return new WritableStream<Message>({ write: (m) => void received.push(m) });
    },
  });
}

const passThrough = definePlugin({
  name: "pass-through",
  description: "Passes messages on.",
  kind: "transform",
  config: anyConfig,
  create: () => new TransformStream<Message, Message>(),
});

async function runError(promise: Promise<RunSummary>): Promise<RunError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RunError, `expected a RunError, got ${error}`);
    return error;
  }
  return assert.fail("expected runPipeline() to reject");
}

Deno.test("runPipeline() delivers every message to the sink and completes", async () => {
  const messages: Message[] = [
    { type: "source-info", system: "memory" },
    { type: "collection", collection: "A", definition: { class: "A" } },
    batch("A", 2),
  ];
  const received: Message[] = [];
  const summary = await runPipeline(
    pipelineOf(
      step(listSource("list-source", messages), "source"),
      step(memorySink(received), "sink"),
      [step(passThrough, "transforms[0]")],
    ),
    { log: silent },
  );
  assert.deepEqual(received, messages);
  assert.equal(summary.status, "completed");
  assert.equal(summary.pipeline, "test");
  assert.equal(summary.objects, 2);
  assert.equal(summary.error, undefined);
});

for (const transforms of [0, 2]) {
  Deno.test(`runPipeline() keeps a fast source at most a few messages ahead of a slow sink (${transforms} transforms)`, async () => {
    const total = 40;
    let pulled = 0;
    let written = 0;
    let maxLead = 0;
    const source = definePlugin({
      name: "counting-source",
      description: "Counts pulls.",
      kind: "source",
      config: anyConfig,
      create: () =>
        new ReadableStream<Message>({
          pull(controller) {
            pulled++;
            controller.enqueue(batch("A", 1));
            if (pulled === total) controller.close();
          },
        }),
    });
    const sink = definePlugin({
      name: "slow-sink",
      description: "Writes slowly.",
      kind: "sink",
      config: anyConfig,
      create: () =>
        new WritableStream<Message>({
          async write() {
            maxLead = Math.max(maxLead, pulled - written);
            await sleep(2);
            written++;
          },
        }),
    });
    const summary = await runPipeline(
      pipelineOf(
        step(source, "source"),
        step(sink, "sink"),
        Array.from({ length: transforms }, (_, i) => step(passThrough, `transforms[${i}]`)),
      ),
      { log: silent },
    );
    assert.equal(written, total);
    assert.equal(summary.objects, total);
    // One message in the sink, one waiting; a pipe without backpressure would pull all 40 at once.
    assert.ok(maxLead <= 3, `source ran ${maxLead} messages ahead of the sink`);
  });
}

Deno.test("runPipeline() cancels the source and aborts the sink when the signal aborts", async () => {
  const events: string[] = [];
  let cancelReason: unknown;
  let writes = 0;
  const source = definePlugin({
    name: "endless-source",
    description: "Never ends.",
    kind: "source",
    config: anyConfig,
    create: () =>
      new ReadableStream<Message>({
        async pull(controller) {
          await sleep(1);
          controller.enqueue(batch("A", 1));
        },
        cancel(reason) {
          events.push("source cancel");
          cancelReason = reason;
        },
      }),
  });
  const controller = new AbortController();
  const sink = definePlugin({
    name: "abortable-sink",
    description: "Records abort and close.",
    kind: "sink",
    config: anyConfig,
    create: () =>
      new WritableStream<Message>({
        write() {
          if (++writes === 3) controller.abort();
        },
        abort() {
          events.push("sink abort");
        },
        close() {
          events.push("sink close");
        },
      }),
  });
  const error = await runError(
    runPipeline(pipelineOf(step(source, "source"), step(sink, "sink")), {
      log: silent,
      signal: controller.signal,
    }),
  );
  assert.ok(error.cause instanceof CancelledError, `cause is ${error.cause}`);
  assert.equal(error.summary.status, "cancelled");
  assert.match(error.summary.error ?? "", /^Cannot finish run: cancelled/);
  assert.ok(events.includes("source cancel"), `events: ${events}`);
  assert.ok(events.includes("sink abort"), `events: ${events}`);
  assert.ok(!events.includes("sink close"), `events: ${events}`);
  assert.ok(cancelReason !== undefined);
  assert.equal(error.summary.objects, 3);
});

Deno.test("runPipeline() keeps a CancelledError given as the abort reason", async () => {
  const controller = new AbortController();
  const reason = new CancelledError("Cannot finish run: cancelled by SIGINT");
  const source = definePlugin({
    name: "endless-source",
    description: "Never ends.",
    kind: "source",
    config: anyConfig,
    create: (_config, ctx) =>
      new ReadableStream<Message>({
        async pull(c) {
          await sleep(1);
          c.enqueue(batch("A", 1));
          if (!ctx.signal.aborted) controller.abort(reason);
        },
      }),
  });
  const error = await runError(
    runPipeline(pipelineOf(step(source, "source"), step(memorySink(), "sink")), {
      log: silent,
      signal: controller.signal,
    }),
  );
  assert.equal(error.cause, reason);
  assert.equal(error.summary.status, "cancelled");
  assert.equal(error.summary.error, "Cannot finish run: cancelled by SIGINT");
});

Deno.test("runPipeline() with an already aborted signal is cancelled without writing", async () => {
  const received: Message[] = [];
  const error = await runError(
    runPipeline(
      pipelineOf(
        step(listSource("list-source", [batch("A", 1)]), "source"),
        step(memorySink(received), "sink"),
      ),
      { log: silent, signal: AbortSignal.abort() },
    ),
  );
  assert.ok(error.cause instanceof CancelledError);
  assert.equal(error.summary.status, "cancelled");
  assert.deepEqual(received, []);
});

Deno.test("runPipeline() tags an error thrown in a transform with its plugin and step", async () => {
  const failing = definePlugin({
    name: "failing-transform",
    description: "Fails on the first message.",
    kind: "transform",
    config: anyConfig,
    create: () =>
      new TransformStream<Message, Message>({
        transform() {
          throw new Error("boom\non two lines");
        },
      }),
  });
  let sinkAborted = false;
  const sink = definePlugin({
    name: "memory-sink",
    description: "Records abort.",
    kind: "sink",
    config: anyConfig,
    create: () => new WritableStream<Message>({ abort: () => void (sinkAborted = true) }),
  });
  const error = await runError(runPipeline(
    pipelineOf(
      step(listSource("list-source", [batch("A", 1)]), "source"),
      step(sink, "sink"),
      [step(passThrough, "transforms[0]"), step(failing, "shout")],
    ),
    { log: silent },
  ));
  assert.ok(error.cause instanceof PluginError, `cause is ${error.cause}`);
  assert.equal(error.cause.plugin, "failing-transform");
  assert.equal(error.cause.step, "shout");
  assert.equal(error.cause.message, '[failing-transform] step "shout": boom on two lines');
  assert.equal((error.cause.cause as Error).message, "boom\non two lines");
  assert.equal(error.summary.status, "failed");
  assert.equal(error.summary.error, '[failing-transform] step "shout": boom on two lines');
  assert.equal(error.message, error.summary.error);
  assert.ok(sinkAborted, "the sink was not aborted");
});

Deno.test("runPipeline() tags a source error with the source even after a transform", async () => {
  let sent = 0;
  const source = definePlugin({
    name: "breaking-source",
    description: "Fails after one message.",
    kind: "source",
    config: anyConfig,
    create: () =>
      new ReadableStream<Message>({
        pull(controller) {
          if (sent++ === 0) controller.enqueue(batch("A", 1));
          else throw new Error("source broke");
        },
      }),
  });
  const error = await runError(runPipeline(
    pipelineOf(step(source, "reader"), step(memorySink(), "sink"), [
      step(passThrough, "first"),
      step(passThrough, "second"),
    ]),
    { log: silent },
  ));
  assert.ok(error.cause instanceof PluginError, `cause is ${error.cause}`);
  assert.equal(error.cause.plugin, "breaking-source");
  assert.equal(error.cause.step, "reader");
  assert.equal(error.cause.message, '[breaking-source] step "reader": source broke');
  assert.equal(error.summary.status, "failed");
  assert.equal(error.summary.objects, 1);
});

Deno.test("runPipeline() tags errors of the sink and of create()", async () => {
  const failingSink = definePlugin({
    name: "failing-sink",
    description: "Fails on write.",
    kind: "sink",
    config: anyConfig,
    create: () =>
      new WritableStream<Message>({
        write() {
          throw new Error("disk full");
        },
      }),
  });
  const writeError = await runError(runPipeline(
    pipelineOf(
      step(listSource("list-source", [batch("A", 1)]), "source"),
      step(failingSink, "out"),
    ),
    { log: silent },
  ));
  assert.ok(writeError.cause instanceof PluginError);
  assert.equal(writeError.cause.message, '[failing-sink] step "out": disk full');
  assert.equal(writeError.summary.objects, 0);

  const unbuildable = definePlugin({
    name: "unbuildable-sink",
    description: "Fails in create().",
    kind: "sink",
    config: anyConfig,
    create: () => Promise.reject(new Error("no such bucket")),
  });
  const createError = await runError(runPipeline(
    pipelineOf(step(listSource("list-source", []), "source"), step(unbuildable, "sink")),
    { log: silent },
  ));
  assert.ok(createError.cause instanceof PluginError);
  assert.equal(createError.cause.message, '[unbuildable-sink] step "sink": no such bucket');
  assert.equal(createError.summary.status, "failed");
});

Deno.test("runPipeline() cancels the source when the sink cannot be created", async () => {
  let cancelled = false;
  const source = definePlugin({
    name: "open-source",
    description: "Holds a resource until cancelled.",
    kind: "source",
    config: anyConfig,
    create: () =>
      new ReadableStream<Message>({
        pull: () => new Promise(() => {}),
        cancel: () => void (cancelled = true),
      }),
  });
  const unbuildable = definePlugin({
    name: "unbuildable-sink",
    description: "Fails in create().",
    kind: "sink",
    config: anyConfig,
    create: () => Promise.reject(new Error("no such bucket")),
  });
  const error = await runError(runPipeline(
    pipelineOf(step(source, "source"), step(unbuildable, "sink")),
    { log: silent },
  ));
  assert.ok(error.cause instanceof PluginError);
  assert.ok(cancelled, "the source was left open");
});

/** Source and sink that register named cleanups and record when they run. */
function cleanupPlugins(order: string[], options: { failWrite?: boolean } = {}) {
  const source = listSource("list-source", [batch("A", 2)], (ctx) => {
    ctx.onClose(() => void order.push("source 1"));
    ctx.onClose(async () => {
      await sleep(1);
      order.push("source 2");
    });
  });
  const transform = definePlugin({
    name: "pass-through",
    description: "Passes messages on; its cleanup fails.",
    kind: "transform",
    config: anyConfig,
    create: (_config, ctx) => {
      ctx.onClose(() => {
        order.push("transform");
        throw new Error("cleanup exploded");
      });
      return new TransformStream<Message, Message>();
    },
  });
  const sink = definePlugin({
    name: "memory-sink",
    description: "Registers a cleanup.",
    kind: "sink",
    config: anyConfig,
    create: (_config, ctx) => {
      ctx.onClose(() => void order.push("sink"));
      return new WritableStream<Message>({
        write() {
          if (options.failWrite) throw new Error("write failed");
        },
        close: () => void order.push("sink close"),
      });
    },
  });
  return pipelineOf(step(source, "source"), step(sink, "sink"), [step(transform, "transforms[0]")]);
}

Deno.test("runPipeline() runs cleanups in reverse order of registration", async () => {
  const order: string[] = [];
  const lines: string[] = [];
  const log = createLogger({ level: "warn", write: (line) => lines.push(line) });
  const summary = await runPipeline(cleanupPlugins(order), { log });
  assert.equal(summary.status, "completed");
  assert.deepEqual(order, ["sink close", "sink", "transform", "source 2", "source 1"]);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /WARN .*cleanup failed: cleanup exploded step=transforms\[0\]/);
});

Deno.test("runPipeline() runs cleanups on failure and keeps the run's own error", async () => {
  const order: string[] = [];
  const lines: string[] = [];
  const log = createLogger({ level: "warn", write: (line) => lines.push(line) });
  const error = await runError(runPipeline(cleanupPlugins(order, { failWrite: true }), { log }));
  assert.deepEqual(order, ["sink", "transform", "source 2", "source 1"]);
  assert.ok(error.cause instanceof PluginError);
  assert.equal(error.cause.message, '[memory-sink] step "sink": write failed');
  assert.equal(error.summary.error, '[memory-sink] step "sink": write failed');
  assert.ok(lines.some((line) => line.includes("cleanup failed: cleanup exploded")), lines.join());
});

Deno.test("runPipeline() counts objects per collection and tenant", async () => {
  const messages: Message[] = [
    { type: "source-info", system: "memory" },
    { type: "collection", collection: "Articles", definition: {} },
    batch("Articles", 3),
    batch("Articles", 2),
    { type: "collection", collection: "Notes", definition: {}, tenants: [] },
    batch("Notes", 2, "alice"),
    batch("Notes", 1, "bob"),
    batch("Notes", 4, "alice"),
    { type: "collection", collection: "Empty", definition: {} },
  ];
  const sink = memorySink([], (ctx) => {
    ctx.metrics.add("bytesWritten", 1234);
    ctx.metrics.add("files", 2);
    ctx.metrics.add("files");
    ctx.setOutput("/backups/x");
  });
  const summary = await runPipeline(
    pipelineOf(step(listSource("list-source", messages), "source"), step(sink, "sink")),
    { log: silent },
  );
  assert.equal(summary.status, "completed");
  assert.equal(summary.objects, 12);
  assert.deepEqual(summary.collections, {
    Articles: { objects: 5 },
    Notes: { objects: 7, tenants: { alice: 6, bob: 1 } },
    Empty: { objects: 0 },
  });
  assert.equal(summary.bytes, 1234);
  assert.deepEqual(summary.counters, { bytesWritten: 1234, files: 3 });
  assert.equal(summary.retries, 0);
  assert.equal(summary.output, "/backups/x");
});

Deno.test("runPipeline() passes the summary of a successful run to onComplete", async () => {
  const seen: RunSummary[] = [];
  const sink = memorySink([], (ctx) => ctx.onComplete((summary) => void seen.push(summary)));
  const summary = await runPipeline(
    pipelineOf(step(listSource("list-source", [batch("A", 2)]), "source"), step(sink, "sink")),
    { log: silent },
  );
  assert.deepEqual(seen, [summary]);
});

Deno.test("runPipeline() counts the retries of ctx.retry in the summary", async () => {
  let calls = 0;
  const attempts: number[] = [];
  const source = definePlugin({
    name: "flaky-source",
    description: "Needs three tries to connect.",
    kind: "source",
    config: anyConfig,
    create: async (_config, ctx) => {
      const value = await ctx.retry((_signal, attempt) => {
        attempts.push(attempt);
        return ++calls < 3
          ? Promise.reject(new Deno.errors.ConnectionReset("connection reset"))
          : Promise.resolve(7);
      });
      return ReadableStream.from([batch("A", value)]);
    },
  });
  const lines: string[] = [];
  const log = createLogger({ level: "warn", write: (line) => lines.push(line) });
  const summary = await runPipeline(
    pipelineOf(step(source, "source"), step(memorySink(), "sink")),
    { log },
  );
  assert.equal(summary.retries, 2);
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.equal(summary.objects, 7);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /\[flaky-source\] retrying in \d+ ms after: connection reset/);
});

Deno.test("runPipeline() fails after the run's retry attempts and counts every retry", async () => {
  let calls = 0;
  const source = definePlugin({
    name: "down-source",
    description: "Never connects.",
    kind: "source",
    config: anyConfig,
    create: async (_config, ctx) => {
      await ctx.retry(() => {
        calls++;
        return Promise.reject(new ServerError("connection refused"));
      });
      return ReadableStream.from([]);
    },
  });
  const error = await runError(runPipeline(
    pipelineOf(step(source, "source"), step(memorySink(), "sink")),
    { log: silent },
  ));
  assert.equal(calls, 3);
  assert.equal(error.summary.retries, 2);
  assert.equal(error.summary.error, '[down-source] step "source": connection refused');
});

Deno.test("runPipeline() never logs secrets from step configs or ctx.secret", async () => {
  const apiKey = "sk-live-0123456789abcdef";
  const password = "hunter2-horse-battery";
  const extra = "token-from-the-server-42";
  const source = definePlugin({
    name: "chatty-source",
    description: "Logs its secrets.",
    kind: "source",
    config: anyConfig,
    create: (config, ctx) => {
      ctx.secret(extra);
      ctx.log.info(`connecting with key ${config.apiKey} to ${config.url}`);
      ctx.log.warn("auth", { apiKey: config.apiKey, nested: { extra } });
      ctx.log.error(`server sent ${extra}`);
      return new ReadableStream<Message>({
        pull() {
          throw new Error(`401 for key ${config.apiKey}`);
        },
      });
    },
  });
  const lines: string[] = [];
  for (const format of ["text", "json"] as const) {
    const redactor = new Redactor();
    const log = createLogger({ level: "debug", format, redactor, write: (l) => lines.push(l) });
    const error = await runError(runPipeline(
      pipelineOf(
        step(source, "source", {
          apiKey,
          url: `https://admin:${password}@weaviate.example.com`,
        }),
        step(memorySink(), "sink"),
      ),
      { log, redactor },
    ));
    assert.equal(error.summary.error, '[chatty-source] step "source": 401 for key ***');
    assert.ok(!error.message.includes(apiKey));
  }
  assert.ok(lines.length >= 6, `only ${lines.length} lines`);
  const all = lines.join("\n");
  for (const secret of [apiKey, password, extra]) {
    assert.ok(!all.includes(secret), `a log line shows ${secret}:\n${all}`);
  }
  assert.match(all, /connecting with key \*\*\* to https:\/\/\*\*\*@weaviate\.example\.com/);
});
