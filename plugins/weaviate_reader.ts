/**
 * `weaviate-reader`: reads collections from Weaviate — each full definition,
 * its tenants, then every object with its UUID, properties, references and
 * all vectors (unnamed, named, multi-vector), paged by UUID cursor.
 *
 * Objects are listed over REST (`GET /v1/objects?after=…`), not through the
 * client's gRPC `fetchObjects`: in weaviate-client 3.14 that path drops blob
 * properties, cuts dates to milliseconds and fails on multi-target
 * references, while the REST listing returns every value as stored.
 * @module
 */
import { z } from "zod";
import type { Message, ObjectReference, TenantInfo, Vector, WeftObject } from "../src/messages.ts";
import { definePlugin, type PluginContext } from "../src/plugin.ts";
import { ServerError } from "../src/errors.ts";
import { connectionOptions, connectWeaviate, type WeaviateConnection } from "./_shared/weaviate.ts";

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

interface ClassDefinition {
  class: string;
  properties?: { name: string; dataType: string[] }[];
  multiTenancyConfig?: { enabled?: boolean };
  [key: string]: unknown;
}

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
  yield { type: "source-info", system: "weaviate", version: conn.version, url: conn.url };
  const names = await selectCollections(conn, config.collections, ctx);
  ctx.log.info(`reading ${names.length} collection(s)`, { collections: names.join(",") });
  for (const name of names) {
    const definition = await ctx.retry(() =>
      conn.rest<ClassDefinition>("GET", `/v1/schema/${encodeURIComponent(name)}`)
    );
    const multiTenant = definition.multiTenancyConfig?.enabled === true;
    const tenants = multiTenant
      ? (await ctx.retry(() =>
        conn.rest<TenantInfo[]>("GET", `/v1/schema/${encodeURIComponent(name)}/tenants`)
      )).map((t) => ({ name: t.name, activityStatus: t.activityStatus }))
        .sort((a, b) => a.name.localeCompare(b.name))
      : undefined;
    yield {
      type: "collection",
      collection: name,
      definition,
      ...(tenants ? { tenants } : {}),
      ...(config.objects ? {} : { schemaOnly: true }),
    };
    if (!config.objects) continue;
    if (!tenants) {
      yield* readPartition(conn, definition, undefined, config, ctx);
      continue;
    }
    for (const tenant of tenants) {
      if (!(await ensureReadable(conn, name, tenant, config, ctx))) continue;
      yield* readPartition(conn, definition, tenant.name, config, ctx);
    }
  }
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
    const re = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`, "i");
    for (const name of all) if (re.test(name)) selected.add(name);
  }
  return [...selected].sort();
}

/** Makes a COLD tenant readable according to `inactiveTenants`; false means skip it. */
async function ensureReadable(
  conn: WeaviateConnection,
  collection: string,
  tenant: TenantInfo,
  config: WeaviateReaderConfig,
  ctx: PluginContext,
): Promise<boolean> {
  const status = tenant.activityStatus.toUpperCase();
  if (status === "HOT" || status === "ACTIVE") return true;
  const where = `tenant "${tenant.name}" of "${collection}" is ${status}`;
  if (config.inactiveTenants === "skip") {
    ctx.log.warn(`skipping ${where}: its objects are not in this backup`);
    ctx.metrics.add("tenantsSkipped");
    return false;
  }
  if (config.inactiveTenants === "fail" || status !== "COLD" && status !== "INACTIVE") {
    throw new ServerError(
      `Cannot read ${where}; activate it first or set inactiveTenants: ${
        status === "COLD" ? "activate or " : ""
      }skip`,
      { retryable: false },
    );
  }
  const path = `/v1/schema/${encodeURIComponent(collection)}/tenants`;
  ctx.log.info(`activating ${where} for the read; it is set back to ${status} afterwards`);
  await ctx.retry(() => conn.rest("PUT", path, [{ name: tenant.name, activityStatus: "HOT" }]));
  ctx.onClose(async () => {
    await conn.rest("PUT", path, [{ name: tenant.name, activityStatus: status }]);
  });
  return true;
}

async function* readPartition(
  conn: WeaviateConnection,
  definition: ClassDefinition,
  tenant: string | undefined,
  config: WeaviateReaderConfig,
  ctx: PluginContext,
): AsyncGenerator<Message> {
  const refProps = new Set(
    (definition.properties ?? []).filter((p) => isReference(p.dataType)).map((p) => p.name),
  );
  const query = new URLSearchParams({ class: definition.class, limit: String(config.pageSize) });
  if (config.includeVectors) query.set("include", "vector");
  if (tenant !== undefined) query.set("tenant", tenant);
  for (;;) {
    const page = await ctx.retry(() =>
      conn.rest<{ objects?: RestObject[] }>("GET", `/v1/objects?${query}`)
    );
    const found = page.objects ?? [];
    if (found.length === 0) return;
    const objects = found.map((o) => toWeftObject(o, refProps));
    yield {
      type: "objects",
      collection: definition.class,
      ...(tenant === undefined ? {} : { tenant }),
      objects,
    };
    if (found.length < config.pageSize) return;
    query.set("after", objects[objects.length - 1]!.id);
  }
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

function toWeftObject(o: RestObject, refProps: Set<string>): WeftObject {
  const properties: Record<string, unknown> = {};
  const references: Record<string, ObjectReference[]> = {};
  for (const [name, value] of Object.entries(o.properties ?? {})) {
    if (!refProps.has(name)) {
      properties[name] = value;
      continue;
    }
    references[name] = ((value ?? []) as { beacon: string }[]).map(({ beacon }) => {
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

function isReference(dataType: string[]): boolean {
  const first = dataType[0] ?? "";
  return first.length > 0 && first[0] === first[0]!.toUpperCase() &&
    first[0] !== first[0]!.toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}
