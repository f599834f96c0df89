/**
 * Run summary: counted by the runner, printed at the end, written as JSON
 * by sinks that have a place for it.
 * @module
 */
import type { BatchingStats } from "./batching.ts";
import type { CacheStats } from "./cache.ts";
import type { Metrics } from "./plugin.ts";

/** Objects counted for one collection. */
export interface CollectionCount {
  objects: number;
  /** Per tenant, for multi-tenant collections. */
  tenants?: Record<string, number>;
}

/** What a run did. */
export interface RunSummary {
  pipeline: string;
  status: "completed" | "failed" | "cancelled";
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Objects that reached the sink. */
  objects: number;
  /** Bytes the sink wrote (its `bytesWritten` counter). */
  bytes: number;
  /** Retries of any call, and of batches and objects (see `batching`). */
  retries: number;
  /** Objects per second over the whole run. */
  objectsPerSecond: number;
  collections: Record<string, CollectionCount>;
  /** Every counter plugins reported, under the names they gave. */
  counters: Record<string, number>;
  /** Hits and misses of the run's LRU cache. */
  cache: CacheStats;
  /** For a sink whose batches the core made: sizes, requests in flight, latency, failures. */
  batching?: BatchingStats;
  /** Where the output went, when the sink says so. */
  output?: string;
  /** One-line error, for failed runs. */
  error?: string;
}

/** In-memory {@linkcode Metrics}. */
export class Counters implements Metrics {
  #values = new Map<string, number>();

  add(name: string, n = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.#values.get(name) ?? 0;
  }

  /** All counters as a plain object, sorted by name. */
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.#values].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** Objects per collection and tenant, as they reach the sink. */
export class CollectionCounter {
  readonly collections: Record<string, CollectionCount> = {};
  total = 0;

  add(collection: string, tenant: string | undefined, n: number): void {
    const entry = this.collections[collection] ??= { objects: 0 };
    entry.objects += n;
    if (tenant !== undefined) {
      const tenants = entry.tenants ??= {};
      tenants[tenant] = (tenants[tenant] ?? 0) + n;
    }
    this.total += n;
  }

  /** Registers a collection with no objects yet, so empty ones show in the summary. */
  touch(collection: string): void {
    this.collections[collection] ??= { objects: 0 };
  }
}

/** Thousands separated; the formatter is made on first use (making it costs 10–100 ms at start). */
const number = {
  formatter: undefined as Intl.NumberFormat | undefined,
  format(n: number): string {
    return (this.formatter ??= new Intl.NumberFormat("en-US")).format(n);
  },
};

/** Human-readable byte count. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const LABEL = 16;

/** The summary as a few lines for a terminal. */
export function formatSummary(summary: RunSummary): string {
  const lines = [
    `${summary.status === "completed" ? "✔" : "✘"} ${summary.pipeline}: ${summary.status} in ${
      (summary.durationMs / 1000).toFixed(1)
    } s`,
    `  ${"objects".padEnd(LABEL)} ${number.format(summary.objects)} (${
      number.format(Math.round(summary.objectsPerSecond))
    }/s)`,
    ...(summary.bytes > 0 ? [`  ${"bytes".padEnd(LABEL)} ${formatBytes(summary.bytes)}`] : []),
    `  ${"retries".padEnd(LABEL)} ${summary.retries}`,
  ];
  const b = summary.batching;
  if (b) {
    lines.push(
      `  ${"batches".padEnd(LABEL)} ${
        number.format(b.requests)
      } requests, size ${b.size} (max ${b.maxSize}), ${b.concurrency} in flight (max ${b.maxConcurrency}), latency p50 ${b.latencyMs.p50} ms, p95 ${b.latencyMs.p95} ms`,
    );
    if (b.objectFailures || b.retriedRequests) {
      lines.push(
        `  ${"failures".padEnd(LABEL)} ${number.format(b.objectFailures)} per object (${
          number.format(b.retriedObjects)
        } retried), ${number.format(b.retriedRequests)} batches sent again`,
      );
    }
    if (b.deadLettered) {
      lines.push(
        `  ${"dead-lettered".padEnd(LABEL)} ${number.format(b.deadLettered)} objects → ${
          b.deadLetterFile ?? "?"
        }`,
      );
    }
  }
  if (summary.cache.hits || summary.cache.misses) {
    lines.push(
      `  ${"cache".padEnd(LABEL)} ${number.format(summary.cache.hits)} hits, ${
        number.format(summary.cache.misses)
      } misses`,
    );
  }
  for (const [name, value] of Object.entries(summary.counters)) {
    // Shown above as "bytes".
    if (value === 0 || name === "bytesWritten") continue;
    const shown = /^bytes/.test(name) ? formatBytes(value) : number.format(value);
    lines.push(`  ${name.padEnd(LABEL)} ${shown}`);
  }
  for (const [name, count] of Object.entries(summary.collections)) {
    const tenants = count.tenants ? ` in ${Object.keys(count.tenants).length} tenants` : "";
    lines.push(`  ${name}: ${number.format(count.objects)} objects${tenants}`);
  }
  if (summary.output) lines.push(`  ${"output".padEnd(LABEL)} ${summary.output}`);
  if (summary.error) lines.push(`  ${"error".padEnd(LABEL)} ${summary.error}`);
  return lines.join("\n");
}
