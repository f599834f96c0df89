/**
 * Lists a collection's objects (optionally of one tenant) over REST, paged by
 * UUID cursor, as client-independent {@linkcode WeftObject}s.
 * @module
 */
import { partitionKey } from "../../src/messages.ts";
import type { Message, ObjectReference, Vector, WeftObject } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { ServerError } from "../../src/errors.ts";
import { isReference } from "./definition.ts";
import { retryThroughRestart } from "./restart.ts";
import type { WeaviateConnection } from "./weaviate.ts";

/** A collection definition, as far as reading objects needs it. */
export interface ClassDefinition {
  class: string;
  properties?: { name: string; dataType: string[] }[];
  multiTenancyConfig?: { enabled?: boolean };
  [key: string]: unknown;
}

/** Cache key of a definition on one server (plugins of a run may talk to several). */
const definitionKey = (conn: WeaviateConnection) => `definition@${conn.url}`;

/**
 * `GET /v1/schema/{name}` through the run's cache, so that plugins and steps
 * asking for the same definition share one round trip; a 404 throws a
 * {@linkcode ServerError} and is not cached. Whoever changes a definition
 * calls `ctx.cache.definitionChanged(name)`. Resolves with a copy.
 */
export async function readDefinition(
  conn: WeaviateConnection,
  name: string,
  ctx: PluginContext,
): Promise<ClassDefinition> {
  const definition = await ctx.cache.fetch(
    name,
    definitionKey(conn),
    () =>
      ctx.retry(() => conn.rest<ClassDefinition>("GET", `/v1/schema/${encodeURIComponent(name)}`)),
  );
  return structuredClone(definition);
}

/** Caches definitions read some other way (e.g. all at once with `GET /v1/schema`). */
export function cacheDefinitions(
  conn: WeaviateConnection,
  definitions: ClassDefinition[],
  ctx: PluginContext,
): void {
  for (const d of definitions) ctx.cache.set(d.class, definitionKey(conn), structuredClone(d));
}

/** Where a listing continues: after object `after`, its next page numbered `seq`. */
export interface ListingStart {
  after: string | undefined;
  seq: number;
}

/**
 * Yields one `objects` message per page of `definition`'s objects, from the
 * first or from `start` (where another listing stopped).
 */
export async function* listObjects(
  conn: WeaviateConnection,
  definition: ClassDefinition,
  tenant: string | undefined,
  config: { pageSize: number; includeVectors: boolean },
  ctx: PluginContext,
  start: ListingStart = { after: undefined, seq: 0 },
): AsyncGenerator<Message> {
  let after = start.after;
  for (let seq = start.seq;; seq++) {
    const objects = await readPage(conn, definition, tenant, after, config, ctx);
    if (objects.length === 0) return;
    yield {
      type: "objects",
      partition: partitionKey(definition.class, tenant),
      collection: definition.class,
      ...(tenant === undefined ? {} : { tenant }),
      seq,
      cursor: objects[objects.length - 1]!.id,
      objects,
    };
    if (objects.length < config.pageSize) return;
    after = objects[objects.length - 1]!.id;
  }
}

/**
 * One page of `definition`'s objects over REST: up to `config.pageSize`
 * after `after` (or from the first).
 */
export async function readPage(
  conn: WeaviateConnection,
  definition: ClassDefinition,
  tenant: string | undefined,
  after: string | undefined,
  config: { pageSize: number; includeVectors: boolean },
  ctx: PluginContext,
): Promise<WeftObject[]> {
  const refProps = new Set(
    (definition.properties ?? []).filter((p) => isReference(p.dataType)).map((p) => p.name),
  );
  const listing: Listing = { conn, collection: definition.class, tenant, ctx };
  const page = await listPage(listing, after, config.pageSize, config.includeVectors);
  if (!Array.isArray(page)) {
    throw await unreadablePage(listing, after, config.pageSize, config.includeVectors, page);
  }
  return page.map((o) => toWeftObject(o, refProps));
}

/** What every page request of one listing shares. */
interface Listing {
  conn: WeaviateConnection;
  collection: string;
  tenant: string | undefined;
  ctx: PluginContext;
}

/** Why a 200 answer held no page: an empty body or one that is not JSON. */
type Unreadable = "an empty body" | "a body that is not JSON";

/** One page of objects after `after`, or why the server's answer held none. */
async function listPage(
  { conn, collection, tenant, ctx }: Listing,
  after: string | undefined,
  limit: number,
  includeVectors: boolean,
): Promise<RestObject[] | Unreadable> {
  const query = new URLSearchParams({ class: collection, limit: String(limit) });
  if (includeVectors) query.set("include", "vector");
  if (tenant !== undefined) query.set("tenant", tenant);
  if (after !== undefined) query.set("after", after);
  const get = async (): Promise<RestObject[] | Unreadable> => {
    let body: { objects?: RestObject[] } | undefined;
    try {
      body = await conn.rest<{ objects?: RestObject[] } | undefined>("GET", `/v1/objects?${query}`);
    } catch (error) {
      // Not worth retrying: the server answered, with something that is not a page.
      if (error instanceof SyntaxError || (error instanceof ServerError && error.status === 200)) {
        return "a body that is not JSON";
      }
      throw error;
    }
    if (body === undefined) return "an empty body";
    return body.objects ?? [];
  };
  // The definition was read, so a 404 means the schema is not loaded yet.
  return await retryThroughRestart(ctx, get);
}

/**
 * The error for a page Weaviate answered with HTTP 200 but no objects: it
 * cannot encode a NaN or infinite vector as JSON. With vectors, narrows the
 * page down (halving the limit, O(log pageSize) requests) to name the object.
 */
async function unreadablePage(
  listing: Listing,
  after: string | undefined,
  limit: number,
  includeVectors: boolean,
  answer: Unreadable,
): Promise<ServerError> {
  const where = `Cannot list objects of "${listing.collection}"${
    listing.tenant === undefined ? "" : ` (tenant "${listing.tenant}")`
  } ${
    after === undefined ? "at the first page" : `after ${after}`
  }: Weaviate answered HTTP 200 with ${answer}`;
  const fail = (hint: string) =>
    new ServerError(`${where}; ${hint}`, { status: 200, retryable: false });
  if (!includeVectors) return fail("retry later, or with a smaller pageSize");
  const culprit = await findUnlistable(listing, after, limit);
  return fail(
    culprit === undefined
      ? `an object of this page of ${limit} likely holds a NaN or infinite vector, which Weaviate's REST listing cannot return: find it with a smaller pageSize, then re-embed or delete it, or read with includeVectors: false`
      : `object ${culprit} holds a NaN or infinite vector, which Weaviate's REST listing cannot return: re-embed or delete it, or read with includeVectors: false`,
  );
}

/** The first object after `after` (among the next `limit`) that cannot be listed with its vectors. */
async function findUnlistable(
  listing: Listing,
  after: string | undefined,
  limit: number,
): Promise<string | undefined> {
  let cursor = after;
  let window = limit;
  while (window > 1) {
    const half = Math.floor(window / 2);
    const page = await listPage(listing, cursor, half, true);
    if (!Array.isArray(page)) {
      window = half;
      continue;
    }
    if (page.length < half) return undefined; // changed while we looked
    cursor = page[page.length - 1]!.id;
    window -= half;
  }
  if (Array.isArray(await listPage(listing, cursor, 1, true))) return undefined;
  const next = await listPage(listing, cursor, 1, false);
  return Array.isArray(next) ? next[0]?.id : undefined;
}

/** An object as `GET /v1/objects` lists it. */
interface RestObject {
  id: string;
  properties?: Record<string, unknown>;
  vector?: number[];
  vectors?: Record<string, number[] | number[][]>;
  creationTimeUnix?: number;
  lastUpdateTimeUnix?: number;
}

const BEACON = /^weaviate:\/\/[^/]+\/(?:([^/]+)\/)?([0-9a-f-]{36})$/i;

export function toWeftObject(o: RestObject, refProps: Set<string>): WeftObject {
  const properties: Record<string, unknown> = {};
  const references: Record<string, ObjectReference[]> = {};
  for (const [name, value] of Object.entries(o.properties ?? {})) {
    if (!refProps.has(name)) {
      properties[name] = value;
      continue;
    }
    // Absent (or null) stays absent; an empty list stays an empty list.
    if (value === null || value === undefined) continue;
    references[name] = (value as { beacon: string }[]).map(({ beacon }) => {
      const match = BEACON.exec(beacon);
      if (!match) throw new Error(`Cannot read reference ${name} of ${o.id}: beacon "${beacon}"`);
      return { id: match[2]!.toLowerCase(), ...(match[1] ? { collection: match[1] } : {}) };
    });
  }
  const vectors: Record<string, Vector> = {};
  for (const [name, value] of Object.entries(o.vectors ?? {})) {
    if (!Array.isArray(value) || value.length === 0) continue;
    vectors[name] = Array.isArray(value[0])
      ? (value as number[][]).map((v) => Float32Array.from(v))
      : Float32Array.from(value as number[]);
  }
  return {
    id: o.id,
    properties,
    ...(o.vector?.length ? { vector: Float32Array.from(o.vector) } : {}),
    vectors,
    ...(Object.keys(references).length ? { references } : {}),
    ...(o.creationTimeUnix ? { createdAt: o.creationTimeUnix } : {}),
    ...(o.lastUpdateTimeUnix ? { updatedAt: o.lastUpdateTimeUnix } : {}),
  };
}
