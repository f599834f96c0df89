/**
 * The plugin API: a plugin is a typed declaration; the runner does the
 * orchestration (wiring, error tagging, cleanup, counting).
 * @module
 */
import type { z } from "zod";
import type { Logger } from "./logger.ts";
import type { DeadLetterEntry } from "./dead_letter.ts";
import type { Message, WeftObject } from "./messages.ts";
import type { RetryOptions } from "./retry.ts";
import type { RunSummary } from "./summary.ts";

/** What a plugin produces or consumes. */
export type PluginKind = "source" | "transform" | "sink";

/** Counters a plugin reports; they end up in the run summary. */
export interface Metrics {
  /** Adds `n` to counter `name`. */
  add(name: string, n?: number): void;
  /** Current value of counter `name`. */
  get(name: string): number;
}

/** A destructive step asking to go ahead. */
export interface ConfirmRequest {
  /** What will happen, e.g. `Delete 1,200 objects of "Articles"`. */
  action: string;
  /** What a person must type to confirm, e.g. the collection name. */
  expect: string;
}

/**
 * The run's LRU cache ({@linkcode PluginContext.cache}). Entries of a
 * collection are keyed with the version of its definition: after
 * {@linkcode Cache.definitionChanged} none of its old entries is served.
 */
export interface Cache {
  /** The cached value for `key` of `collection`, or what `load` returns (then cached). */
  fetch<T extends NonNullable<unknown>>(
    collection: string,
    key: string,
    load: () => Promise<T>,
  ): Promise<T>;
  /** The cached value, if any (counts a hit or a miss). */
  get<T>(collection: string, key: string): T | undefined;
  /** Caches `value` for `key` of `collection`. */
  set(collection: string, key: string, value: NonNullable<unknown>): void;
  /** Drops one entry (after a write that changed what it held). */
  delete(collection: string, key: string): void;
  /** `collection` got a new definition: none of its earlier entries is served again. */
  definitionChanged(collection: string): void;
}

/** The run's feature flags ({@linkcode PluginContext.flags}). */
export interface Flags {
  /** Whether flag `name` is on for this run; an unknown name throws a `TypeError`. */
  enabled(name: string): boolean;
}

/** What one object of a batch came to ({@linkcode BatchSink.writeBatch}). */
export type ObjectOutcome =
  /** Written. */
  | undefined
  /** The sink took it over and reports it later through {@linkcode PluginContext.acknowledge}. */
  | "deferred"
  /** Refused; retried alone (without the rest of its batch) unless `retryable` is false. */
  | { error: string; retryable?: boolean };

/** A batch of one partition's objects, as the core hands it to {@linkcode BatchSink.writeBatch}. */
export interface Batch {
  partition: string;
  collection: string;
  tenant?: string;
  objects: WeftObject[];
}

/** What a {@linkcode BatchSink} can take in one request. */
export interface BatchLimits {
  /** Most objects in one batch. */
  maxObjects: number;
  /** Most bytes in one request (e.g. the server's gRPC message limit). */
  maxBytes: number;
  /** Whether writing the same object twice is harmless, so a failed batch may be sent again. */
  idempotent: boolean;
}

/** What a {@linkcode BatchSink} may still do while it closes. */
export interface SinkClosing {
  /**
   * Gives up on objects the sink took over (`"deferred"`) and could not
   * write: they go to the run's dead-letter file, and the run fails with
   * them as with any other refused object.
   */
  deadLetter(entries: DeadLetterEntry[]): Promise<void>;
}

/**
 * A sink that writes to a server returns this from `create` instead of a
 * `WritableStream`; the core then owns batching: it re-batches objects by
 * count and bytes, adapts batch size and requests in flight to measured
 * latency and errors, retries only the objects that failed, and writes those
 * that keep failing to a dead-letter file.
 */
export interface BatchSink {
  limits: BatchLimits;
  /**
   * Every message that is not `objects`, in stream order. A `partition-end`
   * arrives once every object of that partition has been written (or given up).
   */
  write?(message: Message): void | Promise<void>;
  /**
   * Writes `batch`; resolves with one outcome per object, in order. Throwing
   * fails the whole batch: it is sent again when the error is transient and
   * the sink idempotent, otherwise the run fails.
   */
  writeBatch(batch: Batch, signal: AbortSignal): Promise<ObjectOutcome[]>;
  /** The stream ended and every batch is written; objects the sink took over may still be given up. */
  close?(closing: SinkClosing): void | Promise<void>;
  /** The run failed or was cancelled. */
  abort?(reason: unknown): void | Promise<void>;
}

/** What the runner hands every plugin. */
export interface PluginContext {
  /** Aborts when the run is cancelled or fails. */
  readonly signal: AbortSignal;
  /** Logger tagged with the plugin and step. */
  readonly log: Logger;
  /** Step id in the pipeline (`source`, `sink`, `transforms[0]` or the step's `id`). */
  readonly step: string;
  /** Name of the pipeline. */
  readonly pipeline: string;
  /** Directory that relative paths in the pipeline are resolved against. */
  readonly cwd: string;
  /** Counters for the run summary. */
  readonly metrics: Metrics;
  /** The run's LRU cache, shared by all plugins. */
  readonly cache: Cache;
  /** The run's feature flags. */
  readonly flags: Flags;
  /** Partitions a source reads at once (`runtime.concurrency`; 1 when parallel partitions are off). */
  readonly concurrency: number;
  /** Calls `fn` with the run's retry policy (merged with `overrides`); retries are counted. */
  retry<T>(
    fn: (signal: AbortSignal, attempt: number) => Promise<T>,
    overrides?: RetryOptions,
  ): Promise<T>;
  /** Registers a cleanup; cleanups run in reverse order when the run ends, however it ends. */
  onClose(fn: () => void | Promise<void>): void;
  /** Registers a callback that receives the summary of a successful run. */
  onComplete(fn: (summary: RunSummary) => void | Promise<void>): void;
  /** Marks a value as secret: it is masked in logs and errors. */
  secret(value: string | undefined): void;
  /**
   * A sink declared with `acknowledges: true` reports `n` objects of
   * `collection` (and `tenant`) as written; they are what the summary counts.
   */
  acknowledge(collection: string, tenant: string | undefined, n: number): void;
  /** Tells the runner where the output went (a directory, a URL); shown in the summary. */
  setOutput(location: string): void;
  /**
   * Asks to go ahead with a destructive step. Resolves false unless the run was
   * confirmed (`--yes`) or a person typed `request.expect` at a terminal.
   */
  confirm(request: ConfirmRequest): Promise<boolean>;
}

/** The stream a plugin of kind `K` creates. */
export type StreamOf<K extends PluginKind, T = Message> = K extends "source" ? ReadableStream<T>
  : K extends "transform" ? TransformStream<T, T>
  : WritableStream<T> | BatchSink;

/** A plugin declaration. */
export interface Plugin<K extends PluginKind = PluginKind, C = unknown> {
  /** Kebab-case name used in pipeline files (`use: weaviate-reader`). */
  name: string;
  /** What the plugin does, in one sentence. */
  description: string;
  kind: K;
  /** Options schema; every option documented with `.describe()`. */
  config: z.ZodType<C, unknown>;
  /**
   * For a sink that writes asynchronously: it reports objects through
   * {@linkcode PluginContext.acknowledge} once the target has confirmed them,
   * and the run summary counts those, not the objects handed to it.
   */
  acknowledges?: boolean;
  /** Creates the plugin's stream for one run. */
  create(config: C, ctx: PluginContext): StreamOf<K> | Promise<StreamOf<K>>;
}

/** Any plugin, whatever its config type. */
// deno-lint-ignore no-explicit-any
export type AnyPlugin = Plugin<PluginKind, any>;

/**
 * Declares a plugin; the identity function, there for type inference.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { definePlugin } from "../mod.ts";
 * const upper = definePlugin({
 *   name: "count-objects",
 *   description: "Counts objects that pass through.",
 *   kind: "transform",
 *   config: z.strictObject({}),
 *   create: (_config, ctx) =>
 *     new TransformStream({
 *       transform(message, controller) {
 *         if (message.type === "objects") ctx.metrics.add("seen", message.objects.length);
 *         controller.enqueue(message);
 *       },
 *     }),
 * });
 * if (upper.kind !== "transform") throw new Error("unexpected kind");
 * ```
 */
export function definePlugin<K extends PluginKind, C>(plugin: Plugin<K, C>): Plugin<K, C> {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(plugin.name)) {
    throw new TypeError(`Cannot define plugin: name "${plugin.name}" is not kebab-case`);
  }
  return plugin;
}
