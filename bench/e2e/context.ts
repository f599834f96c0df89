/**
 * What the cases of one dataset share: the server, the source collection, a
 * scratch folder, the dumps a restore reads (each made once, untimed), and a
 * pool of full-size collections that restores leave behind for the clear case.
 * @module
 */
import type { Dataset } from "./datasets.ts";
import { seed, type Target } from "./ingest.ts";
import { type Command, diskBytes, measureChild } from "./measure.ts";
import { type BenchServer, countObjects, dropCollection } from "./server.ts";

/** The repository root. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** Settings of the cases. */
export interface CaseSettings {
  /** The venv python with the official client, when the Python cases can run. */
  python: string | undefined;
}

/** A dump or backup a restore reads, with its size. */
export interface Fixture {
  path: string;
  bytes: number;
}

let names = 0;

/** The shared state of one dataset's cases. */
export class CaseContext {
  readonly bench: BenchServer;
  readonly data: Dataset;
  /** The seeded source collection. */
  readonly source: string;
  readonly scratch: string;
  readonly settings: CaseSettings;
  /** Full-size collections left by restores, for the clear case (at most one is kept). */
  readonly spare: string[] = [];
  #fixtures = new Map<string, Promise<Fixture>>();

  constructor(
    bench: BenchServer,
    data: Dataset,
    source: string,
    scratch: string,
    settings: CaseSettings,
  ) {
    this.bench = bench;
    this.data = data;
    this.source = source;
    this.scratch = scratch;
    this.settings = settings;
  }

  /** REST and gRPC addresses of the server. */
  get target(): Target {
    const { url, grpcUrl, apiKey } = this.bench.server;
    return { url, grpcUrl, apiKey };
  }

  /** A collection name not used before in this process (a failed run may leave its own behind). */
  name(prefix: string): string {
    return `E2e${prefix}${++names}`;
  }

  /** A fresh path under the scratch folder. */
  path(prefix: string): string {
    return `${this.scratch}/${prefix}-${++names}`;
  }

  /** Fixture `key` if something asked for it before, without making it. */
  made(key: string): Promise<Fixture> | undefined {
    return this.#fixtures.get(key);
  }

  /**
   * Fixture `key`, made once by running `make(path)`'s command untimed
   * (`path` is where it must land).
   */
  fixture(key: string, make: (path: string) => Command): Promise<Fixture> {
    let fixture = this.#fixtures.get(key);
    if (!fixture) {
      const path = this.path(`fixture-${key}`);
      fixture = measureChild(make(path)).then(async () => ({ path, bytes: await diskBytes(path) }));
      this.#fixtures.set(key, fixture);
    }
    return fixture;
  }

  /** Throws unless `collection` holds the whole dataset. */
  async expectFull(collection: string, what: string): Promise<void> {
    const count = await countObjects(this.bench, collection, this.data.tenants);
    if (count !== this.data.objects) {
      throw new Error(`${what}: ${collection} holds ${count} of ${this.data.objects} objects`);
    }
  }

  /** Keeps a full-size `collection` for the clear case, dropping older ones beyond one. */
  async keep(collection: string): Promise<void> {
    this.spare.push(collection);
    while (this.spare.length > 1) await dropCollection(this.bench, this.spare.shift()!);
  }

  /** A full-size collection to clear: a kept one, or a fresh copy seeded now. */
  async full(): Promise<string> {
    const kept = this.spare.pop();
    if (kept) return kept;
    const name = this.name("Spare");
    await seed(this.target, this.data, name);
    return name;
  }

  /** Drops the kept collections. */
  async close(): Promise<void> {
    for (const name of this.spare.splice(0)) await dropCollection(this.bench, name);
  }
}
