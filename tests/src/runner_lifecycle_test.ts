import assert from "node:assert/strict";
import { z } from "zod";
import { createLogger } from "../../src/logger.ts";
import type { Message } from "../../src/messages.ts";
import type { ResolvedPipeline } from "../../src/pipeline.ts";
import { definePlugin } from "../../src/plugin.ts";
import { runPipeline } from "../../src/runner.ts";

const anyConfig = z.object({}).passthrough();
const log = createLogger({ level: "silent" });

function pipeline(events: string[]): ResolvedPipeline {
  const source = definePlugin({
    name: "one-message",
    description: "Sends one message.",
    kind: "source",
    config: anyConfig,
    create: (_c, ctx) => {
      ctx.metrics.add("retries", 2);
      ctx.onClose(() => void events.push("source closed"));
      return ReadableStream.from<Message>([{ type: "source-info", system: "test" }]);
    },
  });
  const sink = definePlugin({
    name: "summary-writer",
    description: "Writes the summary with its client.",
    kind: "sink",
    config: anyConfig,
    create: (_c, ctx) => {
      let client: "open" | "closed" = "open";
      ctx.onClose(() => {
        client = "closed";
        events.push("sink closed");
      });
      ctx.onComplete(() => void events.push(`summary written with the client ${client}`));
      return new WritableStream<Message>();
    },
  });
  return {
    name: "lifecycle",
    source: { id: "source", plugin: source, config: {} },
    transforms: [],
    sink: { id: "sink", plugin: sink, config: {} },
    runtime: {
      retry: { attempts: 1, minDelay: 1, maxDelay: 1, timeout: 1000 },
      progressInterval: 0,
      concurrency: 1,
      batch: "auto",
    },
  };
}

Deno.test("runPipeline() runs onComplete callbacks before the cleanups, which run in reverse", async () => {
  const events: string[] = [];
  await runPipeline(pipeline(events), { log });
  assert.deepEqual(events, [
    "summary written with the client open",
    "sink closed",
    "source closed",
  ]);
});

Deno.test("runPipeline() keeps every plugin counter under its own name, `retries` too", async () => {
  const summary = await runPipeline(pipeline([]), { log });
  assert.deepEqual(summary.counters, { retries: 2 });
  assert.equal(summary.retries, 0);
});
