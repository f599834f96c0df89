/**
 * `weaviate-reader`: reads collections from Weaviate — each full definition,
 * its tenants and the aliases pointing at it, then every object with its
 * UUID, properties, references and all vectors (unnamed, named,
 * multi-vector), paged by UUID cursor.
 *
 * Objects are read in partitions (the collection, or each tenant), up to
 * `runtime.concurrency` at once, their messages interleaved: each partition
 * is `partition-start` (with the server's count), its `objects` pages in
 * order, then — when the collection indexes null state or property length —
 * an `index-stats` message (how many objects match the index-backed filters,
 * for a verify to compare with a copy), and `partition-end`. A collection's
 * message comes before any of its partitions.
 *
 * Objects are listed with Weaviate's gRPC `Search` (`after` cursor), decoded
 * here so that vectors stay float32 bytes (flag `grpc-reader`; see
 * `weaviate_reader/grpc_listing.ts` for what is read over REST instead), or
 * over REST (`GET /v1/objects?after=…`). Not through the client's
 * `fetchObjects`: in weaviate-client 3.14 that path drops blob properties,
 * cuts dates to milliseconds and fails on multi-target references.
 * @module
 */
import { type Definition, referencesFirst } from "./_shared/definition.ts";
import { z } from "zod";
import { type Message, partitionKey, type TenantInfo } from "../src/messages.ts";
import { mergePartitions, type PartitionReader } from "../src/partitions.ts";
import { definePlugin, type PluginContext } from "../src/plugin.ts";
import { messageOf, ServerError } from "../src/errors.ts";
import { compilePatterns } from "./_shared/patterns.ts";
import { connectionOptions, connectWeaviate, type WeaviateConnection } from "./_shared/weaviate.ts";
import { hasIndexStats, indexStatsFor } from "./_shared/index_stats.ts";
import { countObjects } from "./_shared/graphql.ts";
import { activateForRead, listTenants } from "./_shared/tenants.ts";
import {
  cacheDefinitions,
  type ClassDefinition,
  listObjects,
  readDefinition,
} from "./_shared/weaviate_objects.ts";
import { GrpcListing } from "./weaviate_reader/grpc_listing.ts";

/** Options of {@linkcode weaviateReader}. */
export const weaviateReaderConfig = z.strictObject({
  ...connectionOptions,
  collections: z.array(z.string().min(1)).min(1).default(["*"])
    .describe('Collections to read: names or patterns with "*" (default: all)'),
  objects: z.boolean().default(true)
    .describe("Read objects; false reads definitions and tenants only (schema-only backup)"),
  includeVectors: z.boolean().default(true).describe("Read every vector of every object"),
  pageSize: z.number().int().min(1).max(10_000).default(500)
    .describe("Objects per page (at most the server's QUERY_MAXIMUM_RESULTS)"),
  inactiveTenants: z.enum(["activate", "skip", "fail"]).default("activate")
    .describe(
      "COLD tenants: activate them for the read and set them COLD again, skip them (recorded), or fail",
    ),
});

/** Parsed options of {@linkcode weaviateReader}. */
export type WeaviateReaderConfig = z.output<typeof weaviateReaderConfig>;

/** The `weaviate-reader` source plugin. */
export const weaviateReader = definePlugin({
  name: "weaviate-reader",
  description: "Reads collection definitions, tenants and objects with all vectors from Weaviate.",
  kind: "source",
  config: weaviateReaderConfig,
  create(config, ctx) {
    return ReadableStream.from(read(config, ctx));
  },
});

async function* read(config: WeaviateReaderConfig, ctx: PluginContext): AsyncGenerator<Message> {
  const conn = await connectWeaviate(config, ctx);
  const names = await selectCollections(conn, config.collections, ctx);
  ctx.log.info(`reading ${names.length} collection(s)`, {
    collections: names.join(","),
    concurrency: ctx.concurrency,
  });
  const read: ClassDefinition[] = [];
  for (const name of names) read.push(await readDefinition(conn, name, ctx));
  // Referenced collections first: a restore or migrate then finds their objects in place.
  const definitions = referencesFirst(read, (d) => d as Definition);
  const aliases = await readAliases(conn, ctx);
  yield {
    type: "source-info",
    system: "weaviate",
    version: conn.version,
    url: conn.url,
    definitions,
  };
  const listing: Listing = config.objects && ctx.flags.enabled("grpc-reader")
    ? new GrpcListing(conn, config, ctx)
    : restListing(conn, ctx);
  yield* mergePartitions(
    collections(conn, listing, definitions, aliases, config, ctx),
    ctx.concurrency,
  );
}

/** Lists one partition's objects, page by page. */
interface Listing {
  list(
    definition: ClassDefinition,
    tenant: string | undefined,
    config: WeaviateReaderConfig,
  ): AsyncGenerator<Message>;
}

/** The REST listing, for runs with the flag `grpc-reader` off. */
function restListing(conn: WeaviateConnection, ctx: PluginContext): Listing {
  const logged = new Set<string>();
  return {
    list(definition, tenant, config) {
      if (!logged.has(definition.class)) {
        logged.add(definition.class);
        ctx.log.info("listing objects over REST", { collection: definition.class });
      }
      return listObjects(conn, definition, tenant, config, ctx);
    },
  };
}

/**
 * Each collection's message, then a reader for each of its partitions (the
 * collection, or each tenant): the pool starts them in this order.
 */
async function* collections(
  conn: WeaviateConnection,
  listing: Listing,
  definitions: ClassDefinition[],
  aliases: Map<string, string[]>,
  config: WeaviateReaderConfig,
  ctx: PluginContext,
): AsyncGenerator<Message | PartitionReader> {
  for (const definition of definitions) {
    const name = definition.class;
    const tenants = definition.multiTenancyConfig?.enabled === true
      ? (await listTenants(conn, name, ctx)).sort((a, b) => a.name.localeCompare(b.name))
      : undefined;
    yield {
      type: "collection",
      collection: name,
      definition,
      ...(tenants ? { tenants } : {}),
      ...(config.objects ? {} : { schemaOnly: true }),
      ...(aliases.has(name) ? { aliases: aliases.get(name)!.sort() } : {}),
    };
    if (!config.objects) continue;
    for (const tenant of tenants ?? [undefined]) {
      yield () => readPartition(conn, listing, definition, tenant, config, ctx);
    }
  }
}

/**
 * One partition: `partition-start` with the server's count, its objects page
 * by page, its index stats when the collection has any, `partition-end`. A
 * COLD tenant is active from before the count until the partition ends (or
 * is cancelled).
 */
async function* readPartition(
  conn: WeaviateConnection,
  listing: Listing,
  definition: ClassDefinition,
  tenantInfo: TenantInfo | undefined,
  config: WeaviateReaderConfig,
  ctx: PluginContext,
): AsyncGenerator<Message> {
  const collection = definition.class;
  const lease = tenantInfo
    ? await activateForRead(conn, collection, tenantInfo, config.inactiveTenants, ctx)
    : undefined;
  if (tenantInfo && !lease) return;
  const tenant = tenantInfo?.name;
  const frame = {
    partition: partitionKey(collection, tenant),
    collection,
    ...(tenant === undefined ? {} : { tenant }),
  };
  try {
    yield { type: "partition-start", ...frame, ...await totalOf(conn, collection, tenant, ctx) };
    let objects = 0;
    let cursor: string | undefined;
    for await (const message of listing.list(definition, tenant, config)) {
      if (message.type === "objects") {
        objects += message.objects.length;
        cursor = message.cursor;
      }
      yield message;
    }
    // Counted while a COLD tenant is still active.
    if (hasIndexStats(definition)) {
      yield {
        type: "index-stats",
        collection,
        ...(tenant === undefined ? {} : { tenant }),
        counts: await indexStatsFor(conn, definition, tenant, ctx),
      };
    }
    yield { type: "partition-end", ...frame, objects, ...(cursor ? { cursor } : {}) };
  } finally {
    await lease?.release();
  }
}

/**
 * The server's object count of a partition, for progress totals; left out
 * when the server cannot count it (e.g. while it loads its schema after a
 * restart, which the listing itself rides out).
 */
async function totalOf(
  conn: WeaviateConnection,
  collection: string,
  tenant: string | undefined,
  ctx: PluginContext,
): Promise<{ total?: number }> {
  try {
    return { total: await countObjects(conn, collection, tenant, ctx) };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    ctx.log.debug(`no object count: ${messageOf(error)}`, {
      collection,
      ...(tenant === undefined ? {} : { tenant }),
    });
    return {};
  }
}

/** Alias names by the collection they point at; none on servers before 1.32. */
async function readAliases(
  conn: WeaviateConnection,
  ctx: PluginContext,
): Promise<Map<string, string[]>> {
  const byCollection = new Map<string, string[]>();
  let listed: { aliases?: { alias: string; class: string }[] };
  try {
    listed = await ctx.retry(() => conn.rest("GET", "/v1/aliases"));
  } catch (error) {
    if (error instanceof ServerError && (error.status === 404 || error.status === 405)) {
      return byCollection;
    }
    throw error;
  }
  for (const { alias, class: target } of listed.aliases ?? []) {
    byCollection.set(target, [...(byCollection.get(target) ?? []), alias]);
  }
  return byCollection;
}

async function selectCollections(
  conn: WeaviateConnection,
  patterns: string[],
  ctx: PluginContext,
): Promise<string[]> {
  const schema = await ctx.retry(() =>
    conn.rest<{ classes?: ClassDefinition[] }>("GET", "/v1/schema")
  );
  const all = (schema.classes ?? []).map((c) => c.class).sort();
  const selected = new Set<string>();
  for (const pattern of patterns) {
    if (!pattern.includes("*")) {
      const found = all.find((n) => n.toLowerCase() === pattern.toLowerCase());
      if (!found) {
        throw new ServerError(
          `Cannot read collection "${pattern}": it does not exist (server has: ${
            all.join(", ") || "none"
          })`,
          { retryable: false },
        );
      }
      selected.add(found);
      continue;
    }
    const matches = compilePatterns([pattern]);
    for (const name of all) if (matches(name)) selected.add(name);
  }
  // The listing holds each definition in full: no GET per collection is needed.
  cacheDefinitions(conn, (schema.classes ?? []).filter((c) => selected.has(c.class)), ctx);
  return [...selected].sort();
}
