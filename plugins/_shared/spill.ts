/**
 * What a plugin sets aside and reads back later, held in memory up to a
 * threshold and in a temporary file past it, so that it does not grow in
 * memory with the data: {@linkcode SpillFile} (lines, read back in order) and
 * {@linkcode SpillMap} (key → value, read back once in key order).
 * @module
 */
import { readLines } from "./lines.ts";

/**
 * Memory thresholds past which {@linkcode SpillFile} and {@linkcode SpillMap}
 * write to a temporary file. Internal; tests lower them to spill small data.
 */
export const spillLimits = {
  /** Lines a {@linkcode SpillFile} holds in memory. */
  lines: 100_000,
  /** Bytes (UTF-16 code units) of lines a {@linkcode SpillFile} holds in memory. */
  bytes: 32 * 1024 * 1024,
  /** Entries a {@linkcode SpillMap} holds in memory before writing a sorted run. */
  entries: 25_000,
};

const encoder = new TextEncoder();

/**
 * Lines set aside, read back in order. Held in memory until they pass
 * {@linkcode spillLimits}, then written to a temporary file removed on
 * `close()`.
 */
export class SpillFile {
  #memory: string[] = [];
  #memoryBytes = 0;
  #path: string | undefined;
  #file: Deno.FsFile | undefined;
  #lines = 0;
  #queue: Promise<void> = Promise.resolve();
  #limits: { lines: number; bytes: number };

  constructor(limits: Partial<{ lines: number; bytes: number }> = {}) {
    this.#limits = { lines: spillLimits.lines, bytes: spillLimits.bytes, ...limits };
  }

  /** Number of lines appended so far. */
  get size(): number {
    return this.#lines;
  }

  /** Whether the lines went to a file (they passed the memory threshold). */
  get spilled(): boolean {
    return this.#path !== undefined;
  }

  /**
   * Appends `lines` (a line must not contain a newline). Calls that overlap
   * are kept one after the other, never interleaved.
   */
  append(lines: string[]): Promise<void> {
    if (lines.length === 0) return this.#queue;
    this.#lines += lines.length;
    const done = this.#queue.then(() => this.#append(lines));
    this.#queue = done.catch(() => {});
    return done;
  }

  async #append(lines: string[]): Promise<void> {
    if (!this.#file) {
      this.#memory.push(...lines);
      for (const line of lines) this.#memoryBytes += line.length;
      if (
        this.#memory.length <= this.#limits.lines && this.#memoryBytes <= this.#limits.bytes
      ) return;
      this.#path = await Deno.makeTempFile({ prefix: "weft-spill-" });
      this.#file = await Deno.open(this.#path, { write: true, truncate: true });
      lines = this.#memory;
      this.#memory = [];
      this.#memoryBytes = 0;
    }
    const data = encoder.encode(lines.join("\n") + "\n");
    let written = 0;
    while (written < data.byteLength) written += await this.#file.write(data.subarray(written));
  }

  /** Reads every line back, in the order appended. */
  async *lines(): AsyncGenerator<string> {
    await this.#queue;
    if (!this.#path) {
      yield* this.#memory;
      return;
    }
    yield* readLines(this.#path);
  }

  /** Forgets every line and removes the file. */
  async close(): Promise<void> {
    await this.#queue;
    this.#memory = [];
    this.#memoryBytes = 0;
    this.#file?.close();
    this.#file = undefined;
    if (this.#path) await Deno.remove(this.#path).catch(() => {});
    this.#path = undefined;
  }
}

/**
 * A string → string map for more entries than memory should hold: entries are
 * kept in memory up to {@linkcode spillLimits}`.entries`, then written out as
 * a sorted run to a temporary file. `entries()` merges the runs and yields
 * every key once, in code-unit order, with the value set last. Keys must not
 * contain a tab or a newline, values no newline.
 *
 * @example
 * ```ts
 * import { SpillMap } from "./spill.ts";
 * const map = new SpillMap({ entries: 2 });
 * for (const [k, v] of [["b", "1"], ["a", "2"], ["c", "3"], ["a", "4"]]) await map.set(k!, v!);
 * const all: string[] = [];
 * for await (const [k, v] of map.entries()) all.push(`${k}=${v}`);
 * await map.close();
 * if (all.join() !== "a=4,b=1,c=3") throw new Error(all.join());
 * ```
 */
export class SpillMap {
  #memory = new Map<string, string>();
  #runs: SpillFile[] = [];
  #limit: number;

  constructor(limits: Partial<{ entries: number }> = {}) {
    this.#limit = limits.entries ?? spillLimits.entries;
  }

  /** Entries written so far, a key set twice counted twice once it spilled. */
  get size(): number {
    return this.#memory.size + this.#runs.reduce((n, run) => n + run.size, 0);
  }

  /** Whether some entries went to files. */
  get spilled(): boolean {
    return this.#runs.length > 0;
  }

  /**
   * Sets `key` to `value`; a later set of the same key wins. Returns a
   * promise only when the entries in memory go to a file (wait for it).
   */
  set(key: string, value: string): Promise<void> | undefined {
    this.#memory.set(key, value);
    if (this.#memory.size < this.#limit) return undefined;
    return this.#spill();
  }

  async #spill(): Promise<void> {
    const run = new SpillFile({ lines: 0 });
    await run.append(sorted(this.#memory).map(([k, v]) => `${k}\t${v}`));
    this.#runs.push(run);
    this.#memory = new Map();
  }

  /** Every key once, in code-unit order, with its last value. Read it once, then `close()`. */
  async *entries(): AsyncGenerator<[string, string]> {
    const sources = [...this.#runs.map(parsed), fromArray(sorted(this.#memory))];
    // Later sources (higher index) hold later values.
    const heads: { key: string; value: string; source: number }[] = [];
    const pull = async (source: number) => {
      const next = await sources[source]!.next();
      if (!next.done) push(heads, { key: next.value[0], value: next.value[1], source });
    };
    for (let i = 0; i < sources.length; i++) await pull(i);
    while (heads.length) {
      const first = pop(heads);
      let { value, source } = first;
      await pull(first.source);
      while (heads.length && heads[0]!.key === first.key) {
        const same = pop(heads);
        if (same.source > source) ({ value, source } = same);
        await pull(same.source);
      }
      yield [first.key, value];
    }
  }

  /** Forgets every entry and removes the files. */
  async close(): Promise<void> {
    this.#memory = new Map();
    for (const run of this.#runs.splice(0)) await run.close();
  }
}

function sorted(map: Map<string, string>): [string, string][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function* parsed(run: SpillFile): AsyncGenerator<[string, string]> {
  for await (const line of run.lines()) {
    const tab = line.indexOf("\t");
    yield [line.slice(0, tab), line.slice(tab + 1)];
  }
}

/** A binary min-heap by `key`, then `source`: the merge of the sorted runs. */
type Head = { key: string; value: string; source: number };

function less(a: Head, b: Head): boolean {
  return a.key < b.key || (a.key === b.key && a.source < b.source);
}

function push(heap: Head[], item: Head): void {
  heap.push(item);
  for (let i = heap.length - 1; i > 0;) {
    const parent = (i - 1) >> 1;
    if (!less(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function pop(heap: Head[]): Head {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  heap[0] = last;
  for (let i = 0;;) {
    const l = 2 * i + 1, r = l + 1;
    let min = i;
    if (l < heap.length && less(heap[l]!, heap[min]!)) min = l;
    if (r < heap.length && less(heap[r]!, heap[min]!)) min = r;
    if (min === i) break;
    [heap[i], heap[min]] = [heap[min]!, heap[i]!];
    i = min;
  }
  return top;
}
