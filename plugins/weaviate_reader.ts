/**
 * `weaviate-reader`: reads collections from Weaviate — each full definition,
 * its tenants, then every object with its UUID, properties, references and
 * all vectors (default, named, multi-vector), paged by UUID cursor over gRPC.
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
    .describe("Objects per gRPC page (at most the server's QUERY_MAXIMUM_RESULTS)"),
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
  const refProps = (definition.properties ?? []).filter((p) => isReference(p.dataType));
  const singleTarget = new Map(
    refProps.filter((p) => p.dataType.length === 1).map((p) => [p.name, p.dataType[0]!]),
  );
  const base = conn.client.collections.use(definition.class);
  const collection = tenant === undefined ? base : base.withTenant(tenant);
  let after: string | undefined;
  for (;;) {
    const page = await ctx.retry(() =>
      collection.query.fetchObjects({
        limit: config.pageSize,
        ...(after ? { after } : {}),
        includeVector: config.includeVectors,
        ...(refProps.length ? { returnReferences: refProps.map((p) => ({ linkOn: p.name })) } : {}),
      })
    );
    if (page.objects.length === 0) return;
    const objects = page.objects.map((o) => toWeftObject(o, singleTarget));
    yield {
      type: "objects",
      collection: definition.class,
      ...(tenant === undefined ? {} : { tenant }),
      objects,
    };
    if (page.objects.length < config.pageSize) return;
    after = objects[objects.length - 1]!.id;
  }
}

interface ClientObject {
  uuid: string;
  properties: Record<string, unknown>;
  vectors: Record<string, unknown>;
  references?:
    | Record<string, { targetCollection?: string; objects: { uuid: string }[] }>
    | undefined;
}

function toWeftObject(o: ClientObject, singleTarget: Map<string, string>): WeftObject {
  const vectors: Record<string, Vector> = {};
  for (const [name, value] of Object.entries(o.vectors ?? {})) {
    if (!Array.isArray(value) || value.length === 0) continue;
    vectors[name] = Array.isArray(value[0])
      ? (value as number[][]).map((v) => Float32Array.from(v))
      : Float32Array.from(value as number[]);
  }
  const out: WeftObject = {
    id: o.uuid,
    properties: plain(o.properties) as Record<string, unknown>,
    vectors,
  };
  if (o.references) {
    const references: Record<string, ObjectReference[]> = {};
    for (const [prop, ref] of Object.entries(o.references)) {
      const collection = singleTarget.get(prop) ?? ref.targetCollection;
      references[prop] = ref.objects.map((r) => ({
        id: r.uuid,
        ...(collection ? { collection } : {}),
      }));
    }
    out.references = references;
  }
  return out;
}

/** Property values in REST JSON shape: dates as RFC 3339, absent values dropped. */
function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plain(v);
    return out;
  }
  return value;
}

function isReference(dataType: string[]): boolean {
  const first = dataType[0] ?? "";
  return first.length > 0 && first[0] === first[0]!.toUpperCase() &&
    first[0] !== first[0]!.toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}
