/**
 * The run's LRU cache: bounded by entries and size, with a TTL, shared by all
 * plugins of a run. Keys carry the version of their collection's definition.
 * @module
 */
import { LRUCache } from "lru-cache";
import type { Cache } from "./plugin.ts";

/** Bounds of a {@linkcode RunCache}. */
export interface CacheOptions {
  /** Most entries. Default 10,000. */
  max?: number;
  /** Most total size, in (approximate) bytes. Default 64 MiB. */
  maxSize?: number;
  /** Time an entry lives, in ms. Default 10 minutes. */
  ttl?: number;
}

/** Hits and misses, for the run summary. */
export interface CacheStats {
  hits: number;
  misses: number;
}

/**
 * {@linkcode Cache} on npm:lru-cache. Every key is prefixed with its
 * collection and that collection's definition version, which
 * {@linkcode RunCache.definitionChanged} bumps, so a definition changed
 * mid-run never serves an entry made for the old one.
 *
 * @example
 * ```ts
 * import { RunCache } from "./cache.ts";
 * const cache = new RunCache();
 * cache.set("Docs", "exists", true);
 * cache.definitionChanged("Docs");
 * if (cache.get("Docs", "exists") !== undefined) throw new Error("served a stale entry");
 * ```
 */
export class RunCache implements Cache {
  readonly stats: CacheStats = { hits: 0, misses: 0 };
  #versions = new Map<string, number>();
  #lru: LRUCache<string, NonNullable<unknown>>;
  #loading = new Map<string, Promise<unknown>>();

  constructor(options: CacheOptions = {}) {
    this.#lru = new LRUCache({
      max: options.max ?? 10_000,
      maxSize: options.maxSize ?? 64 * 1024 * 1024,
      sizeCalculation: (value, key) => key.length + sizeOf(value),
      ttl: options.ttl ?? 600_000,
    });
  }

  #key(collection: string, key: string): string {
    return `${collection}\u0000${this.#versions.get(collection) ?? 0}\u0000${key}`;
  }

  get<T>(collection: string, key: string): T | undefined {
    const value = this.#lru.get(this.#key(collection, key));
    if (value === undefined) this.stats.misses++;
    else this.stats.hits++;
    return value as T | undefined;
  }

  set(collection: string, key: string, value: NonNullable<unknown>): void {
    this.#lru.set(this.#key(collection, key), value);
  }

  delete(collection: string, key: string): void {
    this.#lru.delete(this.#key(collection, key));
  }

  async fetch<T extends NonNullable<unknown>>(
    collection: string,
    key: string,
    load: () => Promise<T>,
  ): Promise<T> {
    const full = this.#key(collection, key);
    const cached = this.#lru.get(full);
    if (cached !== undefined) {
      this.stats.hits++;
      return cached as T;
    }
    // Callers asking for the same key at once share one load.
    const pending = this.#loading.get(full);
    if (pending) {
      this.stats.hits++;
      return await pending as T;
    }
    this.stats.misses++;
    const loading = load();
    this.#loading.set(full, loading);
    try {
      const value = await loading;
      // A definition changed while loading: the value belongs to the old one.
      if (this.#key(collection, key) === full) this.#lru.set(full, value);
      return value;
    } finally {
      this.#loading.delete(full);
    }
  }

  definitionChanged(collection: string): void {
    this.#versions.set(collection, (this.#versions.get(collection) ?? 0) + 1);
  }
}

function sizeOf(value: unknown): number {
  if (typeof value === "string") return value.length * 2;
  if (typeof value !== "object" || value === null) return 8;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  try {
    return JSON.stringify(value)?.length ?? 8;
  } catch {
    return 1024;
  }
}
