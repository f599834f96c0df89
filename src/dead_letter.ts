/**
 * The dead-letter file: objects a sink refused after every retry, as JSON
 * Lines, with the error and the number of attempts. Each collection's
 * definition (and tenants) comes first, so the file can be fed back through a
 * restore (`dead-letter-reader`).
 *
 * Lines:
 * - `{"type":"collection","collection","definition","tenants"?}` once per collection, before its objects;
 * - `{"type":"object","collection","tenant"?,"error","attempts","object":{"id","properties","vector"?,"vectors"?,"references"?}}`,
 *   vectors as JSON number arrays (exact for float32), multi-vectors as arrays of those.
 * @module
 */
import { dirname } from "node:path";
import { stringifyJson } from "./json.ts";
import type { CollectionMessage, Vector, WeftObject } from "./messages.ts";

/** Marks the format of a dead-letter file's lines. */
export const DEAD_LETTER_FORMAT = "weft-dead-letter";

/** A refused object as a dead-letter line holds it. */
export interface DeadLetterEntry {
  collection: string;
  tenant?: string;
  error: string;
  attempts: number;
  object: WeftObject;
}

/** Appends refused objects to a JSON Lines file, created on the first one. */
export class DeadLetterFile {
  #file: Deno.FsFile | undefined;
  #written = new Set<string>();
  #queue: Promise<void> = Promise.resolve();
  #encoder = new TextEncoder();
  #closed = false;
  /** Objects written so far. */
  count = 0;

  constructor(
    readonly path: string,
    readonly definitionOf: (collection: string) => CollectionMessage | undefined,
  ) {}

  /** Appends `entries`; writes are serialised, so concurrent callers never interleave lines. */
  add(entries: DeadLetterEntry[]): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Error(`Cannot add to dead-letter file ${this.path}: closed`));
    }
    if (entries.length === 0) return this.#queue;
    this.count += entries.length;
    this.#queue = this.#queue.then(() => this.#append(entries));
    return this.#queue;
  }

  async #append(entries: DeadLetterEntry[]): Promise<void> {
    let text = "";
    for (const entry of entries) {
      if (!this.#written.has(entry.collection)) {
        this.#written.add(entry.collection);
        const message = this.definitionOf(entry.collection);
        text += stringifyJson({
          type: "collection",
          format: DEAD_LETTER_FORMAT,
          collection: entry.collection,
          definition: message?.definition ?? { class: entry.collection },
          ...(message?.tenants ? { tenants: message.tenants } : {}),
        }) + "\n";
      }
      text += stringifyJson({
        type: "object",
        collection: entry.collection,
        ...(entry.tenant === undefined ? {} : { tenant: entry.tenant }),
        error: entry.error,
        attempts: entry.attempts,
        object: encodeObject(entry.object),
      }) + "\n";
    }
    if (!this.#file) {
      await Deno.mkdir(dirname(this.path), { recursive: true });
      this.#file = await Deno.open(this.path, { create: true, append: true });
    }
    const bytes = this.#encoder.encode(text);
    for (let at = 0; at < bytes.length;) at += await this.#file.write(bytes.subarray(at));
  }

  /** Flushes and closes the file (if one was made). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue.catch(() => {});
    if (!this.#file) return;
    await this.#file.sync().catch(() => {});
    this.#file.close();
    this.#file = undefined;
  }
}

function encodeObject(object: WeftObject): Record<string, unknown> {
  const vectors = Object.entries(object.vectors);
  return {
    id: object.id,
    properties: object.properties,
    ...(object.vector ? { vector: Array.from(object.vector) } : {}),
    ...(vectors.length
      ? { vectors: Object.fromEntries(vectors.map(([k, v]) => [k, plain(v)])) }
      : {}),
    ...(object.references ? { references: object.references } : {}),
  };
}

function plain(vector: Vector): number[] | number[][] {
  return Array.isArray(vector) ? vector.map((v) => Array.from(v)) : Array.from(vector);
}

/** Reads one `object` line's object back (vectors as float32). */
export function decodeDeadLetterObject(raw: Record<string, unknown>): WeftObject {
  const toVector = (v: unknown): Vector =>
    Array.isArray(v) && Array.isArray(v[0])
      ? (v as number[][]).map((row) => Float32Array.from(row))
      : Float32Array.from(v as number[]);
  const vectors = (raw.vectors ?? {}) as Record<string, unknown>;
  return {
    id: String(raw.id),
    properties: (raw.properties ?? {}) as Record<string, unknown>,
    ...(raw.vector ? { vector: Float32Array.from(raw.vector as number[]) } : {}),
    vectors: Object.fromEntries(Object.entries(vectors).map(([k, v]) => [k, toVector(v)])),
    ...(raw.references
      ? { references: raw.references as NonNullable<WeftObject["references"]> }
      : {}),
  };
}
