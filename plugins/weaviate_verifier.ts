/**
 * `weaviate-verifier`: compares what flows in (a backup, another
 * collection) with what a Weaviate holds: object counts per collection and
 * tenant, tenant status, a content hash per object (properties, vectors
 * bit for bit, references) and, when the source sends `index-stats`, how many
 * objects match index-backed filters (null state, property length). Lists
 * differences by UUID; fails when any exist.
 *
 * State is kept per partition (a collection, or one tenant): partitions may
 * arrive interleaved. A partition's target objects are read (hashed) when it
 * starts and what is left of them when it ends is unexpected, so memory holds
 * the target partitions open at once, not whole collections. Target
 * partitions the source sends nothing of are read at the end.
 * @module
 */
import { z } from "zod";
import { IntegrityError, ServerError } from "../src/errors.ts";
import {
  type CollectionMessage,
  type IndexStatsMessage,
  type Message,
  type ObjectsMessage,
  type PartitionEndMessage,
  partitionKey,
  type TenantInfo,
} from "../src/messages.ts";
import { definePlugin, type PluginContext } from "../src/plugin.ts";
import {
  countFilters,
  hasIndexStats,
  type IndexCounts,
  type IndexFilter,
  indexFilters,
} from "./_shared/index_stats.ts";
import { differingParts, hashObject, type ObjectHash } from "./_shared/object_hash.ts";
import { connectionOptions, connectWeaviate, type WeaviateConnection } from "./_shared/weaviate.ts";
import { activateForRead, listTenants, type TenantLease } from "./_shared/tenants.ts";
import { isReference } from "./_shared/definition.ts";
import { type ClassDefinition, listObjects, readDefinition } from "./_shared/weaviate_objects.ts";

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

/** What the verifier holds for one source collection. */
interface CollectionState {
  report: CollectionReport;
  /** The target's definition; undefined when the target has no such collection. */
  definition: ClassDefinition | undefined;
  schemaOnly: boolean;
  /** The target's tenants by name, for a multi-tenant collection. */
  live: Map<string, TenantInfo> | undefined;
  /** Target partitions the source announced and the target has: each is compared, sent or not. */
  expected: Set<string>;
  /** Target partitions read already. */
  read: Set<string>;
  /** Filters the source's index stats hold (from its definition). */
  filters: IndexFilter[];
  /** Target index counts by partition, taken while its tenant was readable. */
  indexCounts: Map<string, IndexCounts>;
  /** Partitions missing in the target (reported already), all of them when the collection is. */
  absent: Set<string> | "all";
  /** Partitions with missing, unexpected or changed objects. */
  objectsDiffer: Set<string>;
  /** Reference properties of the source definition. */
  refProps: string[];
  /**
   * Per partition, what the source's objects say `isNull(p)`, `len(p)=0` and
   * `len(p)>0` of each reference property must count: the truth a stale index is
   * measured against.
   */
  implied: Map<string, Map<string, number>>;
}

/** One source partition being compared with its target partition. */
interface PartitionState {
  collection: CollectionState;
  /** The target tenant (renamed), or undefined. */
  tenant: string | undefined;
  /** Target objects not yet matched. */
  target: Map<string, ObjectHash>;
  /** Source index stats waiting for the partition's objects to be settled. */
  pendingStats: IndexStatsMessage[];
  /**
   * Opened by `partition-start`, so it ends with `partition-end`; otherwise
   * (a source that does not frame partitions) it ends when the next
   * collection begins.
   */
  framed: boolean;
}

class Verifier {
  #renames = new Map<string, string>();
  #reports: CollectionReport[] = [];
  /** By source collection name. */
  #collections = new Map<string, CollectionState>();
  /** Open partitions by source partition key; several at once when the source interleaves them. */
  #open = new Map<string, PartitionState>();
  /** Source partitions already settled. */
  #settled = new Set<string>();

  constructor(
    readonly conn: WeaviateConnection,
    readonly config: WeaviateVerifierConfig,
    readonly ctx: PluginContext,
  ) {}

  async write(message: Message): Promise<void> {
    switch (message.type) {
      case "collection":
        return await this.#collection(message);
      case "partition-start":
        await this.#partition(message.collection, message.tenant, true);
        return;
      case "objects":
        return this.#objects(await this.#partition(message.collection, message.tenant), message);
      case "index-stats":
        return await this.#indexStats(message);
      case "partition-end":
        return await this.#partitionEnd(message);
    }
  }

  async #collection(message: CollectionMessage): Promise<void> {
    // A source that does not frame partitions sends one collection after the other.
    for (const [key, open] of this.#open) if (!open.framed) this.#settle(key, open);
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
    // The source's definition says which filters its index stats hold.
    const source = message.definition as ClassDefinition;
    const state: CollectionState = {
      report,
      definition: undefined,
      schemaOnly: message.schemaOnly === true,
      live: undefined,
      expected: new Set(),
      read: new Set(),
      filters: hasIndexStats(source) ? indexFilters(source) : [],
      indexCounts: new Map(),
      absent: new Set(),
      objectsDiffer: new Set(),
      refProps: (source.properties ?? []).filter((p) => isReference(p.dataType)).map((p) => p.name),
      implied: new Map(),
    };
    this.#collections.set(message.collection, state);
    try {
      state.definition = await readDefinition(this.conn, name, this.ctx);
    } catch (error) {
      if (error instanceof ServerError && error.status === 404) {
        report.problems.push(`collection "${name}" does not exist in the target`);
        state.absent = "all";
        return;
      }
      throw error;
    }
    if (state.schemaOnly) return;
    if (!message.tenants) {
      state.expected.add(partitionOf(undefined));
      return;
    }
    state.live = new Map(
      (await listTenants(this.conn, name, this.ctx)).map((t) => [t.name, t]),
    );
    const announced = new Set<string>();
    for (const tenant of message.tenants) {
      const mapped = this.#targetTenant(tenant.name)!;
      announced.add(mapped);
      const found = state.live.get(mapped);
      if (!found) {
        report.problems.push(`tenant "${mapped}" is missing`);
        (state.absent as Set<string>).add(mapped);
        continue;
      }
      state.expected.add(mapped);
      if (found.activityStatus !== tenant.activityStatus) {
        report.problems.push(
          `tenant "${mapped}" is ${found.activityStatus}, expected ${tenant.activityStatus}`,
        );
      }
    }
    for (const extra of [...state.live.keys()].filter((t) => !announced.has(t))) {
      report.problems.push(`tenant "${extra}" is not in the source`);
    }
  }

  #targetTenant(tenant: string | undefined): string | undefined {
    return tenant === undefined ? undefined : this.config.tenants[tenant] ?? tenant;
  }

  /** The open partition of `collection` and `tenant`; opening it reads its target objects. */
  async #partition(
    collection: string,
    sourceTenant: string | undefined,
    framed = false,
  ): Promise<PartitionState> {
    const key = partitionKey(collection, sourceTenant);
    const open = this.#open.get(key);
    if (open) {
      if (framed) open.framed = true;
      return open;
    }
    const state = this.#collections.get(collection);
    if (!state) throw new Error(`Cannot verify partition "${key}": no definition came first`);
    if (this.#settled.has(key)) {
      throw new Error(`Cannot verify partition "${key}": it continued after it ended`);
    }
    const partition: PartitionState = {
      collection: state,
      tenant: this.#targetTenant(sourceTenant),
      target: new Map(),
      pendingStats: [],
      framed,
    };
    this.#open.set(key, partition);
    await this.#readTarget(partition);
    return partition;
  }

  /** Reads the target partition's objects (hashed) and, when the source has index stats, its counts. */
  async #readTarget(partition: PartitionState): Promise<void> {
    const { collection: state, tenant } = partition;
    const part = partitionOf(tenant);
    state.read.add(part);
    const definition = state.definition;
    if (!definition || state.schemaOnly || state.absent === "all" || state.absent.has(part)) {
      return;
    }
    let lease: TenantLease | undefined;
    if (state.live) {
      // No tenant (e.g. stats of a whole multi-tenant collection), or neither
      // announced by the source nor in the target: nothing to read.
      const found = tenant === undefined ? undefined : state.live.get(tenant);
      if (!found) return;
      lease = await activateForRead(this.conn, definition.class, found, "activate", this.ctx);
    }
    try {
      const page = { pageSize: 500, includeVectors: this.config.vectors };
      for await (const batch of listObjects(this.conn, definition, tenant, page, this.ctx)) {
        if (batch.type !== "objects") continue;
        for (const o of batch.objects) partition.target.set(o.id, hashObject(o));
        state.report.targetObjects += batch.objects.length;
      }
      // Counted now: a COLD tenant is active only until its lease is released.
      if (state.filters.length) {
        state.indexCounts.set(
          part,
          await countFilters(this.conn, definition.class, tenant, state.filters, this.ctx),
        );
      }
    } finally {
      await lease?.release();
    }
  }

  #objects(partition: PartitionState, message: ObjectsMessage): void {
    const { collection: state } = partition;
    const part = partitionOf(partition.tenant);
    if (state.refProps.length) this.#countReferences(state, part, message);
    for (const object of message.objects) {
      state.report.sourceObjects++;
      const found = partition.target.get(object.id);
      if (!found) {
        state.report.missing.push(object.id);
        state.objectsDiffer.add(part);
        continue;
      }
      partition.target.delete(object.id);
      const parts = differingParts(hashObject(object, this.#renames), found)
        .filter((p) => this.config.vectors || p !== "vectors");
      if (parts.length) {
        state.report.changed.push({ id: object.id, parts });
        state.objectsDiffer.add(part);
      }
    }
  }

  async #partitionEnd(message: PartitionEndMessage): Promise<void> {
    const key = partitionKey(message.collection, message.tenant);
    if (this.#settled.has(key)) return;
    // An empty partition may end without having started.
    this.#settle(key, await this.#partition(message.collection, message.tenant, true));
  }

  /** The partition's objects are all in: what is left in the target is unexpected. */
  #settle(key: string | undefined, partition: PartitionState): void {
    if (key !== undefined) {
      this.#open.delete(key);
      this.#settled.add(key);
    }
    const { collection: state } = partition;
    const part = partitionOf(partition.tenant);
    for (const id of partition.target.keys()) {
      state.report.unexpected.push(id);
      state.objectsDiffer.add(part);
    }
    partition.target.clear();
    for (const message of partition.pendingStats.splice(0)) this.#compareStats(state, message);
  }

  #countReferences(state: CollectionState, partition: string, message: ObjectsMessage) {
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

  /** Keeps a source partition's index counts until its objects are settled. */
  async #indexStats(message: IndexStatsMessage): Promise<void> {
    const state = this.#collections.get(message.collection);
    if (!state) {
      this.ctx.log.warn(
        `index stats of "${message.collection}" before its definition: not compared`,
      );
      return;
    }
    const key = partitionKey(message.collection, message.tenant);
    if (this.#settled.has(key)) return this.#compareStats(state, message);
    // A partition without objects may be opened by its stats alone.
    (await this.#partition(message.collection, message.tenant)).pendingStats.push(message);
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

  async finish(): Promise<void> {
    for (const [key, open] of this.#open) this.#settle(key, open);
    // Target partitions the source sent nothing of: every object there is unexpected.
    for (const state of this.#collections.values()) {
      for (const part of state.expected) {
        if (state.read.has(part)) continue;
        const partition: PartitionState = {
          collection: state,
          tenant: part === "" ? undefined : part,
          target: new Map(),
          pendingStats: [],
          framed: true,
        };
        await this.#readTarget(partition);
        this.#settle(undefined, partition);
      }
    }
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
