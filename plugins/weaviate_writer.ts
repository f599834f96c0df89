/**
 * `weaviate-writer`: creates collections from their definitions (optionally
 * renamed), creates tenants with their activity status, inserts objects with
 * their UUIDs, every vector and their cross-references (inside the object's
 * own insert: Weaviate accepts references to objects not written yet, and
 * indexes them like any property), then checks what it wrote.
 * @module
 */
import { z } from "zod";
import { messageOf, ServerError } from "../src/errors.ts";
import type {
  CollectionMessage,
  Message,
  ObjectsMessage,
  TenantInfo,
  WeftObject,
} from "../src/messages.ts";
import { definePlugin, type PluginContext } from "../src/plugin.ts";
import { optionalString } from "../src/units.ts";
import {
  applyOverrides,
  type Definition,
  isReference,
  olderThan,
  prepareDefinition,
} from "./_shared/definition.ts";
import { type BatchFailure, GrpcBatcher } from "./_shared/grpc_batch.ts";
import { hashObject } from "./_shared/object_hash.ts";
import { isActive, isCold, putTenantStatus, tenantsPath } from "./_shared/tenants.ts";
import { connectionOptions, connectWeaviate, type WeaviateConnection } from "./_shared/weaviate.ts";
import { pointAlias, restoreAlias } from "./_shared/aliases.ts";
import { checkContents, checkCounts } from "./_shared/copy_checks.ts";
import { WritePlan } from "./_shared/write_plan.ts";
import { decodeObject, encodeObject } from "./_shared/backup_format.ts";
import { stringifyJson } from "./_shared/json.ts";
import { SpillFile } from "./_shared/spill.ts";

/** Options of {@linkcode weaviateWriter}. */
export const weaviateWriterConfig = z.strictObject({
  ...connectionOptions,
  collection: optionalString().pipe(
    z.string().regex(
      /^[A-Z][_0-9A-Za-z]*$/,
      "expected a collection name (GraphQL style, capitalised)",
    )
      .optional(),
  ).describe("Restore the (single) collection under this name"),
  tenants: z.record(z.string(), z.string()).default({})
    .describe("Tenant renames, source name → target name"),
  mode: z.enum(["fail", "skip-existing", "overwrite", "replace"]).default("fail")
    .describe(
      "When the target collection exists: fail; skip-existing (insert only new UUIDs); overwrite (upsert by UUID); replace (drop and recreate, needs confirm: true)",
    ),
  confirm: z.boolean().default(false).describe(
    "Confirms mode: replace, which deletes the target's objects",
  ),
  skipVectors: z.boolean().default(false)
    .describe("Insert without vectors (the target's vectorizer makes new ones)"),
  forceSchema: z.boolean().default(false)
    .describe(
      "Drop settings the target server cannot take (e.g. a module it lacks) and report them",
    ),
  concurrency: z.number().int().min(1).max(32).default(2).describe("Batch requests in flight"),
  protocol: z.enum(["grpc", "rest"]).default("grpc")
    .describe("Insert objects over gRPC (BatchObjects) or the REST batch endpoint"),
  overrides: z.record(z.string(), z.unknown()).default({})
    .describe(
      "Changes to the definition before creating the collection (merged; properties by name; null removes a key), e.g. a new vector index type",
    ),
  alias: optionalString()
    .describe(
      "Point this alias at the (single) written collection once the copy checks out (see check)",
    ),
  restoreAliases: z.boolean().default(true)
    .describe(
      "Create the aliases recorded with a collection where the target lacks them (never moves an existing one; not for renamed collections)",
    ),
  danglingReferences: z.enum(["fail", "drop"]).default("fail")
    .describe(
      "References whose target object is not in the copy (deleted at the source, where Weaviate keeps them, or refused): always left out and logged; fail the run at the end (after writing everything else), or drop them",
    ),
  check: z.enum(["counts", "content"]).optional()
    .describe(
      "After writing: compare object counts, or also read every written object back and compare its content hash; default content with alias, else counts",
    ),
});

/** Parsed options of {@linkcode weaviateWriter}. */
export type WeaviateWriterConfig = z.output<typeof weaviateWriterConfig>;

/** The `weaviate-writer` sink plugin. */
export const weaviateWriter = definePlugin({
  name: "weaviate-writer",
  description:
    "Creates collections and tenants, inserts objects with all vectors and references, checks the copy.",
  kind: "sink",
  config: weaviateWriterConfig,
  acknowledges: true,
  async create(config, ctx) {
    const conn = await connectWeaviate(config, ctx);
    const meta = await ctx.retry(() =>
      conn.rest<{ modules?: Record<string, unknown>; grpcMaxMessageSize?: number }>(
        "GET",
        "/v1/meta",
      )
    );
    if (config.protocol === "grpc" && olderThan(conn.version, GRPC_FROM)) {
      // Older servers ignore the vector fields weft sends over gRPC.
      ctx.log.warn(`Weaviate ${conn.version} predates ${GRPC_FROM}: inserting over REST`);
      config = { ...config, protocol: "rest" };
    }
    const nodes = await ctx.retry(() => conn.rest<{ nodes?: unknown[] }>("GET", "/v1/nodes"))
      .then((r) => r.nodes?.length || undefined);
    const writer = new Writer(
      conn,
      {
        modules: new Set(Object.keys(meta.modules ?? {})),
        nodes,
        grpcMax: meta.grpcMaxMessageSize,
      },
      config,
      ctx,
    );
    await writer.open();
    ctx.setOutput(conn.url);
    // However the run stops early, say what it left behind before the error surfaces.
    const stopped = async (error: unknown): Promise<never> => {
      await writer.interrupted(error);
      throw error;
    };
    return new WritableStream<Message>({
      write: (message) => writer.write(message).catch(stopped),
      close: () => writer.finish().catch(stopped),
      abort: (reason) => writer.interrupted(reason),
    });
  },
});

interface Target {
  name: string;
  /** The name at the source (the run summary counts by it). */
  source: string;
  /** References and integer handling for this collection's objects. */
  plan: WritePlan;
  /** Target tenant name → status recorded at the source, set once loading is done. */
  finalStatus: Map<string, string>;
  /** Whether the recorded statuses were set (by finish, or by the cleanup of a failed run). */
  statusSet?: Promise<void>;
  skipExisting: boolean;
  /** Whether objects may have been there before this run (counts can only grow). */
  preexisting: boolean;
  /** Objects received per target tenant ("" without tenants). */
  received: Map<string, number>;
  /** Objects the target confirmed, per target tenant ("" without tenants). */
  written: Map<string, number>;
  /** Objects the target refused, per target tenant ("" without tenants). */
  refused: Map<string, number>;
  /** With `check: content`: target tenant ("" without) → UUID → content hash of what was sent. */
  hashes: Map<string, Map<string, string>>;
  /** Aliases recorded at the source, to create once the copy checks out. */
  aliases: string[];
}

const schemaPath = (name: string) => `/v1/schema/${encodeURIComponent(name)}`;
/** How long the gRPC port may take to answer before the run fails, writing nothing. */
const GRPC_CONNECT_MS = 10_000;
/** First version whose gRPC batch takes named vectors (older ones drop them silently). */
const GRPC_FROM = "1.24.0";

/** A refused object, as reported. */
interface Refusal {
  collection: string;
  tenant: string | undefined;
  id: string;
  error: string;
}

/** Weaviate's answer to a reference whose target object does not exist (yet). */
const MISSING_TARGET = /'cref' .*no object with id (\S+) found/;
/** How often an object is written again, each time without one more missing reference target. */
const MAX_DROP_ROUNDS = 16;
/** Objects per request when the set-aside objects are written. */
const DEFERRED_BATCH = 200;

/** Refused objects listed one by one in the log; the rest are counted. */
const LISTED_REFUSALS = 20;

class Writer {
  #renames = new Map<string, string>();
  #targets = new Map<string, Target>();
  #inFlight = new Set<Promise<void>>();
  #failure: unknown;
  #grpc: GrpcBatcher | undefined;
  #refusals: Refusal[] = [];
  #refusedTotal = 0;
  #dropped: string[] = [];
  #droppedTotal = 0;
  #reported = false;
  #deferred = new SpillFile();
  /** Target name → source definition, for every collection the input announced. */
  #planned = new Map<string, Definition>();
  /** Whether each announced collection existed on the target when the run began (checked once). */
  #existedAtStart = new Map<string, boolean>();
  #created = new Set<string>();
  #creating = new Set<string>();
  #laterProperties: {
    collection: string;
    property: NonNullable<Definition["properties"]>[number];
    targets: string[];
  }[] = [];

  constructor(
    readonly conn: WeaviateConnection,
    readonly server: {
      modules: Set<string>;
      nodes: number | undefined;
      grpcMax: number | undefined;
    },
    readonly config: WeaviateWriterConfig,
    readonly ctx: PluginContext,
  ) {
    ctx.onClose(() => this.#deferred.close());
  }

  /** Connects what the run will need before anything is written. */
  async open(): Promise<void> {
    if (this.config.protocol !== "grpc") return;
    const batcher = new GrpcBatcher(this.conn.grpcAddress, this.config, this.server.grpcMax);
    this.ctx.onClose(() => batcher.close());
    await batcher.ready(GRPC_CONNECT_MS);
    this.#grpc = batcher;
  }

  async write(message: Message): Promise<void> {
    this.#throwIfFailed();
    if (message.type === "source-info" && message.definitions) {
      await this.#precheck(message.definitions as Definition[]);
    } else if (message.type === "collection") await this.#collection(message);
    else if (message.type === "objects") await this.#objects(message);
  }

  /**
   * Checks every definition the source announced before anything is written,
   * and reports every problem at once: a run that would stop at its third
   * collection stops before the first.
   */
  async #precheck(definitions: Definition[]): Promise<void> {
    const problems: string[] = [];
    const rename = this.#renameProblem(definitions.map((d) => d.class));
    if (rename) problems.push(rename);
    const renames = new Map(
      definitions.map((d) => [d.class, this.config.collection ?? d.class] as const),
    );
    for (const source of definitions) {
      const name = renames.get(source.class)!;
      try {
        this.#prepare(source, name, renames);
      } catch (error) {
        problems.push(messageOf(error).replace(/^Cannot create collection /, "collection "));
      }
      const exists = await this.#exists(schemaPath(name));
      this.#existedAtStart.set(name, exists);
      const refused = this.#modeProblem(name, exists);
      if (refused) problems.push(refused);
    }
    if (problems.length) {
      throw new Error(
        `Cannot write to ${this.conn.url}, nothing was written: ${problems.join("; ")}`,
      );
    }
    for (const source of definitions) {
      const name = renames.get(source.class)!;
      this.#renames.set(source.class, name);
      this.#planned.set(name, source);
    }
  }

  /**
   * Creates collection `name`, after the collections of this run that its
   * references point at (Weaviate refuses a reference to a collection it does
   * not hold). In a cycle, the reference that closes it is added once its
   * target exists.
   */
  async #create(name: string, definition: Definition): Promise<void> {
    if (this.#created.has(name)) return;
    this.#creating.add(name);
    const now: Definition["properties"] = [];
    for (const property of definition.properties ?? []) {
      const targets = isReference(property.dataType)
        ? property.dataType.filter((t) => t !== name)
        : [];
      if (targets.some((t) => this.#creating.has(t))) {
        this.#laterProperties.push({ collection: name, property, targets });
        continue;
      }
      for (const target of targets) await this.#createDependency(target, name, property.name);
      now.push(property);
    }
    await this.ctx.retry(() =>
      this.conn.rest("POST", "/v1/schema", { ...definition, properties: now })
    );
    this.#creating.delete(name);
    this.#created.add(name);
    this.ctx.log.info(`created collection "${name}"`);
    for (const later of [...this.#laterProperties]) {
      if (!later.targets.every((t) => this.#created.has(t) || !this.#planned.has(t))) continue;
      this.#laterProperties.splice(this.#laterProperties.indexOf(later), 1);
      await this.ctx.retry(() =>
        this.conn.rest("POST", `${schemaPath(later.collection)}/properties`, later.property)
      );
      this.ctx.log.info(
        `added reference property "${later.property.name}" to "${later.collection}" after its target`,
      );
    }
  }

  /** Creates `target` first when this run brings it and the server lacks it. */
  async #createDependency(target: string, from: string, property: string): Promise<void> {
    if (this.#created.has(target)) return;
    const source = this.#planned.get(target);
    if (this.#existedAtStart.get(target) ?? await this.#exists(schemaPath(target))) return;
    if (!source) {
      throw new Error(
        `Cannot create collection "${from}": its property "${property}" refers to "${target}", which the target server lacks and the input does not hold`,
      );
    }
    const { definition, changes } = this.#prepare(source, target, this.#renames);
    for (const change of changes) {
      this.ctx.log.warn(`forceSchema: ${change}`, { collection: target });
    }
    await this.#create(target, definition);
  }

  /** Why `collection` cannot rename the input's collections, if it cannot. */
  #renameProblem(names: string[]): string | undefined {
    if (!this.config.collection || names.length < 2) return undefined;
    return `"collection" renames one collection, but the input holds ${names.length} (${
      names.join(", ")
    })`;
  }

  /** Why `mode` forbids writing into `name`, if it does. */
  #modeProblem(name: string, exists: boolean): string | undefined {
    if (!exists) return undefined;
    if (this.config.mode === "fail") {
      return `"${name}" exists (set mode: skip-existing, overwrite or replace)`;
    }
    if (this.config.mode === "replace" && !this.config.confirm) {
      return `mode replace would delete the objects of "${name}"; set confirm: true`;
    }
    return undefined;
  }

  #prepare(source: Definition, name: string, renames: ReadonlyMap<string, string>) {
    return prepareDefinition(applyOverrides(source, this.config.overrides), {
      name,
      renames,
      modules: this.server.modules,
      nodes: this.server.nodes,
      version: this.conn.version,
      force: this.config.forceSchema,
    });
  }

  #tenant(name: string | undefined): string | undefined {
    return name === undefined ? undefined : this.config.tenants[name] ?? name;
  }

  async #collection(message: CollectionMessage): Promise<void> {
    await this.settle();
    const rename = this.#renameProblem([...this.#targets.keys(), message.collection]);
    if (rename) throw new Error(`Cannot rename: ${rename}`);
    const name = this.config.collection ?? message.collection;
    this.#renames.set(message.collection, name);
    const path = schemaPath(name);
    // Created already by this run, as the target of another collection's references.
    const early = this.#created.has(name);
    const exists = !early && (this.#existedAtStart.get(name) ?? await this.#exists(path));
    const refused = this.#modeProblem(name, exists);
    if (refused) throw new Error(`Cannot write to "${name}": ${refused}`);
    const { definition, changes } = this.#prepare(
      message.definition as Definition,
      name,
      this.#renames,
    );
    for (const change of changes) this.ctx.log.warn(`forceSchema: ${change}`, { collection: name });
    if (exists) {
      const mode = this.config.mode;
      if (mode === "replace") {
        this.ctx.log.warn(`replacing collection "${name}": dropping it and creating it anew`);
        await this.ctx.retry(() => this.conn.rest("DELETE", path));
        await this.#create(name, definition);
      } else {
        this.ctx.log.info(`collection "${name}" exists; ${mode}`);
      }
    } else {
      await this.#create(name, definition);
    }
    const target: Target = {
      name,
      source: message.collection,
      plan: new WritePlan(definition, this.#renames),
      finalStatus: new Map(),
      skipExisting: exists && this.config.mode === "skip-existing",
      preexisting: exists && this.config.mode !== "replace",
      received: new Map(),
      written: new Map(),
      refused: new Map(),
      hashes: new Map(),
      aliases: this.config.restoreAliases && name === message.collection
        ? message.aliases ?? []
        : [],
    };
    if (this.config.restoreAliases && name !== message.collection && message.aliases?.length) {
      this.ctx.log.info(
        `not creating aliases ${
          message.aliases.join(", ")
        } of "${message.collection}": it is written as "${name}"`,
      );
    }
    this.#targets.set(message.collection, target);
    if (message.tenants?.length) await this.#tenants(target, message.tenants);
  }

  async #tenants(target: Target, tenants: TenantInfo[]): Promise<void> {
    const path = tenantsPath(target.name);
    const existing = new Map(
      (await this.ctx.retry(() => this.conn.rest<TenantInfo[]>("GET", path)))
        .map((t) => [t.name, t.activityStatus]),
    );
    const create: { name: string; activityStatus: string }[] = [];
    const activate: { name: string; activityStatus: string }[] = [];
    for (const tenant of tenants) {
      const name = this.#tenant(tenant.name)!;
      const now = existing.get(name);
      // The status recorded at the source wins, also over a tenant a crashed run left HOT.
      target.finalStatus.set(name, this.#finalStatus(target, name, tenant.activityStatus));
      // Objects can only be written to an active tenant: load it HOT, set its status last.
      if (now === undefined) create.push({ name, activityStatus: "HOT" });
      else if (!isActive(now)) activate.push({ name, activityStatus: "HOT" });
    }
    // Registered before anything changes: a failed or cancelled run still sets the statuses.
    this.ctx.onClose(() => this.#setStatus(target));
    for (let i = 0; i < create.length; i += 100) {
      const chunk = create.slice(i, i + 100);
      await this.ctx.retry(() => this.conn.rest("POST", path, chunk));
    }
    if (activate.length) await this.ctx.retry(() => this.conn.rest("PUT", path, activate));
  }

  /** The status a tenant ends with: its recorded one, where Weaviate can set it. */
  #finalStatus(target: Target, tenant: string, recorded: string): string {
    if (isActive(recorded)) return "HOT";
    if (isCold(recorded)) return "COLD";
    this.ctx.log.warn(
      `tenant "${tenant}" of "${target.name}" was ${recorded} at the source; it is left COLD`,
    );
    return "COLD";
  }

  /** Sets every tenant of `target` to its final status, once; works after a cancelled run too. */
  #setStatus(target: Target): Promise<void> {
    return target.statusSet ??= (async () => {
      await Promise.allSettled(this.#inFlight);
      const cold = [...target.finalStatus].filter(([, s]) => !isActive(s));
      const tenants = cold.map(([name, activityStatus]) => ({ name, activityStatus }));
      await putTenantStatus(this.conn, target.name, tenants, this.ctx);
    })();
  }

  async #objects(message: ObjectsMessage): Promise<void> {
    const target = this.#targets.get(message.collection);
    if (!target) {
      throw new Error(
        `Cannot write objects of "${message.collection}": its definition did not come first`,
      );
    }
    const tenant = this.#tenant(message.tenant);
    const key = tenant ?? "";
    target.received.set(key, (target.received.get(key) ?? 0) + message.objects.length);
    let objects = message.objects;
    if (target.skipExisting) {
      const existing = await this.#existingIds(target.name, tenant, objects.map((o) => o.id));
      objects = objects.filter((o) => !existing.has(o.id));
      const skipped = message.objects.length - objects.length;
      this.ctx.metrics.add("objectsSkipped", skipped);
      this.#acknowledge(target, message.tenant, skipped, false);
    }
    if (objects.length === 0) return;
    if (this.#checkContent) {
      const hashes = target.hashes.get(key) ?? new Map<string, string>();
      target.hashes.set(key, hashes);
      for (const o of objects) hashes.set(o.id, this.#hash(o, this.#renames));
    }
    while (this.#inFlight.size >= this.config.concurrency) await Promise.race(this.#inFlight);
    this.#throwIfFailed();
    const request = this.#insert(target, message.tenant, objects).catch((error) => {
      this.#failure ??= error;
    });
    const tracked = request.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  /** Counts objects the target holds now (`written`: inserted by this run). */
  #acknowledge(target: Target, sourceTenant: string | undefined, n: number, written = true) {
    if (n === 0) return;
    const key = this.#tenant(sourceTenant) ?? "";
    if (written) target.written.set(key, (target.written.get(key) ?? 0) + n);
    this.ctx.acknowledge(target.source, sourceTenant, n);
  }

  /**
   * Inserts `objects` with their references; refused objects are recorded,
   * the rest acknowledged. Weaviate refuses a reference to an object it does
   * not hold yet: such objects go to `waiting` (a file, by default the set-aside
   * file written once every other object is there) instead of being refused.
   */
  async #insert(
    target: Target,
    sourceTenant: string | undefined,
    objects: WeftObject[],
    waiting: SpillFile = this.#deferred,
  ): Promise<void> {
    const tenant = this.#tenant(sourceTenant);
    let failures = await this.#send(target, tenant, objects);
    let held = 0;
    const missing = failures.filter((f) => MISSING_TARGET.test(f.error));
    if (missing.length) {
      const ids = new Set(missing.map((f) => f.id));
      failures = failures.filter((f) => !ids.has(f.id));
      const key = stringifyJson([target.source, sourceTenant ?? null]);
      await waiting.append(
        objects.filter((o) => ids.has(o.id)).map((o) => `${key}\t${encodeObject(o)}`),
      );
      held = missing.length;
    }
    this.#acknowledge(target, sourceTenant, objects.length - failures.length - held);
    if (failures.length) this.#refuse(target, tenant, failures);
  }

  /** Sends `objects` over the configured protocol; resolves with the refused ones. */
  async #send(
    target: Target,
    tenant: string | undefined,
    objects: WeftObject[],
  ): Promise<BatchFailure[]> {
    if (objects.length === 0) return [];
    if (this.config.protocol === "rest") return await this.#insertRest(target, tenant, objects);
    // An int Weaviate stores as 2^63 cannot travel over gRPC; such objects go over REST.
    const grpc: WeftObject[] = [];
    const rest: WeftObject[] = [];
    for (const o of objects) (target.plan.needsRest(o) ? rest : grpc).push(o);
    return [
      ...await this.#insertGrpc(target, tenant, grpc),
      ...await this.#insertRest(target, tenant, rest),
    ];
  }

  /**
   * Writes the objects set aside for references to objects that did not
   * exist yet. Most go in at once now; those that still point at set-aside
   * objects (cycles, within or across collections, and references to
   * themselves) are written without references first, so that all of them
   * exist, then again with them.
   */
  async #writeDeferred(): Promise<void> {
    if (this.#deferred.size === 0) return;
    this.ctx.log.info(
      `writing ${this.#deferred.size} objects whose references point at objects written after them`,
    );
    const cyclic = new SpillFile();
    try {
      for await (const [target, tenant, batch] of this.#batches(this.#deferred)) {
        await this.#insert(target, tenant, batch, cyclic);
      }
      await this.#deferred.close();
      if (cyclic.size === 0) return;
      this.ctx.log.info(`writing ${cyclic.size} objects that point at each other or themselves`);
      // Refused bare, an object is not there at all; otherwise it is, if without references.
      const absent = new Set<string>();
      for await (const [target, tenant, batch] of this.#batches(cyclic)) {
        const bare = batch.map(({ references: _, ...o }) => o);
        for (const f of await this.#send(target, this.#tenant(tenant), bare)) absent.add(f.id);
      }
      for await (const [target, tenant, batch] of this.#batches(cyclic)) {
        await this.#insertLast(target, tenant, batch, absent);
      }
    } finally {
      await cyclic.close();
    }
  }

  /** Reads a set-aside file back as batches of one collection and tenant. */
  async *#batches(
    file: SpillFile,
  ): AsyncGenerator<[Target, string | undefined, WeftObject[]]> {
    let batch: WeftObject[] = [];
    let key: string | undefined;
    const current = (): [Target, string | undefined, WeftObject[]] => {
      const [source, tenant] = JSON.parse(key!) as [string, string | null];
      return [this.#targets.get(source)!, tenant ?? undefined, batch];
    };
    for await (const line of file.lines()) {
      const tab = line.indexOf("\t");
      const lineKey = line.slice(0, tab);
      if (batch.length && (lineKey !== key || batch.length >= DEFERRED_BATCH)) {
        yield current();
        batch = [];
      }
      key = lineKey;
      batch.push(decodeObject(line.slice(tab + 1)));
    }
    if (batch.length) yield current();
  }

  /**
   * The last try for objects that exist (bare) unless in `absent`: a
   * reference whose target is still missing is not in the copy at all (its
   * object was refused, or deleted at the source, where Weaviate keeps such
   * references): it is left out, recorded, and the object written with the
   * rest of its references.
   */
  async #insertLast(
    target: Target,
    sourceTenant: string | undefined,
    objects: WeftObject[],
    absent: ReadonlySet<string>,
  ): Promise<void> {
    const tenant = this.#tenant(sourceTenant);
    const byId = new Map(objects.map((o) => [o.id, o]));
    let failures = await this.#send(target, tenant, objects);
    for (let round = 0; round < MAX_DROP_ROUNDS; round++) {
      const retry: WeftObject[] = [];
      for (const failure of failures) {
        const gone = MISSING_TARGET.exec(failure.error)?.[1]?.toLowerCase();
        const object = byId.get(failure.id);
        if (!gone || !object || absent.has(failure.id)) continue;
        const kept = this.#dropReferences(target, tenant, object, gone);
        byId.set(kept.id, kept);
        retry.push(kept);
      }
      if (retry.length === 0) break;
      const again = new Set(retry.map((o) => o.id));
      failures = [
        ...failures.filter((f) => !again.has(f.id)),
        ...await this.#send(target, tenant, retry),
      ];
    }
    // Present without (some of) its references: written, and reported.
    const degraded = failures.filter((f) => !absent.has(f.id)).map((f) => ({
      id: f.id,
      error: `written without its references: ${f.error}`,
    }));
    const refused = failures.filter((f) => absent.has(f.id));
    this.#acknowledge(target, sourceTenant, objects.length - refused.length);
    if (degraded.length) this.#refuse(target, tenant, degraded, true);
    if (refused.length) this.#refuse(target, tenant, refused);
  }

  /** `object` without its references to `gone`, each one recorded. */
  #dropReferences(
    target: Target,
    tenant: string | undefined,
    object: WeftObject,
    gone: string,
  ): WeftObject {
    const references: NonNullable<WeftObject["references"]> = {};
    for (const [prop, refs] of Object.entries(object.references ?? {})) {
      references[prop] = refs.filter((ref) => {
        if (ref.id.toLowerCase() !== gone) return true;
        this.#droppedTotal++;
        this.ctx.metrics.add("referencesDropped");
        if (this.#dropped.length < LISTED_REFUSALS) {
          const to = `${ref.collection ?? "?"}/${ref.id}`;
          this.#dropped.push(`${target.name}/${object.id}.${prop} → ${to}`);
          this.ctx.log.warn(
            `reference left out: its target is not in the copy (refused, or deleted at the source)`,
            {
              collection: target.name,
              ...(tenant === undefined ? {} : { tenant }),
              id: object.id,
              property: prop,
              to,
            },
          );
        }
        return false;
      });
    }
    const kept = { ...object, references };
    // The content check compares what was written.
    target.hashes.get(tenant ?? "")?.set(object.id, this.#hash(kept, this.#renames));
    return kept;
  }

  #refuse(
    target: Target,
    tenant: string | undefined,
    failures: BatchFailure[],
    present = false,
  ): void {
    const key = tenant ?? "";
    if (!present) target.refused.set(key, (target.refused.get(key) ?? 0) + failures.length);
    this.#refusedTotal += failures.length;
    this.ctx.metrics.add("objectsRefused", failures.length);
    const hashes = target.hashes.get(key);
    for (const failure of failures) {
      hashes?.delete(failure.id);
      if (this.#refusals.length >= LISTED_REFUSALS) continue;
      this.#refusals.push({ collection: target.name, tenant, ...failure });
      this.ctx.log.warn(`object refused: ${failure.error}`, {
        collection: target.name,
        ...(tenant === undefined ? {} : { tenant }),
        id: failure.id,
      });
    }
  }

  async #insertGrpc(
    target: Target,
    tenant: string | undefined,
    objects: WeftObject[],
  ): Promise<BatchFailure[]> {
    if (objects.length === 0) return [];
    const grpc = this.#grpc!;
    const withVectors = !this.config.skipVectors;
    const requests = grpc.encode(
      objects.map((object) => ({
        collection: target.name,
        tenant,
        object,
        withVectors,
        references: target.plan.grpcReferences(object),
      })),
    );
    const failures: BatchFailure[] = [];
    for (const request of requests) {
      const failed = await this.ctx.retry((signal) => grpc.send(request, signal));
      this.ctx.metrics.add("objectsWritten", request.ids.length - failed.length);
      failures.push(...failed);
    }
    return failures;
  }

  async #insertRest(
    target: Target,
    tenant: string | undefined,
    objects: WeftObject[],
  ): Promise<BatchFailure[]> {
    if (objects.length === 0) return [];
    const withVectors = !this.config.skipVectors;
    const batch = objects.map((o) => ({
      class: target.name,
      id: o.id,
      properties: target.plan.restProperties(o),
      ...(tenant === undefined ? {} : { tenant }),
      ...(withVectors && o.vector ? { vector: Array.from(o.vector) } : {}),
      ...(withVectors && Object.keys(o.vectors).length > 0
        ? {
          vectors: Object.fromEntries(
            Object.entries(o.vectors).map((
              [name, v],
            ) => [name, Array.isArray(v) ? v.map((row) => Array.from(row)) : Array.from(v)]),
          ),
        }
        : {}),
    }));
    const results = await this.ctx.retry(() =>
      this.conn.rest<{ id: string; result?: { errors?: { error?: { message: string }[] } } }[]>(
        "POST",
        "/v1/batch/objects",
        { objects: batch },
      )
    );
    const failures = results.filter((r) => r.result?.errors?.error?.length)
      .map((r) => ({ id: r.id, error: r.result!.errors!.error![0]!.message }));
    this.ctx.metrics.add("objectsWritten", objects.length - failures.length);
    return failures;
  }

  async #existingIds(
    collection: string,
    tenant: string | undefined,
    ids: string[],
  ): Promise<Set<string>> {
    const client = await this.conn.client();
    const base = client.collections.use(collection);
    const handle = tenant === undefined ? base : base.withTenant(tenant);
    const found = await this.ctx.retry(() =>
      handle.query.fetchObjects({
        filters: handle.filter.byId().containsAny(ids),
        limit: ids.length,
        returnProperties: [],
      })
    );
    return new Set(found.objects.map((o) => o.uuid));
  }

  async #exists(path: string): Promise<boolean> {
    try {
      await this.ctx.retry(() => this.conn.rest("GET", path));
      return true;
    } catch (error) {
      if (error instanceof ServerError && error.status === 404) return false;
      throw error;
    }
  }

  /** The run stopped early: let the batches in flight end, and say what is left behind. */
  async interrupted(reason?: unknown): Promise<void> {
    await Promise.allSettled(this.#inFlight);
    if (this.#reported) return;
    this.#reported = true;
    for (const target of this.#targets.values()) {
      const received = sum(target.received);
      const written = sum(target.written);
      this.ctx.log.warn(
        `"${target.name}" holds a partial copy: ${written} of the ${received} objects received were written; run again with mode: overwrite to complete it`,
        reason === undefined ? {} : { reason: messageOf(reason) },
      );
    }
  }

  /** Waits for every batch in flight. */
  async settle(): Promise<void> {
    await Promise.all(this.#inFlight);
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  async finish(): Promise<void> {
    await this.settle();
    await this.#writeDeferred();
    for (const target of this.#targets.values()) {
      const expected = new Map(
        [...target.received].map(([t, n]) => [t, n - (target.refused.get(t) ?? 0)]),
      );
      await checkCounts(this.conn, target.name, expected, target.preexisting, this.ctx);
      if (this.#checkContent) {
        const options = { includeVectors: !this.config.skipVectors };
        await checkContents(
          this.conn,
          target.name,
          target.hashes,
          (o) => this.#hash(o),
          options,
          this.ctx,
        );
      }
    }
    const dropped = this.config.danglingReferences === "fail" ? this.#droppedTotal : 0;
    if (this.#refusedTotal === 0 && dropped === 0) {
      if (this.config.alias) {
        if (this.#targets.size !== 1) {
          throw new Error(
            `Cannot point alias "${this.config.alias}": the run wrote ${this.#targets.size} collections, not one`,
          );
        }
        const [target] = this.#targets.values();
        await pointAlias(this.conn, this.config.alias, target!.name, this.ctx);
      }
      for (const target of this.#targets.values()) {
        for (const alias of target.aliases) {
          await restoreAlias(this.conn, alias, target.name, this.ctx);
        }
      }
    }
    for (const target of this.#targets.values()) await this.#setStatus(target);
    if (this.#droppedTotal > 0 && dropped === 0) {
      this.ctx.log.warn(
        `${this.#droppedTotal} references were left out: their targets are not in the copy (danglingReferences: drop)`,
      );
    }
    if (this.#refusedTotal > 0 || dropped > 0) {
      this.#reported = true;
      const problems: string[] = [];
      if (this.#refusedTotal > 0) {
        const first = this.#refusals[0]!;
        const where = `"${first.collection}"${first.tenant ? ` tenant "${first.tenant}"` : ""}`;
        problems.push(
          `Weaviate refused ${this.#refusedTotal} objects (first: ${first.id} in ${where}: ${first.error})`,
        );
      }
      if (dropped > 0) {
        problems.push(
          `${dropped} references point at objects that are not in the copy — refused, or deleted at the source, where Weaviate keeps such references — and were left out (first: ${
            this.#dropped[0]
          }; set danglingReferences: drop to accept that)`,
        );
      }
      throw new ServerError(
        `Cannot copy everything: ${
          problems.join("; ")
        }. Every other object and reference was written and checked, tenants have their recorded status, aliases were left as they were`,
        { retryable: false },
      );
    }
  }

  get #checkContent(): boolean {
    return (this.config.check ?? (this.config.alias ? "content" : "counts")) === "content";
  }

  /** One string for an object's content; vectors left out when they were not written. */
  #hash(object: WeftObject, renames?: ReadonlyMap<string, string>): string {
    const h = hashObject(object, renames);
    return `${h.properties}|${this.config.skipVectors ? "" : h.vectors}|${h.references}`;
  }
}

function sum(counts: Map<string, number>): number {
  let n = 0;
  for (const v of counts.values()) n += v;
  return n;
}
