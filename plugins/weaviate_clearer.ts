/**
 * `weaviate-clearer`: deletes the objects of the collections that flow in —
 * all of them, those of given tenants, or those matching a filter — and keeps
 * each definition. Counts first; deletes only when the run is confirmed.
 *
 * It acts on `collection` messages alone and keeps no state between them, so
 * partitions (interleaved or not) pass by. A collection's tenants are looked
 * up once, through the run's cache: in `clear.yaml` the reader's look-up.
 * @module
 */
import {
  activateForRead,
  isActive,
  listTenants,
  type TenantLease,
  tenantsChanged,
} from "./_shared/tenants.ts";
import { countObjects } from "./_shared/graphql.ts";
import { join } from "node:path";
import { z } from "zod";
import { messageOf, ServerError } from "../src/errors.ts";
import type { CollectionMessage, Message, TenantInfo } from "../src/messages.ts";
import { definePlugin, type PluginContext } from "../src/plugin.ts";
import { connectionOptions, connectWeaviate, type WeaviateConnection } from "./_shared/weaviate.ts";

/** Options of {@linkcode weaviateClearer}. */
export const weaviateClearerConfig = z.strictObject({
  ...connectionOptions,
  tenants: z.array(z.string().min(1)).optional()
    .describe("Clear only these tenants (default: every tenant)"),
  where: z.record(z.string(), z.unknown()).optional()
    .describe(
      "Delete only objects matching this REST filter, e.g. { path: [status], operator: Equal, valueText: draft }",
    ),
  strategy: z.enum(["auto", "delete", "recreate"]).default("auto")
    .describe(
      "How a whole collection is cleared: delete objects in batches, or drop and recreate it from its definition (auto: recreate from 10,000 objects up)",
    ),
});

/** Parsed options of {@linkcode weaviateClearer}. */
export type WeaviateClearerConfig = z.output<typeof weaviateClearerConfig>;

/** Whole collections with at least this many objects are dropped and recreated (measured faster). */
export const RECREATE_FROM = 10_000;
const MATCH_ALL = { path: ["id"], operator: "Like", valueText: "*" };

/** The `weaviate-clearer` sink plugin. */
export const weaviateClearer = definePlugin({
  name: "weaviate-clearer",
  description:
    "Deletes objects of the incoming collections (all, by tenant or by filter) and keeps their definitions.",
  kind: "sink",
  config: weaviateClearerConfig,
  async create(config, ctx) {
    const conn = await connectWeaviate(config, ctx);
    ctx.setOutput(conn.url);
    return new WritableStream<Message>({
      async write(message) {
        if (message.type === "collection") await clear(conn, message, config, ctx);
      },
    });
  },
});

async function clear(
  conn: WeaviateConnection,
  message: CollectionMessage,
  config: WeaviateClearerConfig,
  ctx: PluginContext,
): Promise<void> {
  const name = message.collection;
  const all = message.tenants?.map((t) => t.name);
  if (config.tenants && !all) {
    throw new Error(`Cannot clear tenants of "${name}": it is not multi-tenant`);
  }
  const missing = config.tenants?.filter((t) => !all!.includes(t)) ?? [];
  if (missing.length) throw new Error(`Cannot clear "${name}": no tenant ${missing.join(", ")}`);
  const partitions: (string | undefined)[] = config.tenants ?? all ?? [undefined];
  const inactive = new Set(
    (message.tenants ?? []).filter((t) => !isActive(t.activityStatus)).map((t) => t.name),
  );
  const counts = new Map<string | undefined, number>();
  for (const tenant of partitions) {
    // Inactive tenants cannot be counted; they are cleared all the same.
    counts.set(
      tenant,
      inactive.has(tenant!) ? NaN : await countObjects(conn, name, tenant, ctx, config.where),
    );
  }
  const total = [...counts.values()].reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0);
  const detail = message.tenants
    ? ` in ${partitions.length} tenant(s): ${
      [...counts].map(([t, n]) => `${t}=${Number.isNaN(n) ? "?" : n}`).join(", ")
    }`
    : "";
  const what = `${total} objects of "${name}"${
    config.where ? " matching the filter" : ""
  }${detail}`;
  const whole = !config.where && !config.tenants;
  const recreate = whole &&
    (config.strategy === "recreate" || (config.strategy === "auto" && total >= RECREATE_FROM));

  if (!(await ctx.confirm({ action: `Delete ${what}; the definition stays.`, expect: name }))) {
    ctx.log.warn(`dry run: would delete ${what} (confirm with --yes)`);
    ctx.metrics.add("objectsToDelete", total);
    return;
  }
  if (recreate) {
    await dropAndRecreate(conn, message, ctx);
    ctx.metrics.add("objectsDeleted", total);
    ctx.log.info(`deleted ${what} (dropped and recreated)`);
    return;
  }
  // One look-up for all tenants (shared through the run's cache with the reader).
  const live = message.tenants
    ? new Map((await listTenants(conn, name, ctx)).map((t) => [t.name, t]))
    : undefined;
  let deleted = 0;
  for (const tenant of partitions) {
    const found = tenant === undefined ? undefined : live?.get(tenant);
    deleted += await deleteMatching(conn, name, tenant, found, config.where, ctx);
  }
  ctx.log.info(
    `deleted ${deleted} objects of "${name}"${config.where ? " matching the filter" : ""}`,
  );
}

/**
 * Deletes every object of `name` (and `tenant`, whose current status is
 * `status`) matching `where`; resolves with how many.
 */
async function deleteMatching(
  conn: WeaviateConnection,
  name: string,
  tenant: string | undefined,
  status: TenantInfo | undefined,
  where: Record<string, unknown> | undefined,
  ctx: PluginContext,
): Promise<number> {
  const path = `/v1/batch/objects${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ""}`;
  let lease: TenantLease | undefined;
  // Objects of an inactive tenant can only be deleted while it is active; it is set back after.
  if (status) lease = await activateForRead(conn, name, status, "activate", ctx);
  let deleted = 0;
  try {
    // Each call deletes at most QUERY_MAXIMUM_RESULTS objects: repeat until none match.
    for (;;) {
      const reply = await ctx.retry(() =>
        conn.rest<{ results: { matches: number; successful: number; failed: number } }>(
          "DELETE",
          path,
          { match: { class: name, where: where ?? MATCH_ALL }, output: "minimal" },
        )
      );
      if (reply.results.failed > 0) {
        throw new ServerError(`Cannot delete ${reply.results.failed} objects of "${name}"`, {
          retryable: false,
        });
      }
      deleted += reply.results.successful;
      ctx.metrics.add("objectsDeleted", reply.results.successful);
      if (reply.results.successful > 0) {
        ctx.log.info(`deleted a batch of ${reply.results.successful}`, {
          collection: name,
          ...(tenant ? { tenant } : {}),
        });
      }
      if (reply.results.matches === 0 || reply.results.successful === 0) break;
    }
  } finally {
    await lease?.release();
  }
  return deleted;
}

async function dropAndRecreate(
  conn: WeaviateConnection,
  message: CollectionMessage,
  ctx: PluginContext,
): Promise<void> {
  const name = message.collection;
  const original: Record<string, unknown> = { ...message.definition };
  // Output-only for multi-tenant collections; the server refuses it on create.
  if ((original.multiTenancyConfig as { enabled?: boolean } | undefined)?.enabled) {
    delete original.shardingConfig;
  }
  const path = `/v1/schema/${encodeURIComponent(name)}`;
  await ctx.retry(() => conn.rest("DELETE", path));
  // Nothing cached about the dropped collection (definition, tenants) is served again.
  ctx.cache.definitionChanged(name);
  try {
    await ctx.retry(() => conn.rest("POST", "/v1/schema", original));
  } catch (error) {
    // A retry after a lost answer is refused as "already exists": look before giving up.
    const exists = await conn.rest("GET", path).then(() => true, () => false);
    if (!exists) await keepDefinition(name, original, error, ctx);
  }
  if (message.tenants?.length) {
    const tenants = message.tenants.map((t) => ({
      name: t.name,
      activityStatus: t.activityStatus,
    }));
    for (let i = 0; i < tenants.length; i += 100) {
      const chunk = tenants.slice(i, i + 100);
      await ctx.retry(() => conn.rest("POST", `${path}/tenants`, chunk));
    }
    tenantsChanged(conn, name, ctx);
  }
}

/**
 * The collection was dropped (its objects deleted, as confirmed) but could not
 * be created again: its definition must not be lost with it. Saves it to a
 * file (or, failing that, logs it) and throws naming where it is.
 */
async function keepDefinition(
  name: string,
  definition: Record<string, unknown>,
  cause: unknown,
  ctx: PluginContext,
): Promise<never> {
  const json = JSON.stringify(definition, null, 2) + "\n";
  const file = join(ctx.cwd, `weft-${name}-definition-${Date.now()}.json`);
  let kept = `its definition is saved in ${file} (create it with POST /v1/schema)`;
  try {
    await Deno.writeTextFile(file, json);
  } catch {
    ctx.log.error(`definition of "${name}", to create it again: ${json}`);
    kept = "its definition is in the log above (create it with POST /v1/schema)";
  }
  throw new ServerError(
    `Cannot recreate "${name}" after dropping it: ${messageOf(cause)}; ${kept}`,
    { retryable: false },
  );
}
