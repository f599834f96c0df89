/**
 * Aliases (Weaviate 1.32+): recreate the ones a backup recorded without ever
 * moving an existing one, and point one at a new copy on request.
 * @module
 */
import { ServerError } from "../../src/errors.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { olderThan } from "./definition.ts";
import type { WeaviateConnection } from "./weaviate.ts";

const aliasPath = (alias: string) => `/v1/aliases/${encodeURIComponent(alias)}`;

/** The collection `alias` points at, or undefined when there is no such alias. */
async function aliasTarget(
  conn: WeaviateConnection,
  alias: string,
  ctx: PluginContext,
): Promise<string | undefined> {
  try {
    return (await ctx.retry(() => conn.rest<{ class: string }>("GET", aliasPath(alias)))).class;
  } catch (error) {
    if (error instanceof ServerError && error.status === 404) return undefined;
    throw error;
  }
}

/** Creates `alias` → `collection` unless the alias exists; never moves one. */
export async function restoreAlias(
  conn: WeaviateConnection,
  alias: string,
  collection: string,
  ctx: PluginContext,
): Promise<void> {
  if (olderThan(conn.version, "1.32.0")) {
    ctx.log.warn(`alias "${alias}" not created: Weaviate ${conn.version} has no aliases`);
    return;
  }
  const current = await aliasTarget(conn, alias, ctx);
  if (current === collection) return;
  if (current) {
    ctx.log.warn(
      `alias "${alias}" points at "${current}" here; left alone (it pointed at "${collection}" at the source)`,
    );
    return;
  }
  await ctx.retry(() => conn.rest("POST", "/v1/aliases", { alias, class: collection }));
  ctx.log.info(`created alias "${alias}" → "${collection}"`);
  ctx.metrics.add("aliasesCreated");
}

/** Points `alias` at `collection`, creating it if needed. */
export async function pointAlias(
  conn: WeaviateConnection,
  alias: string,
  collection: string,
  ctx: PluginContext,
): Promise<void> {
  if (await aliasTarget(conn, alias, ctx) !== undefined) {
    await ctx.retry(() => conn.rest("PUT", aliasPath(alias), { class: collection }));
  } else {
    await ctx.retry(() => conn.rest("POST", "/v1/aliases", { alias, class: collection }));
  }
  ctx.log.info(`alias "${alias}" now points at "${collection}"`);
}

/**
 * Once a copy checks out: points `alias` (if set) at the single collection
 * written, and restores the aliases each collection had at the source.
 */
export async function aliasCopies(
  conn: WeaviateConnection,
  alias: string | undefined,
  collections: { name: string; aliases: string[] }[],
  ctx: PluginContext,
): Promise<void> {
  if (alias) {
    if (collections.length !== 1) {
      throw new Error(
        `Cannot point alias "${alias}": the run wrote ${collections.length} collections, not one`,
      );
    }
    await pointAlias(conn, alias, collections[0]!.name, ctx);
  }
  for (const collection of collections) {
    for (const recorded of collection.aliases) {
      await restoreAlias(conn, recorded, collection.name, ctx);
    }
  }
}
