/**
 * `weaviate-reader`: reads collections from Weaviate — each full definition,
 * its tenants and the aliases pointing at it, then every object with its UUID, properties, references and
 * all vectors (unnamed, named, multi-vector), paged by UUID cursor. When the
 * collection indexes null state or property length, each collection (or
 * tenant) ends with an `index-stats` message: how many objects match the
 * index-backed filters, for a verify to compare with a copy.
 *
 * Objects are listed over REST (`GET /v1/objects?after=…`), not through the
 * client's gRPC `fetchObjects`: in weaviate-client 3.14 that path drops blob
 * properties, cuts dates to milliseconds and fails on multi-target
 * references, while the REST listing returns every value as stored.
 * @module
 */
import { type Definition, referencesFirst } from "./_shared/definition.ts";
import { z } from "zod";
import type { Message, TenantInfo } from "../src/messages.ts";
import { definePlugin, type PluginContext } from "../src/plugin.ts";
import { ServerError } from "../src/errors.ts";
import { compilePatterns } from "./_shared/patterns.ts";
import { connectionOptions, connectWeaviate, type WeaviateConnection } from "./_shared/weaviate.ts";
import { hasIndexStats, indexStatsFor } from "./_shared/index_stats.ts";
import { retryThroughRestart } from "./_shared/restart.ts";
import { activateForRead, tenantsPath } from "./_shared/tenants.ts";
import { type ClassDefinition, listObjects } from "./_shared/weaviate_objects.ts";

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
  ctx.log.info(`reading ${names.length} collection(s)`, { collections: names.join(",") });
  const read: ClassDefinition[] = [];
  for (const name of names) {
    read.push(
      await ctx.retry(() =>
        conn.rest<ClassDefinition>("GET", `/v1/schema/${encodeURIComponent(name)}`)
      ),
    );
  }
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
  for (const definition of definitions) {
    const name = definition.class;
    const multiTenant = definition.multiTenancyConfig?.enabled === true;
    const tenants = multiTenant
      ? (await retryThroughRestart(ctx, (signal) =>
        conn.rest<TenantInfo[]>(
          "GET",
          tenantsPath(name),
          undefined,
          { signal },
        ))).map((t) => ({ name: t.name, activityStatus: t.activityStatus }))
        .sort((a, b) => a.name.localeCompare(b.name))
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
    if (!tenants) {
      yield* readPartition(conn, definition, undefined, config, ctx);
      continue;
    }
    for (const tenant of tenants) {
      const lease = await activateForRead(conn, name, tenant, config.inactiveTenants, ctx);
      if (!lease) continue;
      // Index stats are counted while a COLD tenant is still active.
      yield* readPartition(conn, definition, tenant.name, config, ctx);
      await lease.release();
    }
  }
}

/** A collection's (or tenant's) objects, then its index stats when it has any. */
async function* readPartition(
  conn: WeaviateConnection,
  definition: ClassDefinition,
  tenant: string | undefined,
  config: WeaviateReaderConfig,
  ctx: PluginContext,
): AsyncGenerator<Message> {
  yield* listObjects(conn, definition, tenant, config, ctx);
  if (!hasIndexStats(definition)) return;
  yield {
    type: "index-stats",
    collection: definition.class,
    ...(tenant === undefined ? {} : { tenant }),
    counts: await indexStatsFor(conn, definition, tenant, ctx),
  };
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
    conn.rest<{ classes?: { class: string }[] }>("GET", "/v1/schema")
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
  return [...selected].sort();
}
