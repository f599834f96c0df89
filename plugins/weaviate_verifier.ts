/**
 * `weaviate-verifier`: compares what flows in (a backup, another
 * collection) with what a Weaviate holds: object counts per collection and
 * tenant, tenant status, a content hash per object (properties, vectors
 * bit for bit, references) and, when the source sends `index-stats`, how many
 * objects match index-backed filters (null state, property length). Lists
 * differences by UUID; fails when any exist.
 * @module
 */
import { z } from "zod";
import { IntegrityError, ServerError } from "../src/errors.ts";
import type {
  CollectionMessage,
  IndexStatsMessage,
  Message,
  ObjectsMessage,
  TenantInfo,
} from "../src/messages.ts";
import { definePlugin, type PluginContext } from "../src/plugin.ts";
import {
  countFilters,
  hasIndexStats,
  type IndexCounts,
  indexFilters,
} from "./_shared/index_stats.ts";
import { differingParts, hashObject, type ObjectHash } from "./_shared/object_hash.ts";
import { connectionOptions, connectWeaviate, type WeaviateConnection } from "./_shared/weaviate.ts";
import { activateForRead, tenantsPath } from "./_shared/tenants.ts";
import { isReference } from "./_shared/definition.ts";
import { type ClassDefinition, listObjects } from "./_shared/weaviate_objects.ts";

/** Options of {@linkcode weaviateVerifier}. */
export const weaviateVerifierConfig = z.strictObject({
  ...connectionOptions,
  collection: z.string().optional()
    .describe("Name of the (single) collection in the target, when it differs from the source"),
  tenants: z.record(z.string(), z.string()).default({})
    .describe("Tenant renames, source name → target name"),
  report: z.string().optional().describe("Also write the full report as JSON to this file"),
  maxListed: z.number().int().min(0).default(20).describe("UUIDs listed per kind of difference"),
  vectors: z.boolean().default(true)
    .describe("Compare vectors; false for a copy restored with skipVectors"),
});

/** Parsed options of {@linkcode weaviateVerifier}. */
export type WeaviateVerifierConfig = z.output<typeof weaviateVerifierConfig>;

/** Differences found for one collection. */
export interface CollectionReport {
  source: string;
  target: string;
  sourceObjects: number;
  targetObjects: number;
  /** In the source, not in the target. */
  missing: string[];
  /** In the target, not in the source. */
  unexpected: string[];
  /** In both, with different content. */
  changed: { id: string; parts: string[] }[];
  /** Index-backed counts (e.g. `isNull(title)`) compared, over all tenants. */
  indexCounts: number;
  /** Collection and tenant problems (missing, unexpected, other status, index counts). */
  problems: string[];
  /** Findings that are not differences of the copy (e.g. a stale index at the source). */
  notes: string[];
}

/** The `weaviate-verifier` sink plugin. */
export const weaviateVerifier = definePlugin({
  name: "weaviate-verifier",
  description:
    "Compares incoming collections with a Weaviate: counts, tenants, a content hash per object and index-backed filter counts.",
  kind: "sink",
  config: weaviateVerifierConfig,
  async create(config, ctx) {
    const conn = await connectWeaviate(config, ctx);
    const verifier = new Verifier(conn, config, ctx);
    ctx.setOutput(conn.url);
    return new WritableStream<Message>({
      write: (message) => verifier.write(message),
      close: () => verifier.finish(),
    });
  },
});

/** The filters whose right count follows from the objects themselves, for a reference property. */
const REFERENCE_FILTER = /^(?:isNull\((\w+)\)|len\((\w+)\)[=>]0)$/;
const refProp = (filter: string) => {
  const match = REFERENCE_FILTER.exec(filter)!;
  return match[1] ?? match[2]!;
};

/** A partition of the target: its tenant's name, or "" for a collection without tenants. */
const partitionOf = (tenant: string | undefined) => tenant ?? "";
const key = (tenant: string | undefined, id: string) => `${partitionOf(tenant)}\u0000${id}`;

/** What the verifier holds for one source collection. */
interface CollectionState {
  report: CollectionReport;
  /** Target objects not yet matched; undefined once the next collection began. */
  target: Map<string, ObjectHash> | undefined;
  /** Target index counts by partition, taken while its tenant was readable. */
  indexCounts: Map<string, IndexCounts>;
  /** Partitions missing in the target (reported already), all of them when the collection is. */
  absent: Set<string> | "all";
  /** Partitions with missing, unexpected or changed objects. */
  objectsDiffer: Set<string>;
  /** Source index stats waiting for the collection's objects to be settled. */
  pendingStats: IndexStatsMessage[];
  /** Reference properties of the source definition. */
  refProps: string[];
  /**
   * Per partition, what the source's objects say `isNull(p)`, `len(p)=0` and
   * `len(p)>0` of each reference property must count: the truth a stale index is
   * measured against.
   */
  implied: Map<string, Map<string, number>>;
}

class Verifier {
  #renames = new Map<string, string>();
  #reports: CollectionReport[] = [];
  /** By source collection name. */
  #collections = new Map<string, CollectionState>();
  #open: CollectionState | undefined;

  constructor(
    readonly conn: WeaviateConnection,
    readonly config: WeaviateVerifierConfig,
    readonly ctx: PluginContext,
  ) {}

  async write(message: Message): Promise<void> {
    if (message.type === "collection") await this.#collection(message);
    else if (message.type === "objects") this.#objects(message);
    else if (message.type === "index-stats") this.#indexStats(message);
  }

  async #collection(message: CollectionMessage): Promise<void> {
    this.#close();
    if (this.config.collection && this.#reports.length > 0) {
      throw new Error(
        `Cannot verify: "collection" names one target collection, but the input holds several`,
      );
    }
    const name = this.config.collection ?? message.collection;
    this.#renames.set(message.collection, name);
    const report: CollectionReport = {
      source: message.collection,
      target: name,
      sourceObjects: 0,
      targetObjects: 0,
      missing: [],
      unexpected: [],
      changed: [],
      indexCounts: 0,
      problems: [],
      notes: [],
    };
    this.#reports.push(report);
    const target = new Map<string, ObjectHash>();
    const state: CollectionState = {
      report,
      target,
      indexCounts: new Map(),
      absent: new Set(),
      objectsDiffer: new Set(),
      pendingStats: [],
      refProps: ((message.definition as ClassDefinition).properties ?? [])
        .filter((p) => isReference(p.dataType)).map((p) => p.name),
      implied: new Map(),
    };
    this.#collections.set(message.collection, state);
    this.#open = state;
    let definition: ClassDefinition;
    try {
      definition = await this.ctx.retry(() =>
        this.conn.rest<ClassDefinition>("GET", `/v1/schema/${encodeURIComponent(name)}`)
      );
    } catch (error) {
      if (error instanceof ServerError && error.status === 404) {
        report.problems.push(`collection "${name}" does not exist in the target`);
        state.absent = "all";
        return;
      }
      throw error;
    }
    if (message.schemaOnly) return;
    const page = { pageSize: 500, includeVectors: this.config.vectors };
    // The source's definition says which filters its index stats hold.
    const source = message.definition as ClassDefinition;
    const filters = hasIndexStats(source) ? indexFilters(source) : [];
    const add = async (tenant: string | undefined) => {
      for await (const batch of listObjects(this.conn, definition, tenant, page, this.ctx)) {
        if (batch.type !== "objects") continue;
        for (const o of batch.objects) target.set(key(tenant, o.id), hashObject(o));
        report.targetObjects += batch.objects.length;
      }
      // Counted now: a COLD tenant is active only until its lease is released.
      if (filters.length) {
        state.indexCounts.set(
          partitionOf(tenant),
          await countFilters(this.conn, name, tenant, filters, this.ctx),
        );
      }
    };
    if (!message.tenants) return await add(undefined);
    const path = tenantsPath(name);
    const live = new Map(
      (await this.ctx.retry(() => this.conn.rest<TenantInfo[]>("GET", path)))
        .map((t) => [t.name, t]),
    );
    const expected = new Set<string>();
    for (const tenant of message.tenants) {
      const mapped = this.config.tenants[tenant.name] ?? tenant.name;
      expected.add(mapped);
      const found = live.get(mapped);
      if (!found) {
        report.problems.push(`tenant "${mapped}" is missing`);
        if (state.absent !== "all") state.absent.add(mapped);
        continue;
      }
      if (found.activityStatus !== tenant.activityStatus) {
        report.problems.push(
          `tenant "${mapped}" is ${found.activityStatus}, expected ${tenant.activityStatus}`,
        );
      }
      const lease = await activateForRead(this.conn, name, found, "activate", this.ctx);
      if (lease) {
        await add(mapped);
        await lease.release();
      }
    }
    for (const extra of [...live.keys()].filter((t) => !expected.has(t))) {
      report.problems.push(`tenant "${extra}" is not in the source`);
    }
  }

  #objects(message: ObjectsMessage): void {
    const current = this.#collections.get(message.collection);
    if (!current) {
      throw new Error(`Cannot verify objects of "${message.collection}": no definition`);
    }
    if (!current.target) {
      throw new Error(
        `Cannot verify objects of "${message.collection}": they arrived after the next collection began`,
      );
    }
    const tenant = message.tenant === undefined
      ? undefined
      : this.config.tenants[message.tenant] ?? message.tenant;
    if (current.refProps.length) this.#countReferences(current, tenant, message);
    for (const object of message.objects) {
      current.report.sourceObjects++;
      const k = key(tenant, object.id);
      const found = current.target.get(k);
      if (!found) {
        current.report.missing.push(object.id);
        current.objectsDiffer.add(partitionOf(tenant));
        continue;
      }
      current.target.delete(k);
      const parts = differingParts(hashObject(object, this.#renames), found)
        .filter((part) => this.config.vectors || part !== "vectors");
      if (parts.length) {
        current.report.changed.push({ id: object.id, parts });
        current.objectsDiffer.add(partitionOf(tenant));
      }
    }
  }

  #countReferences(state: CollectionState, tenant: string | undefined, message: ObjectsMessage) {
    const partition = partitionOf(tenant);
    const implied = state.implied.get(partition) ?? new Map<string, number>();
    state.implied.set(partition, implied);
    const add = (key: string) => implied.set(key, (implied.get(key) ?? 0) + 1);
    for (const object of message.objects) {
      for (const prop of state.refProps) {
        const refs = object.references?.[prop];
        // Weaviate 1.39 counts an absent reference property as null and of length 0, and an
        // empty list as neither null nor not null, nor of length 0 or more.
        if (refs === undefined) {
          add(`isNull(${prop})`);
          add(`len(${prop})=0`);
        } else if (refs.length > 0) add(`len(${prop})>0`);
      }
    }
  }

  /**
   * Keeps a source partition's index counts until the collection's objects
   * are settled (its unexpected objects are known only then).
   */
  #indexStats(message: IndexStatsMessage): void {
    const state = this.#collections.get(message.collection);
    if (!state) {
      this.ctx.log.warn(
        `index stats of "${message.collection}" before its definition: not compared`,
      );
      return;
    }
    if (state.target) state.pendingStats.push(message);
    else this.#compareStats(state, message);
  }

  /**
   * Compares a source partition's index counts with the target's. Only where
   * the objects are alike: where they differ, so do the counts, and the
   * objects are listed already.
   */
  #compareStats(state: CollectionState, message: IndexStatsMessage): void {
    const tenant = message.tenant === undefined
      ? undefined
      : this.config.tenants[message.tenant] ?? message.tenant;
    const partition = partitionOf(tenant);
    const where = tenant === undefined ? "" : `tenant "${tenant}": `;
    if (state.absent === "all" || state.absent.has(partition)) return;
    if (state.objectsDiffer.has(partition)) {
      this.ctx.log.info(`${where}index counts not compared: the objects differ`, {
        collection: message.collection,
      });
      return;
    }
    const target = state.indexCounts.get(partition);
    for (const [filter, count] of Object.entries(message.counts)) {
      const found = target?.counts[filter];
      const refused = target?.refused[filter];
      if (found === undefined && refused === undefined) {
        // A filter this version does not count, or a source definition without the index.
        this.ctx.log.warn(`${where}${filter} of "${message.collection}" not counted: not compared`);
        continue;
      }
      state.report.indexCounts++;
      if (found === undefined) {
        state.report.problems.push(
          `${where}${filter} is ${count} in the source; the target cannot count it: ${refused}`,
        );
      } else if (found !== count) {
        const truth = state.implied.get(partition)?.get(filter) ?? 0;
        if (
          REFERENCE_FILTER.test(filter) && state.refProps.includes(refProp(filter)) &&
          found === truth
        ) {
          // The copy is right and the source is not: not a difference of the copy.
          const note =
            `${where}${filter} is ${count} in the source's index but ${found} in the target's, which matches the objects: the source's index is stale (Weaviate does not update it for references added with POST /v1/batch/references)`;
          state.report.notes.push(note);
        } else {
          state.report.problems.push(
            `${where}${filter} is ${count} in the source, ${found} in the target`,
          );
        }
      }
    }
  }

  #close(): void {
    const open = this.#open;
    if (!open?.target) return;
    for (const k of open.target.keys()) {
      const split = k.indexOf("\u0000");
      open.report.unexpected.push(k.slice(split + 1));
      open.objectsDiffer.add(k.slice(0, split));
    }
    open.target = undefined;
    this.#open = undefined;
    for (const message of open.pendingStats.splice(0)) this.#compareStats(open, message);
  }

  async finish(): Promise<void> {
    this.#close();
    let differences = 0;
    const list = (ids: string[]) =>
      ids.slice(0, this.config.maxListed).join(", ") +
      (ids.length > this.config.maxListed ? `, … (${ids.length} in all)` : "");
    for (const r of this.#reports) {
      const n = r.missing.length + r.unexpected.length + r.changed.length + r.problems.length;
      differences += n;
      const names = r.source === r.target ? r.source : `${r.source} → ${r.target}`;
      const counts = `${r.sourceObjects} source objects, ${r.targetObjects} target objects${
        r.indexCounts ? `, ${r.indexCounts} index counts` : ""
      }`;
      for (const note of r.notes) this.ctx.log.warn(`${names}: ${note}`);
      if (n === 0) {
        this.ctx.log.info(`${names}: identical (${counts})`);
        continue;
      }
      this.ctx.log.warn(`${names}: ${n} differences (${counts})`);
      if (r.missing.length) this.ctx.log.warn(`  missing in target: ${list(r.missing)}`);
      if (r.unexpected.length) this.ctx.log.warn(`  only in target: ${list(r.unexpected)}`);
      if (r.changed.length) {
        this.ctx.log.warn(
          `  different: ${list(r.changed.map((c) => `${c.id} (${c.parts.join("+")})`))}`,
        );
      }
      for (const t of r.problems) this.ctx.log.warn(`  ${t}`);
    }
    this.ctx.metrics.add("differences", differences);
    if (this.config.report) {
      await Deno.writeTextFile(
        this.config.report,
        JSON.stringify({ differences, collections: this.#reports }, null, 2) + "\n",
      );
    }
    if (differences > 0) {
      throw new IntegrityError(
        `Cannot confirm the copy: ${differences} differences in ${
          this.#reports.filter((r) =>
            r.missing.length + r.unexpected.length + r.changed.length + r.problems.length
          ).length
        } collection(s)`,
      );
    }
  }
}
