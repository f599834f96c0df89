/**
 * Inserting objects into one collection (and tenant): over gRPC
 * `BatchObjects`, or the REST batch endpoint for `protocol: rest` and for
 * objects gRPC cannot carry; resolves with Weaviate's verdict per object.
 * One call, one attempt: the core batches and retries.
 * @module
 */
import type { WeftObject } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { olderThan } from "../_shared/definition.ts";
import { GrpcBatcher } from "../_shared/grpc_batch.ts";
import type { ConnectionConfig, WeaviateConnection } from "../_shared/weaviate.ts";
import type { WritePlan } from "../_shared/write_plan.ts";

/** Weaviate's answer to a reference whose target object does not exist (yet). */
export const MISSING_TARGET = /'cref' .*no object with id (\S+) found/;

/**
 * Per-object errors that another attempt cannot change: a value of the wrong
 * type, a property or data type the collection lacks, a vector of the wrong
 * length, a tenant where there is none (or none where one is needed).
 */
const PERMANENT = new RegExp(
  [
    /^invalid [\w ]+ property '/,
    /unknown property|no such prop|unrecognized data type/,
    /vector lengths don't match|new node has a vector with length/,
    /has multi-tenancy (enabled|disabled), but request was with/,
  ].map((r) => r.source).join("|"),
);

/** Whether a per-object error will come back on every attempt. */
export function isPermanent(error: string): boolean {
  return PERMANENT.test(error);
}

/** How long the gRPC port may take to answer before the run fails, writing nothing. */
const GRPC_CONNECT_MS = 10_000;
/** First version whose gRPC batch takes named vectors (older ones drop them silently). */
const GRPC_FROM = "1.24.0";
/**
 * Estimated bytes of one REST batch: the core estimates raw sizes, and JSON
 * writes a float32 vector in about 3.7 times its bytes.
 */
const REST_MAX_BYTES = 4 * 1024 * 1024;

/** Where and how objects of one collection are written. */
export interface InsertTarget {
  /** The target collection. */
  name: string;
  plan: WritePlan;
}

/** Writes batches of objects to one Weaviate. */
export class Inserter {
  private constructor(
    readonly conn: WeaviateConnection,
    readonly grpc: GrpcBatcher | undefined,
    readonly withVectors: boolean,
  ) {}

  /** Connects the configured protocol (gRPC: waits for the port, so that a wrong one writes nothing). */
  static async open(
    conn: WeaviateConnection,
    config: ConnectionConfig & { protocol: "grpc" | "rest"; skipVectors: boolean },
    grpcMaxMessageSize: number | undefined,
    ctx: PluginContext,
  ): Promise<Inserter> {
    let grpc: GrpcBatcher | undefined;
    if (config.protocol === "grpc" && olderThan(conn.version, GRPC_FROM)) {
      // Older servers ignore the vector fields weft sends over gRPC.
      ctx.log.warn(`Weaviate ${conn.version} predates ${GRPC_FROM}: inserting over REST`);
    } else if (config.protocol === "grpc") {
      grpc = new GrpcBatcher(conn.grpcAddress, config, grpcMaxMessageSize);
      ctx.onClose(() => grpc!.close());
      await grpc.ready(GRPC_CONNECT_MS);
    }
    return new Inserter(conn, grpc, !config.skipVectors);
  }

  /** Most bytes one batch should take. */
  get maxBytes(): number {
    return this.grpc?.maxBytes ?? REST_MAX_BYTES;
  }

  /**
   * Inserts (upserts, by UUID) `objects`; resolves with the error of each
   * refused object by lower-case UUID. Throws when the request as a whole failed.
   */
  async send(
    target: InsertTarget,
    tenant: string | undefined,
    objects: WeftObject[],
    signal: AbortSignal,
  ): Promise<Map<string, string>> {
    if (!this.grpc) return await this.#rest(target, tenant, objects, signal);
    // An int Weaviate stores as 2^63 cannot travel over gRPC; such objects go over REST.
    const grpc: WeftObject[] = [];
    const rest: WeftObject[] = [];
    for (const o of objects) (target.plan.needsRest(o) ? rest : grpc).push(o);
    const [a, b] = await Promise.all([
      this.#grpc(this.grpc, target, tenant, grpc, signal),
      this.#rest(target, tenant, rest, signal),
    ]);
    for (const [id, error] of b) a.set(id, error);
    return a;
  }

  /** UUIDs among `ids` that `target` (and `tenant`) holds already. */
  async existing(
    target: InsertTarget,
    tenant: string | undefined,
    ids: string[],
    signal: AbortSignal,
  ): Promise<Set<string>> {
    const client = await this.conn.client();
    const base = client.collections.use(target.name);
    const handle = tenant === undefined ? base : base.withTenant(tenant);
    // The client takes no signal: stop waiting when the core gives up on the batch.
    const found = await abortable(
      handle.query.fetchObjects({
        filters: handle.filter.byId().containsAny(ids),
        limit: ids.length,
        returnProperties: [],
      }),
      signal,
    );
    return new Set(found.objects.map((o) => o.uuid));
  }

  async #grpc(
    grpc: GrpcBatcher,
    target: InsertTarget,
    tenant: string | undefined,
    objects: WeftObject[],
    signal: AbortSignal,
  ): Promise<Map<string, string>> {
    const failures = new Map<string, string>();
    if (objects.length === 0) return failures;
    const requests = grpc.encode(objects.map((object) => ({
      collection: target.name,
      tenant,
      object,
      withVectors: this.withVectors,
      references: target.plan.grpcReferences(object),
    })));
    // More than one only when the core's size estimate fell short of the encoded size.
    for (const request of requests) {
      for (const f of await grpc.send(request, signal)) failures.set(f.id.toLowerCase(), f.error);
    }
    return failures;
  }

  async #rest(
    target: InsertTarget,
    tenant: string | undefined,
    objects: WeftObject[],
    signal: AbortSignal,
  ): Promise<Map<string, string>> {
    const failures = new Map<string, string>();
    if (objects.length === 0) return failures;
    const withVectors = this.withVectors;
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
    const results = await this.conn.rest<
      { id: string; result?: { errors?: { error?: { message: string }[] } } }[]
    >("POST", "/v1/batch/objects", { objects: batch }, { signal });
    for (const r of results) {
      const error = r.result?.errors?.error?.[0]?.message;
      if (error !== undefined) failures.set(r.id.toLowerCase(), error);
    }
    return failures;
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
