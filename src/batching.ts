/**
 * Core-owned batching for sinks that write to a server ({@linkcode BatchSink}):
 * re-batching per partition by count and bytes, requests in flight bounded by
 * an adaptive controller, retries of only the objects that failed, and a
 * dead-letter file for those that keep failing.
 * @module
 */
import { BatchController, type BatchControllerOptions } from "./batch_controller.ts";
import { type DeadLetterEntry, DeadLetterFile } from "./dead_letter.ts";
import { DeadLetterError, messageOf } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { CollectionMessage, Message, WeftObject } from "./messages.ts";
import type { Batch, BatchSink, ObjectOutcome } from "./plugin.ts";
import { backoffDelay, isOverload, isTransient, sleep, TimeoutError } from "./retry.ts";

/** Starting point of `runtime.batch: auto`. */
export const AUTO_START = { size: 250, concurrency: 2 } as const;
/** Most requests in flight `auto` goes to (Weaviate and the client share 2 cores in our measurements). */
export const AUTO_MAX_CONCURRENCY = 16;
/**
 * Estimated bytes of the objects in flight at once, whatever the batch size
 * and concurrency: a request is held back while it would pass this, unless
 * nothing is in flight. The sink's encoding and the transport each hold a
 * copy, so this keeps a run's memory flat with large vectors.
 */
export const MAX_IN_FLIGHT_BYTES = 16 * 1024 * 1024;

/** What {@linkcode batchingSink} needs from the run. */
export interface BatchingOptions {
  sink: BatchSink;
  /** `runtime.batch`. */
  batch: "auto" | { size: number; concurrency: number };
  /** The `adaptive-batching` flag: off keeps `auto` at its starting point. */
  adaptive: boolean;
  /** The run's retry policy: tries per object, backoff, time limit per request. */
  retry: { attempts: number; minDelay: number; maxDelay: number; timeout: number };
  /** Where refused objects go. */
  deadLetterPath: string;
  signal: AbortSignal;
  log: Logger;
  /** Counts objects the sink wrote. */
  acknowledge(collection: string, tenant: string | undefined, n: number): void;
}

/** Batching figures for the run summary. */
export interface BatchingStats {
  /** Objects per batch at the end, and the largest used. */
  size: number;
  maxSize: number;
  /** Requests in flight allowed at the end, and the most used. */
  concurrency: number;
  maxConcurrency: number;
  requests: number;
  latencyMs: { p50: number; p95: number };
  /** Per-object failures inside answered requests (an object failing twice counts twice). */
  objectFailures: number;
  /** Objects sent again alone after a per-object failure. */
  retriedObjects: number;
  /** Whole requests sent again after a transient failure. */
  retriedRequests: number;
  /** Objects given up on (written to the dead-letter file). */
  deadLettered: number;
  deadLetterFile?: string;
}

interface Partition {
  key: string;
  collection: string;
  tenant?: string;
  pending: WeftObject[];
  /** Batches in flight or waiting for a retry. */
  open: number;
  idle: (() => void)[];
}

/**
 * Wraps `options.sink` as a `WritableStream` of messages.
 * `stats()` may be read at any time, also after a failure.
 */
export function batchingSink(
  options: BatchingOptions,
): { stream: WritableStream<Message>; stats: () => BatchingStats } {
  const { sink, retry, log } = options;
  const limits = sink.limits;
  const fixed = options.batch === "auto" ? undefined : options.batch;
  const controllerOptions: BatchControllerOptions = fixed
    ? {
      adaptive: false,
      initialSize: Math.min(fixed.size, limits.maxObjects),
      maxSize: Math.min(fixed.size, limits.maxObjects),
      initialConcurrency: fixed.concurrency,
      maxConcurrency: fixed.concurrency,
    }
    : {
      adaptive: options.adaptive,
      initialSize: Math.min(AUTO_START.size, limits.maxObjects),
      maxSize: limits.maxObjects,
      initialConcurrency: AUTO_START.concurrency,
      maxConcurrency: AUTO_MAX_CONCURRENCY,
      // Well under the time limit of a request, so growth stops long before timeouts.
      targetLatencyMs: retry.timeout > 0 ? Math.min(2_000, retry.timeout / 4) : 2_000,
    };
  const controller = new BatchController(controllerOptions);
  const definitions = new Map<string, CollectionMessage>();
  const deadLetter = new DeadLetterFile(options.deadLetterPath, (c) => definitions.get(c));
  const partitions = new Map<string, Partition>();
  const attempts = new WeakMap<WeftObject, number>();
  const sizes = new WeakMap<WeftObject, number>();
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  let inFlight = 0;
  let inFlightBytes = 0;
  let slotWaiters: (() => void)[] = [];
  let failure: unknown;
  let firstDead: DeadLetterEntry | undefined;
  let retriedObjects = 0;
  /** Handlers of answered requests still running (they may dead-letter, acknowledge, requeue). */
  const handlers = new Set<Promise<unknown>>();
  let objectFailures = 0;
  let retriedRequests = 0;

  const fail = (error: unknown) => {
    failure ??= error;
    stop.abort(error);
    for (const wake of slotWaiters.splice(0)) wake();
    for (const p of partitions.values()) for (const wake of p.idle.splice(0)) wake();
  };
  const throwIfFailed = () => {
    if (failure !== undefined) throw failure;
  };

  const partitionOf = (m: { partition: string; collection: string; tenant?: string }) => {
    let p = partitions.get(m.partition);
    if (!p) {
      p = {
        key: m.partition,
        collection: m.collection,
        ...(m.tenant === undefined ? {} : { tenant: m.tenant }),
        pending: [],
        open: 0,
        idle: [],
      };
      partitions.set(m.partition, p);
    }
    return p;
  };

  const bytesOf = (objects: WeftObject[]) => objects.reduce((n, o) => n + (sizes.get(o) ?? 0), 0);
  /** Waits until a request of `bytes` may start, then takes its slot. */
  const waitForSlot = async (bytes: number) => {
    while (
      failure === undefined &&
      (inFlight >= controller.concurrency ||
        (inFlight > 0 && inFlightBytes + bytes > MAX_IN_FLIGHT_BYTES))
    ) {
      await new Promise<void>((resolve) => slotWaiters.push(resolve));
    }
    throwIfFailed();
    // Taken here, before any other woken waiter checks the limit.
    inFlight++;
    inFlightBytes += bytes;
  };
  const releaseSlot = (bytes: number) => {
    inFlight--;
    inFlightBytes -= bytes;
    const waiters = slotWaiters;
    slotWaiters = [];
    for (const wake of waiters) wake();
  };
  const settle = (p: Partition) => {
    p.open--;
    if (p.open === 0) { for (const wake of p.idle.splice(0)) wake(); }
  };

  /** Sends what `p` holds, in batches of the current size and at most `limits.maxBytes`. */
  const flush = async (p: Partition, all: boolean) => {
    while (p.pending.length > 0) {
      const size = controller.size;
      let count = 0;
      let bytes = 0;
      while (count < p.pending.length && count < size) {
        const next = sizes.get(p.pending[count]!) ?? 0;
        if (count > 0 && bytes + next > limits.maxBytes) break;
        bytes += next;
        count++;
      }
      const full = count >= size || count < p.pending.length;
      if (!full && !all) return;
      const objects = p.pending.splice(0, count);
      await waitForSlot(bytes);
      send(p, objects, bytes);
    }
  };

  /** Sends `objects` (`bytes` estimated) of `p`; the caller holds a slot (see `waitForSlot`). */
  const send = (p: Partition, objects: WeftObject[], bytes: number) => {
    p.open++;
    const started = performance.now();
    const batch = {
      partition: p.key,
      collection: p.collection,
      ...(p.tenant === undefined ? {} : { tenant: p.tenant }),
      objects,
    };
    const call = request(batch).then(
      (outcomes) => ({ outcomes }),
      (error: unknown) => ({ error }),
    );
    const handled = call.then(async (result) => {
      const latencyMs = performance.now() - started;
      releaseSlot(bytes);
      if ("error" in result) {
        const error = result.error;
        controller.record({
          objects: objects.length,
          latencyMs,
          overloaded: isOverload(error),
          failed: objects.length,
        });
        if (signal.aborted) return fail(failure ?? error);
        if (!limits.idempotent || !isTransient(error)) return fail(error);
        const spent = objects.filter((o) => tries(o) + 1 >= retry.attempts);
        if (spent.length) return fail(error);
        retriedRequests++;
        log.warn(`retrying a batch of ${objects.length} after: ${messageOf(error)}`, {
          partition: p.key,
        });
        for (const o of objects) attempts.set(o, tries(o) + 1);
        await requeue(p, objects);
        return;
      }
      const outcomes = result.outcomes;
      if (outcomes.length !== objects.length) {
        return fail(
          new TypeError(
            `Cannot use batch result: ${outcomes.length} outcomes for ${objects.length} objects`,
          ),
        );
      }
      let written = 0;
      let deferred = 0;
      const again: WeftObject[] = [];
      const dead: DeadLetterEntry[] = [];
      for (const [i, outcome] of outcomes.entries()) {
        const object = objects[i]!;
        if (outcome === undefined) written++;
        else if (outcome === "deferred") deferred++;
        else {
          objectFailures++;
          const tried = tries(object) + 1;
          attempts.set(object, tried);
          if (outcome.retryable !== false && tried < retry.attempts) again.push(object);
          else dead.push(entry(p, object, outcome, tried));
        }
      }
      controller.record({
        objects: objects.length,
        latencyMs,
        overloaded: false,
        failed: objects.length - written - deferred,
      });
      if (written) options.acknowledge(p.collection, p.tenant, written);
      if (dead.length) {
        firstDead ??= dead[0];
        await deadLetter.add(dead);
      }
      if (again.length) {
        retriedObjects += again.length;
        await requeue(p, again);
      }
    }).catch(fail).finally(() => {
      settle(p);
      handlers.delete(handled);
    });
    handlers.add(handled);
  };

  /**
   * One `writeBatch` call, under the request time limit: a sink that ignores
   * its signal still frees its slot when the limit passes.
   */
  const request = (batch: Batch): Promise<ObjectOutcome[]> =>
    new Promise((resolve, reject) => {
      const controller = new AbortController();
      const requestSignal = AbortSignal.any([signal, controller.signal]);
      const timer = retry.timeout > 0
        ? setTimeout(() => controller.abort(new TimeoutError(retry.timeout)), retry.timeout)
        : undefined;
      const onAbort = () => reject(requestSignal.reason);
      requestSignal.addEventListener("abort", onAbort, { once: true });
      // A sink that throws at once fails the batch like one that rejects.
      Promise.resolve().then(() => sink.writeBatch(batch, requestSignal)).then(resolve, reject)
        .finally(() => {
          clearTimeout(timer);
          requestSignal.removeEventListener("abort", onAbort);
        });
    });

  const tries = (o: WeftObject) => attempts.get(o) ?? 0;

  const entry = (
    p: Partition,
    object: WeftObject,
    outcome: Exclude<ObjectOutcome, undefined | "deferred">,
    tried: number,
  ): DeadLetterEntry => ({
    collection: p.collection,
    ...(p.tenant === undefined ? {} : { tenant: p.tenant }),
    error: outcome.error,
    attempts: tried,
    object,
  });

  /** Sends `objects` again, alone, after the backoff of their attempt. */
  const requeue = async (p: Partition, objects: WeftObject[]) => {
    const attempt = Math.max(...objects.map(tries));
    const base = backoffDelay(attempt, { minDelayMs: retry.minDelay, maxDelayMs: retry.maxDelay });
    p.open++;
    try {
      await sleep(Math.round(base / 2 + Math.random() * base / 2), signal);
      // Retried objects go in their own batches: a bad object is not sent with good ones again.
      for (let i = 0; i < objects.length; i += Math.max(1, controller.size)) {
        const part = objects.slice(i, i + Math.max(1, controller.size));
        const bytes = bytesOf(part);
        await waitForSlot(bytes);
        send(p, part, bytes);
      }
    } finally {
      settle(p);
    }
  };

  const drain = async (p: Partition) => {
    await flush(p, true);
    while (p.open > 0 && failure === undefined) {
      await new Promise<void>((resolve) => p.idle.push(resolve));
    }
    throwIfFailed();
  };

  /** Waits for every answered request's handler, so nothing runs after the end. */
  const settled = async () => {
    while (handlers.size) await Promise.allSettled([...handlers]);
  };

  const deadLetterError = () =>
    firstDead && new DeadLetterError(deadLetter.count, deadLetter.path, {
      id: firstDead.object.id,
      collection: firstDead.collection,
      ...(firstDead.tenant === undefined ? {} : { tenant: firstDead.tenant }),
      error: firstDead.error,
    });

  /** After a failure: requests stopped, the dead-letter file closed, the sink told. */
  const stopAll = async (reason: unknown) => {
    fail(reason);
    await settled();
    await deadLetter.close();
    const dead = deadLetterError();
    if (dead && dead !== reason) log.error(dead.message);
    await sink.abort?.(reason);
  };

  const write = async (message: Message) => {
    throwIfFailed();
    if (message.type === "objects") {
      const p = partitionOf(message);
      for (const object of message.objects) {
        sizes.set(object, estimateBytes(object));
        p.pending.push(object);
      }
      await flush(p, false);
      return;
    }
    if (message.type === "collection") definitions.set(message.collection, message);
    if (message.type === "partition-end") {
      const p = partitions.get(message.partition);
      if (p) {
        await drain(p);
        partitions.delete(message.partition);
      }
    }
    await sink.write?.(message);
  };

  let stopped = false;
  const stream = new WritableStream<Message>({
    async write(message) {
      try {
        await write(message);
      } catch (error) {
        // The stream errors now: abort() will not be called, so stop here.
        stopped = true;
        await stopAll(error);
        throw error;
      }
    },
    async close() {
      try {
        for (const p of partitions.values()) await drain(p);
        throwIfFailed();
      } catch (error) {
        stopped = true;
        await stopAll(error);
        throw error;
      }
      let error: unknown;
      try {
        await sink.close?.({
          deadLetter: async (dead) => {
            if (dead.length === 0) return;
            firstDead ??= dead[0];
            await deadLetter.add(dead);
          },
        });
      } catch (e) {
        error = e;
      }
      await settled();
      await deadLetter.close();
      const dead = deadLetterError();
      if (dead) {
        if (error === undefined) throw dead;
        // Another error wins, but where the refused objects went is not lost.
        log.error(dead.message);
      }
      if (error !== undefined) throw error;
    },
    async abort(reason) {
      if (stopped) return;
      stopped = true;
      await stopAll(reason);
    },
  }, { highWaterMark: 1 });

  const stats = (): BatchingStats => {
    const s = controller.stats();
    return {
      size: s.size,
      maxSize: s.maxSizeSeen,
      concurrency: s.concurrency,
      maxConcurrency: s.maxConcurrencySeen,
      requests: s.requests,
      latencyMs: { p50: Math.round(s.latencyP50Ms), p95: Math.round(s.latencyP95Ms) },
      objectFailures,
      retriedObjects,
      retriedRequests,
      deadLettered: deadLetter.count,
      ...(deadLetter.count ? { deadLetterFile: deadLetter.path } : {}),
    };
  };
  return { stream, stats };
}

/**
 * About how many bytes `object` takes in a request: vectors at 4 bytes a
 * dimension, properties by a walk that counts strings and numbers (no
 * serialising on the hot path).
 */
export function estimateBytes(object: WeftObject): number {
  let bytes = 64 + object.id.length;
  if (object.vector) bytes += object.vector.byteLength;
  for (const v of Object.values(object.vectors)) {
    if (Array.isArray(v)) { for (const row of v) bytes += row.byteLength + 8; }
    else bytes += v.byteLength;
  }
  bytes += valueBytes(object.properties, 0);
  if (object.references) {
    for (const refs of Object.values(object.references)) bytes += refs.length * 64;
  }
  return bytes;
}

function valueBytes(value: unknown, depth: number): number {
  if (typeof value === "string") return value.length + 8;
  if (typeof value !== "object" || value === null || depth > 8) return 9;
  let bytes = 2;
  if (Array.isArray(value)) { for (const v of value) bytes += valueBytes(v, depth + 1) + 1; }
  else {
    for (const [k, v] of Object.entries(value)) bytes += k.length + 4 + valueBytes(v, depth + 1);
  }
  return bytes;
}
