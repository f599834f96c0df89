/**
 * Lists a partition's objects over gRPC (`weaviate.v1.Weaviate/Search` with
 * the `after` cursor), falling back to the REST listing wherever gRPC cannot
 * give exactly what REST gives. Both follow the same UUID cursor, so a
 * fallback continues where gRPC stopped.
 *
 * What gRPC cannot give exactly, and how it is met:
 * - References: the server resolves them against their targets, so a
 *   reference to a deleted object is dropped, and a multi-target property
 *   (asked for once per target collection, as the server requires) came back
 *   wrong in 1.39 (`[b1, a1, deleted]` as `[a1, a1]`). They are read from a REST page without
 *   vectors (same cursor, same limit) and joined by id; a page whose ids
 *   differ (objects written meanwhile) is read again over REST whole.
 * - An int beyond int64 is sent as -2^63 (Go's conversion of the stored
 *   double): a page holding -2^63 is read over REST.
 * - Data types not checked against REST (e.g. `blobHash`): the collection is
 *   read over REST.
 * - A top-level object shaped like a geo coordinate or a phone number, or an
 *   object array whose objects have a `beacon`: Weaviate 1.39 reads such a
 *   value back as that type (REST shows it so) and fails the gRPC search on
 *   it. A collection whose definition allows one is read over REST.
 * - A geo coordinate halfway between two shortest decimals, which servers
 *   built with different Go versions may write either way: its page is read
 *   over REST.
 * @module
 */
import { estimateBytes } from "../../src/batching.ts";
import { messageOf, ServerError } from "../../src/errors.ts";
import { type Message, partitionKey, type WeftObject } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { isReference, olderThan } from "../_shared/definition.ts";
import {
  encodeSearchRequest,
  GrpcSearcher,
  GrpcStatus,
  grpcStatusOf,
  type ObjectSelection,
  type SearchPlan,
} from "../_shared/grpc_search.ts";
import { decodeSearchReply, type SearchPage } from "./search_reply.ts";
import { retryThroughRestart } from "../_shared/restart.ts";
import type { ConnectionConfig, WeaviateConnection } from "../_shared/weaviate.ts";
import {
  type ClassDefinition,
  type ListingStart,
  listObjects,
  readPage,
} from "../_shared/weaviate_objects.ts";

/** The oldest server whose gRPC listing is used (named multi-vectors and the 1.27 reply shape). */
const MINIMUM_VERSION = "1.30.0";
/** Types whose gRPC values were compared with REST's (top level and nested). */
const EXACT_TYPES = new Set([
  "text",
  "text[]",
  "string",
  "string[]",
  "int",
  "int[]",
  "number",
  "number[]",
  "boolean",
  "boolean[]",
  "date",
  "date[]",
  "uuid",
  "uuid[]",
  "geoCoordinates",
  "phoneNumber",
  "blob",
  "object",
  "object[]",
]);
/** Estimated bytes a page is held to (fewer objects a page when they are larger). */
export const PAGE_BYTES = 2 * 1024 * 1024;

/** Objects in the next page: `pageSize`, or fewer where objects like `page`'s would pass {@linkcode PAGE_BYTES}. */
function pageLimit(page: WeftObject[], pageSize: number): number {
  const average = page.reduce((n, o) => n + estimateBytes(o), 0) / page.length;
  return Math.max(1, Math.min(pageSize, Math.floor(PAGE_BYTES / average)));
}

/** Counter of objects read over gRPC, in the run summary. */
export const GRPC_COUNTER = "objectsReadOverGrpc";

interface Property {
  name: string;
  dataType: string[];
  nestedProperties?: Property[];
}

/** Nested property names that make a top-level object's value read back as another type. */
const LOOKALIKES: [type: string, names: string[], readAs: string][] = [
  ["object", ["latitude", "longitude"], "geoCoordinates"],
  [
    "object",
    ["input", "internationalFormatted", "nationalFormatted", "national", "countryCode"],
    "phoneNumber",
  ],
  ["object[]", ["beacon"], "references"],
];

/**
 * What Weaviate reads a value of top-level property `p` back as when an
 * object holds only these nested properties (`enrichSchemaTypes` in its
 * `entities/storobj`), or undefined.
 */
function lookalike(p: Property): string | undefined {
  const names = new Set((p.nestedProperties ?? []).map((n) => n.name));
  for (const [type, keys, readAs] of LOOKALIKES) {
    if (p.dataType[0] === type && keys.every((k) => names.has(k))) return readAs;
  }
  return undefined;
}

/** Why gRPC cannot list `definition` exactly, or undefined when it can. */
export function grpcUnsupported(definition: ClassDefinition): string | undefined {
  const check = (props: Property[], path: string): string | undefined => {
    for (const p of props) {
      const type = p.dataType.join(",");
      if (path === "" && isReference(p.dataType)) continue;
      if (!EXACT_TYPES.has(type)) return `property ${path}${p.name} has type ${type}`;
      const readAs = path === "" ? lookalike(p) : undefined;
      if (readAs) return `property ${p.name} (${type}) may hold values Weaviate reads as ${readAs}`;
      if (p.nestedProperties) {
        const why = check(p.nestedProperties, `${path}${p.name}.`);
        if (why) return why;
      }
    }
    return undefined;
  };
  return check((definition.properties ?? []) as Property[], "");
}

/** The request naming every property (nested ones in full) and every named vector. */
export function searchPlan(definition: ClassDefinition, includeVectors: boolean): SearchPlan {
  const nested = (p: Property): boolean =>
    p.dataType[0] === "object" || p.dataType[0] === "object[]";
  const selection = (p: Property): ObjectSelection => ({
    name: p.name,
    primitive: (p.nestedProperties ?? []).filter((n) => !nested(n)).map((n) => n.name),
    objects: (p.nestedProperties ?? []).filter(nested).map(selection),
  });
  const props = ((definition.properties ?? []) as Property[]).filter((p) =>
    !isReference(p.dataType)
  );
  return {
    collection: definition.class,
    primitive: props.filter((p) => !nested(p)).map((p) => p.name),
    objects: props.filter(nested).map(selection),
    vectors: Object.keys((definition.vectorConfig ?? {}) as Record<string, unknown>),
    includeVectors,
  };
}

/** Reads partitions over gRPC for one run; decides once whether the server has gRPC at all. */
export class GrpcListing {
  #searcher: GrpcSearcher;
  #conn: WeaviateConnection;
  #ctx: PluginContext;
  #state: "unknown" | "up" | "down";
  #probe: Promise<unknown> | undefined;
  #logged = new Set<string>();

  constructor(
    conn: WeaviateConnection,
    config: Pick<ConnectionConfig, "apiKey" | "headers">,
    ctx: PluginContext,
  ) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#searcher = new GrpcSearcher(conn.grpcAddress, config);
    this.#state = olderThan(conn.version, MINIMUM_VERSION) ? "down" : "unknown";
    if (this.#state === "down") {
      ctx.log.info(`Weaviate ${conn.version} is older than ${MINIMUM_VERSION}: listing over REST`);
    }
    ctx.onClose(() => this.#searcher.close());
  }

  /** Yields one `objects` message per page, like {@linkcode listObjects}. */
  async *list(
    definition: ClassDefinition,
    tenant: string | undefined,
    config: { pageSize: number; includeVectors: boolean },
  ): AsyncGenerator<Message> {
    const ctx = this.#ctx;
    const collection = definition.class;
    const unsupported = grpcUnsupported(definition);
    if (unsupported || this.#state === "down") {
      this.#say(
        collection,
        `over REST${unsupported ? ` (gRPC cannot read it exactly: ${unsupported})` : ""}`,
      );
      return yield* listObjects(this.#conn, definition, tenant, config, ctx);
    }
    const plan = searchPlan(definition, config.includeVectors);
    const restConfig = (pageSize: number) => ({ pageSize, includeVectors: config.includeVectors });
    const hasReferences = (definition.properties ?? []).some((p) => isReference(p.dataType));
    const start: ListingStart = { after: undefined, seq: 0 };
    // Lowered for the rest of the partition when a page is larger than the server sends.
    let limit = config.pageSize;
    /** Most objects a page may ask for: the page size, lowered when the server found a reply too large. */
    let most = config.pageSize;
    /** The next page, asked for while the last one is written: server and client work overlap. */
    let next: Promise<SearchPage | "unavailable"> | undefined;
    for (;;) {
      let page: SearchPage | "unavailable";
      for (;;) {
        try {
          const ahead = next;
          next = undefined;
          page =
            await (ahead ?? this.#search(encodeSearchRequest(plan, { ...start, limit, tenant })));
          break;
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          // A page larger than the server sends in one message: ask for fewer objects.
          const status = grpcStatusOf(error);
          if (status === GrpcStatus.RESOURCE_EXHAUSTED && limit > 1) {
            limit = most = Math.ceil(limit / 2);
            continue;
          }
          if (error instanceof ServerError && !error.retryable) {
            ctx.log.warn(`gRPC listing failed, continuing over REST: ${messageOf(error)}`, {
              collection,
            });
            page = "unavailable";
            break;
          }
          throw error;
        }
      }
      if (page === "unavailable") {
        this.#say(collection, "over REST (gRPC unavailable)");
        return yield* listObjects(this.#conn, definition, tenant, restConfig(limit), ctx, start);
      }
      this.#say(collection, "over gRPC");
      let objects = page.objects;
      const pageConfig = restConfig(limit);
      if (!inOrder(objects, start.after)) {
        ctx.log.warn("gRPC listing is not in cursor order: continuing over REST", { collection });
        return yield* listObjects(this.#conn, definition, tenant, pageConfig, ctx, start);
      }
      if (page.inexact) {
        ctx.log.debug(`page read over REST: ${page.inexact}`, { collection, after: start.after });
        objects = await readPage(this.#conn, definition, tenant, start.after, pageConfig, ctx);
      } else if (hasReferences && objects.length) {
        objects = await this.#withReferences(objects, definition, tenant, start.after, pageConfig);
      } else {
        ctx.metrics.add(GRPC_COUNTER, objects.length);
      }
      if (objects.length === 0) return;
      const cursor = objects[objects.length - 1]!.id;
      const full = objects.length >= limit;
      if (full) {
        // Pages of large vectors get fewer objects: memory stays flat whatever the vectors.
        limit = pageLimit(objects, most);
        next = this.#search(
          encodeSearchRequest(plan, { after: cursor, limit, tenant }),
        );
        // Its failure is handled where it is awaited, like that of any page.
        next.catch(() => {});
      }
      yield {
        type: "objects",
        partition: partitionKey(collection, tenant),
        collection,
        ...(tenant === undefined ? {} : { tenant }),
        seq: start.seq,
        cursor,
        objects,
      };
      if (!full) return;
      start.after = cursor;
      start.seq++;
    }
  }

  /**
   * One search through the run's retry policy, riding out a restart. The
   * first search of the run tells whether the server has gRPC: refused or
   * UNIMPLEMENTED then means REST for every listing.
   */
  async #search(request: Uint8Array): Promise<SearchPage | "unavailable"> {
    const ctx = this.#ctx;
    if (this.#state === "unknown") {
      if (this.#probe) {
        await this.#probe;
      } else {
        const first = this.#searcher.search(request, ctx.signal);
        this.#probe = first.catch(() => {});
        try {
          const reply = await first;
          this.#state = "up";
          return decode(reply);
        } catch (error) {
          const status = grpcStatusOf(error);
          if (status === GrpcStatus.UNAVAILABLE || status === GrpcStatus.UNIMPLEMENTED) {
            this.#state = "down";
            ctx.log.info(
              `no gRPC listing at ${this.#searcher.address} (${
                messageOf(error)
              }): listing over REST`,
            );
          } else {
            this.#state = "up";
          }
        }
      }
    }
    if (this.#state === "down") return "unavailable";
    try {
      return decode(
        await retryThroughRestart(ctx, (signal) => this.#searcher.search(request, signal)),
      );
    } catch (error) {
      if (grpcStatusOf(error) === GrpcStatus.UNIMPLEMENTED) return "unavailable";
      throw error;
    }
  }

  /**
   * `objects` with their references from a REST page of the same cursor and
   * limit (without vectors); that page whole, with vectors, when its ids differ.
   */
  async #withReferences(
    objects: WeftObject[],
    definition: ClassDefinition,
    tenant: string | undefined,
    after: string | undefined,
    config: { pageSize: number; includeVectors: boolean },
  ): Promise<WeftObject[]> {
    const ctx = this.#ctx;
    const listed = await readPage(this.#conn, definition, tenant, after, {
      pageSize: config.pageSize,
      includeVectors: false,
    }, ctx);
    const same = listed.length === objects.length &&
      listed.every((o, i) => o.id === objects[i]!.id);
    if (!same) {
      ctx.log.debug("objects changed between the gRPC and REST pages: page read over REST", {
        collection: definition.class,
        after,
      });
      return await readPage(this.#conn, definition, tenant, after, config, ctx);
    }
    ctx.metrics.add(GRPC_COUNTER, objects.length);
    return objects.map((o, i) => withReferences(o, listed[i]!.references));
  }

  /** Logs once per collection which listing reads it. */
  #say(collection: string, how: string): void {
    if (this.#logged.has(collection)) return;
    this.#logged.add(collection);
    this.#ctx.log.info(`listing objects ${how}`, { collection });
  }
}

/** `object` with `references`, its keys in the order the REST listing gives them. */
function withReferences(
  object: WeftObject,
  references: WeftObject["references"],
): WeftObject {
  if (!references) return object;
  const { id, properties, vector, vectors, createdAt, updatedAt } = object;
  return {
    id,
    properties,
    ...(vector ? { vector } : {}),
    vectors,
    references,
    ...(createdAt === undefined ? {} : { createdAt }),
    ...(updatedAt === undefined ? {} : { updatedAt }),
  };
}

/** The page of a reply; what this decoder cannot read is read over REST (not retried). */
function decode(reply: Uint8Array): SearchPage {
  try {
    return decodeSearchReply(reply);
  } catch (cause) {
    throw new ServerError(`Cannot read a gRPC search reply: ${messageOf(cause)}`, {
      cause,
      retryable: false,
    });
  }
}

/** Whether `objects` follow `after` in strictly increasing UUID order. */
function inOrder(objects: WeftObject[], after: string | undefined): boolean {
  let previous = after;
  for (const { id } of objects) {
    if (previous !== undefined && !(id > previous)) return false;
    previous = id;
  }
  return true;
}
