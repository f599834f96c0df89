/**
 * Runs a pipeline: source → transforms → sink over web streams, with
 * backpressure, cancellation, error tagging, cleanups and a summary.
 * @module
 */
import { CancelledError, messageOf, PluginError, RunError } from "./errors.ts";
export { RunError } from "./errors.ts";
import { createLogger, type Logger } from "./logger.ts";
import type { Message } from "./messages.ts";
import type { ResolvedPipeline, ResolvedStep } from "./pipeline.ts";
import type { ConfirmRequest, PluginContext } from "./plugin.ts";
import { Redactor } from "./redact.ts";
import { retry, type RetryOptions } from "./retry.ts";
import { CollectionCounter, Counters, type RunSummary } from "./summary.ts";
import { RunCache } from "./cache.ts";
import { FlagSet, resolveFlags } from "./flags.ts";
import { batchingSink, type BatchingStats } from "./batching.ts";
import type { BatchSink } from "./plugin.ts";
import { join, resolve } from "node:path";

/** Options of {@linkcode runPipeline}. */
export interface RunOptions {
  /** Cancels the run. */
  signal?: AbortSignal;
  /** Defaults to an info-level text logger on stderr. */
  log?: Logger;
  /** Masks secrets in logs; the runner adds every secret found in step configs. */
  redactor?: Redactor;
  /** Base directory for relative paths; defaults to the current directory. */
  cwd?: string;
  /** Answers {@linkcode PluginContext.confirm}; without it every destructive step is declined. */
  confirm?: (request: ConfirmRequest) => Promise<boolean>;
  /** Feature flags; default: the pipeline's `flags:`, then `WEFT_FLAG_*`, then each default. */
  flags?: FlagSet;
}

/**
 * Runs `pipeline` to the end and resolves with its summary; a failed or
 * cancelled run rejects with a {@linkcode RunError} whose `cause` is the
 * (tagged) error.
 */
export async function runPipeline(
  pipeline: ResolvedPipeline,
  options: RunOptions = {},
): Promise<RunSummary> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const redactor = options.redactor ?? new Redactor();
  for (const step of [pipeline.source, ...pipeline.transforms, pipeline.sink]) {
    redactor.addFromConfig(step.config);
  }
  const log = options.log ?? createLogger({ redactor });
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (options.signal?.aborted) onOuterAbort();

  const counters = new Counters();
  const counts = new CollectionCounter();
  const cleanups: { step: string; fn: () => void | Promise<void> }[] = [];
  const completions: ((summary: RunSummary) => void | Promise<void>)[] = [];
  let output: string | undefined;
  const retryPolicy = pipeline.runtime.retry;
  const cache = new RunCache();
  let retries = 0;
  let batchingStats: (() => BatchingStats) | undefined;
  const flags = options.flags ?? new FlagSet(resolveFlags(pipeline.flags));
  const concurrency = flags.enabled("parallel-partitions") ? pipeline.runtime.concurrency : 1;

  const contextFor = (step: ResolvedStep): PluginContext => {
    const stepLog = log.child({ plugin: step.plugin.name, step: step.id });
    return {
      signal: controller.signal,
      log: stepLog,
      step: step.id,
      pipeline: pipeline.name,
      cwd: options.cwd ?? Deno.cwd(),
      metrics: counters,
      cache,
      flags,
      concurrency,
      retry: <T>(fn: (signal: AbortSignal, attempt: number) => Promise<T>, o: RetryOptions = {}) =>
        retry(fn, {
          attempts: retryPolicy.attempts,
          minDelayMs: retryPolicy.minDelay,
          maxDelayMs: retryPolicy.maxDelay,
          timeoutMs: retryPolicy.timeout,
          signal: controller.signal,
          ...o,
          onRetry: (error, attempt, delay) => {
            retries++;
            stepLog.warn(`retrying in ${delay} ms after: ${messageOf(error)}`, { attempt });
            o.onRetry?.(error, attempt, delay);
          },
        }),
      onClose: (fn) => cleanups.push({ step: step.id, fn }),
      onComplete: (fn) => completions.push(fn),
      secret: (value) => redactor.add(value),
      acknowledge: (collection, tenant, n) => counts.add(collection, tenant, n),
      setOutput: (location) => output = location,
      confirm: (request) => options.confirm?.(request) ?? Promise.resolve(false),
    };
  };

  const summarize = (status: RunSummary["status"], error?: unknown): RunSummary => {
    const durationMs = Math.round(performance.now() - started);
    const all = counters.toJSON();
    const batching = batchingStats?.();
    return {
      pipeline: pipeline.name,
      status,
      startedAt,
      finishedAt: new Date().toISOString(),
      durationMs,
      objects: counts.total,
      bytes: all.bytesWritten ?? 0,
      retries: retries + (batching ? batching.retriedRequests + batching.retriedObjects : 0),
      objectsPerSecond: durationMs > 0 ? counts.total / (durationMs / 1000) : 0,
      collections: counts.collections,
      counters: all,
      cache: { ...cache.stats },
      ...(batching ? { batching } : {}),
      ...(output ? { output: redactor.redact(output) } : {}),
      ...(error ? { error: redactor.redact(messageOf(error)) } : {}),
    };
  };

  let progress: ReturnType<typeof setInterval> | undefined;
  let failure: unknown;
  // If a later step cannot be made, what was made is shut down: cancelling the
  // head of the chain cancels every stream piped into it.
  let head: ReadableStream<Message> | undefined;
  let piping = false;
  try {
    head = tagReadable(
      await create(pipeline.source, contextFor(pipeline.source)),
      pipeline.source,
    );
    for (const step of pipeline.transforms) {
      const transform = await create(step, contextFor(step));
      head = tagReadable(head.pipeThrough(transform, { signal: controller.signal }), step);
    }
    const sinkContext = contextFor(pipeline.sink);
    const created: WritableStream<Message> | BatchSink = await create(pipeline.sink, sinkContext);
    let writable: WritableStream<Message>;
    if (created instanceof WritableStream) writable = created;
    else {
      const batching = batchingSink({
        sink: created,
        batch: pipeline.runtime.batch,
        adaptive: flags.enabled("adaptive-batching"),
        retry: retryPolicy,
        deadLetterPath: deadLetterPath(pipeline, options.cwd ?? Deno.cwd(), startedAt),
        signal: controller.signal,
        log: sinkContext.log,
        acknowledge: (collection, tenant, n) => counts.add(collection, tenant, n),
      });
      writable = batching.stream;
      batchingStats = batching.stats;
    }
    const sink = countingSink(writable, pipeline.sink, counts, batchingStats !== undefined);
    const interval = pipeline.runtime.progressInterval;
    if (interval > 0) {
      let last = { at: performance.now(), objects: 0 };
      progress = setInterval(() => {
        const now = performance.now();
        const rate = (counts.total - last.objects) / ((now - last.at) / 1000);
        log.info(`progress: ${counts.total} objects`, { rate: `${Math.round(rate)}/s` });
        last = { at: now, objects: counts.total };
      }, interval);
    }
    piping = true;
    await head.pipeTo(sink, { signal: controller.signal });
  } catch (error) {
    failure = controller.signal.aborted && !(error instanceof PluginError)
      ? asCancelled(controller.signal.reason)
      : error;
    if (!controller.signal.aborted) controller.abort(failure);
    if (!piping) await head?.cancel(failure).catch(() => {});
  }

  let summary: RunSummary | undefined;
  if (failure === undefined) {
    summary = summarize("completed");
    // Before the cleanups: a sink writing its summary still has its client.
    for (const fn of completions) {
      try {
        await fn(summary);
      } catch (error) {
        failure = error;
        break;
      }
    }
  }
  clearInterval(progress);
  options.signal?.removeEventListener("abort", onOuterAbort);
  for (const { step, fn } of cleanups.reverse()) {
    try {
      await fn();
    } catch (error) {
      // A cleanup error never hides the run's own error.
      log.warn(`cleanup failed: ${messageOf(error)}`, { step });
    }
  }

  if (failure !== undefined) {
    const status = failure instanceof CancelledError ? "cancelled" : "failed";
    throw new RunError(summarize(status, failure), { cause: failure });
  }
  return summary!;
}

/** `runtime.deadLetter`, or `<pipeline>-<time>.dead-letter.jsonl` in the working directory. */
function deadLetterPath(pipeline: ResolvedPipeline, cwd: string, startedAt: string): string {
  if (pipeline.runtime.deadLetter) return resolve(cwd, pipeline.runtime.deadLetter);
  const stamp = startedAt.replace(/[:.]/g, "-");
  return join(cwd, `${pipeline.name}-${stamp}.dead-letter.jsonl`);
}

function asCancelled(reason: unknown): CancelledError {
  if (reason instanceof CancelledError) return reason;
  return new CancelledError(
    `Cannot finish run: cancelled${reason ? ` (${messageOf(reason)})` : ""}`,
  );
}

async function create(step: ResolvedStep, ctx: PluginContext) {
  try {
    // deno-lint-ignore no-explicit-any
    return await step.plugin.create(step.config, ctx) as any;
  } catch (error) {
    throw tag(error, step);
  }
}

function tag(error: unknown, step: ResolvedStep): unknown {
  if (error instanceof PluginError || error instanceof CancelledError) return error;
  if (error instanceof DOMException && error.name === "AbortError") return error;
  return new PluginError({ plugin: step.plugin.name, step: step.id }, error);
}

/** Re-exposes `readable`, tagging the errors it raises with `step`. */
function tagReadable(readable: ReadableStream<Message>, step: ResolvedStep) {
  const reader = readable.getReader();
  return new ReadableStream<Message>({
    async pull(controller) {
      let result: ReadableStreamReadResult<Message>;
      try {
        result = await reader.read();
      } catch (error) {
        throw tag(error, step);
      }
      if (result.done) controller.close();
      else controller.enqueue(result.value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

/** Wraps the sink: tags its errors and counts the objects it accepts. */
function countingSink(
  sink: WritableStream<Message>,
  step: ResolvedStep,
  counts: CollectionCounter,
  acknowledged: boolean,
) {
  const writer = sink.getWriter();
  return new WritableStream<Message>({
    async write(message) {
      try {
        await writer.write(message);
      } catch (error) {
        throw tag(error, step);
      }
      if (message.type === "objects") {
        if (!step.plugin.acknowledges && !acknowledged) {
          counts.add(message.collection, message.tenant, message.objects.length);
        } else counts.touch(message.collection);
      } else if (message.type === "collection") {
        counts.touch(message.collection);
      }
    },
    async close() {
      try {
        await writer.close();
      } catch (error) {
        throw tag(error, step);
      }
    },
    abort: (reason) => writer.abort(reason),
  }, { highWaterMark: 1 });
}
