/**
 * `weaviate-writer`: creates collections from their definitions (optionally
 * renamed), creates tenants with their activity status, inserts objects with
 * their UUIDs, every vector and their cross-references (inside the object's
 * own insert), then checks what it wrote.
 *
 * A {@linkcode BatchSink}: the core batches, adapts, retries and
 * dead-letters; this file declares the options and routes each message and
 * batch to the module that does one job (`weaviate_writer/`).
 * @module
 */
import { z } from "zod";
import type { DeadLetterEntry } from "../src/dead_letter.ts";
import type { Message, WeftObject } from "../src/messages.ts";
import {
  type Batch,
  type BatchSink,
  definePlugin,
  type ObjectOutcome,
  type PluginContext,
  type SinkClosing,
} from "../src/plugin.ts";
import { optionalString } from "../src/units.ts";
import { aliasCopies } from "./_shared/aliases.ts";
import type { Definition } from "./_shared/definition.ts";
import { connectionOptions, connectWeaviate, type WeaviateConnection } from "./_shared/weaviate.ts";
import { CopyChecks } from "./weaviate_writer/checks.ts";
import { Inserter, isPermanent, MISSING_TARGET } from "./weaviate_writer/inserts.ts";
import { Ledger } from "./weaviate_writer/ledger.ts";
import { DeferredObjects, type DeferredWriter } from "./weaviate_writer/references.ts";
import { Schema, type ServerFacts } from "./weaviate_writer/schema.ts";
import { type Target, targetOf } from "./weaviate_writer/target.ts";

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
      "When the target collection exists: fail; skip-existing (insert only new UUIDs); overwrite (upsert by UUID); replace (drop and recreate, once confirmed with --yes or the typed collection name)",
    ),
  skipVectors: z.boolean().default(false)
    .describe("Insert without vectors (the target's vectorizer makes new ones)"),
  forceSchema: z.boolean().default(false)
    .describe(
      "Drop settings the target server cannot take (e.g. a module it lacks) and report them",
    ),
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

/**
 * Most objects per batch: Weaviate's own server-side batching keeps its
 * batches between 100 and 1,000 objects (about one second of work each).
 */
const MAX_OBJECTS = 1_000;
/** Refused set-aside objects handed to the dead-letter file at once. */
const REFUSED_CHUNK = 100;

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
    const nodes = await ctx.retry(() => conn.rest<{ nodes?: unknown[] }>("GET", "/v1/nodes"))
      .then((r) => r.nodes?.length || undefined);
    const inserter = await Inserter.open(conn, config, meta.grpcMaxMessageSize, ctx);
    ctx.setOutput(conn.url);
    const server = { modules: new Set(Object.keys(meta.modules ?? {})), nodes };
    return new Writer(conn, inserter, server, config, ctx).sink();
  },
});

/** One run of the writer: its state, keyed by source collection and partition. */
class Writer implements DeferredWriter {
  readonly schema: Schema;
  readonly ledger: Ledger;
  readonly checks: CopyChecks;
  readonly deferred: DeferredObjects;
  /** Source collection name → target. */
  readonly targets = new Map<string, Target>();
  /** Set while closing: where set-aside objects that are refused go. */
  #closing: SinkClosing | undefined;
  /** Refused set-aside objects not yet handed to the dead-letter file. */
  #refused: DeadLetterEntry[] = [];

  constructor(
    readonly conn: WeaviateConnection,
    readonly inserter: Inserter,
    server: ServerFacts,
    readonly config: WeaviateWriterConfig,
    readonly ctx: PluginContext,
  ) {
    this.schema = new Schema(conn, server, config, ctx);
    this.ledger = new Ledger(ctx);
    const content = (config.check ?? (config.alias ? "content" : "counts")) === "content";
    this.checks = new CopyChecks(
      conn,
      { content, skipVectors: config.skipVectors },
      this.schema.renames,
      ctx,
    );
    this.deferred = new DeferredObjects(ctx);
    // However the run stops early, say what it left behind (once; not after a finished run).
    ctx.onClose(() => this.ledger.interrupted());
  }

  sink(): BatchSink {
    return {
      limits: { maxObjects: MAX_OBJECTS, maxBytes: this.inserter.maxBytes, idempotent: true },
      write: (message) => this.#stopped(this.write(message)),
      writeBatch: (batch, signal) => this.writeBatch(batch, signal),
      close: (closing) => this.#stopped(this.close(closing)),
      abort: (reason) => this.ledger.interrupted(reason),
    };
  }

  async #stopped(step: Promise<void>): Promise<void> {
    try {
      await step;
    } catch (error) {
      this.ledger.interrupted(error);
      throw error;
    }
  }

  async write(message: Message): Promise<void> {
    if (message.type === "source-info" && message.definitions) {
      await this.schema.precheck(message.definitions as Definition[]);
    } else if (message.type === "collection") {
      const prepared = await this.schema.collection(message);
      const options = { ...this.config, renames: this.schema.renames };
      const target = targetOf(message, prepared, options, this.conn, this.ctx);
      this.targets.set(message.collection, target);
      this.ledger.track(target.name);
      const tenants = message.tenants ?? [];
      await target.tenants.add(tenants.map((t) => ({ ...t, name: this.#tenant(t.name)! })));
    } else if (message.type === "partition-start" && message.tenant !== undefined) {
      // A tenant the collection message did not list is created as it comes.
      const name = this.#tenant(message.tenant)!;
      await this.target(message.collection).tenants.add([{ name, activityStatus: "HOT" }]);
    } else if (message.type === "partition-end") {
      this.ledger.partitionDone(message.partition);
    }
  }

  /** Writes one batch; refused objects are retried by the core, or set aside (see references.ts). */
  async writeBatch(batch: Batch, signal: AbortSignal): Promise<ObjectOutcome[]> {
    const target = this.target(batch.collection);
    const tenant = this.#tenant(batch.tenant);
    const where = { target: target.name, tenant };
    const counts = this.ledger.received(target.name, tenant, batch.objects);
    const existing = target.skipExisting
      ? await this.inserter.existing(target, tenant, batch.objects.map((o) => o.id), signal)
      : new Set<string>();
    const fresh = batch.objects.filter((o) => !existing.has(o.id.toLowerCase()));
    const failures = await this.inserter.send(target, tenant, fresh, signal);
    // Weaviate refuses a reference to an object it does not hold yet: such objects are written last.
    const deferred = fresh.filter((o) =>
      MISSING_TARGET.test(failures.get(o.id.toLowerCase()) ?? "")
    );
    await this.deferred.hold(batch.collection, batch.tenant, deferred);
    const outcomes: ObjectOutcome[] = [];
    const written: WeftObject[] = [];
    for (const object of batch.objects) {
      const id = object.id.toLowerCase();
      const error = failures.get(id);
      const permanent = error !== undefined && isPermanent(error);
      const waiting = error !== undefined && MISSING_TARGET.test(error);
      this.ledger.answered(batch.partition, id, where, permanent || waiting ? undefined : error);
      if (existing.has(id)) {
        counts.skipped++;
        this.ctx.metrics.add("objectsSkipped");
        outcomes.push(undefined);
      } else if (error === undefined) {
        counts.written++;
        written.push(object);
        outcomes.push(undefined);
      } else if (waiting) {
        counts.deferred++;
        outcomes.push("deferred");
      } else if (permanent) {
        this.ledger.refuse(target.name, tenant, object.id, error, { deadLettered: true });
        outcomes.push({ error, retryable: false });
      } else outcomes.push({ error });
    }
    await this.checks.written(target.name, tenant, written);
    this.ctx.metrics.add("objectsWritten", fresh.length - failures.size);
    return outcomes;
  }

  async close(closing?: SinkClosing): Promise<void> {
    // Objects the core still held as failed when it finished were given up.
    this.ledger.partitionDone();
    this.#closing = closing;
    try {
      await this.deferred.writeAll(this, this.ctx);
    } finally {
      // Also when writing them stopped half-way: the refused ones are counted as in the file.
      await this.#flushRefused();
    }
    const targets = [...this.targets.values()];
    await this.checks.run(targets, this.ledger);
    const dropOk = this.config.danglingReferences === "drop";
    if (this.ledger.complete(dropOk)) {
      await aliasCopies(this.conn, this.config.alias, targets, this.ctx);
    }
    for (const target of targets) await target.tenants.restore();
    this.ledger.finish(dropOk);
    this.ledger.finished();
  }

  // DeferredWriter: how set-aside objects are written at the end (tenants as at the source).

  target(source: string): Target {
    const target = this.targets.get(source);
    if (!target) {
      throw new Error(`Cannot write objects of "${source}": its definition did not come first`);
    }
    return target;
  }

  send(target: Target, tenant: string | undefined, objects: WeftObject[]) {
    return this.ctx.retry((signal) =>
      this.inserter.send(target, this.#tenant(tenant), objects, signal)
    );
  }

  async written(target: Target, sourceTenant: string | undefined, objects: WeftObject[]) {
    const tenant = this.#tenant(sourceTenant);
    const counts = this.ledger.counts(target.name, tenant);
    counts.deferred -= objects.length;
    counts.written += objects.length;
    await this.checks.written(target.name, tenant, objects);
    this.ctx.metrics.add("objectsWritten", objects.length);
    if (objects.length) this.ctx.acknowledge(target.source, sourceTenant, objects.length);
  }

  async refused(
    target: Target,
    sourceTenant: string | undefined,
    object: WeftObject,
    error: string,
    present: boolean,
  ): Promise<void> {
    const tenant = this.#tenant(sourceTenant);
    const counts = this.ledger.counts(target.name, tenant);
    counts.deferred--;
    if (present) {
      counts.written++;
      this.ctx.acknowledge(target.source, sourceTenant, 1);
    }
    // Into the run's dead-letter file, whole (every reference), to be written again once fixed.
    const deadLettered = this.#closing !== undefined;
    this.ledger.refuse(target.name, tenant, object.id, error, { present, deadLettered });
    if (!deadLettered) return;
    this.#refused.push({
      collection: target.source,
      ...(sourceTenant === undefined ? {} : { tenant: sourceTenant }),
      error,
      // Sent in its batch, then again once every other object was there.
      attempts: 2,
      object,
    });
    if (this.#refused.length >= REFUSED_CHUNK) await this.#flushRefused();
  }

  async #flushRefused(): Promise<void> {
    const entries = this.#refused.splice(0);
    if (entries.length) await this.#closing?.deadLetter(entries);
  }

  dropped(
    target: Target,
    sourceTenant: string | undefined,
    id: string,
    property: string,
    to: string,
  ) {
    this.ledger.drop(target.name, this.#tenant(sourceTenant), id, property, to);
  }

  #tenant(name: string | undefined): string | undefined {
    return name === undefined ? undefined : this.config.tenants[name] ?? name;
  }
}
