/**
 * Checks of a written copy: object counts per collection and tenant, and
 * every written object read back and compared by content hash.
 * @module
 */
import { IntegrityError, ServerError } from "../../src/errors.ts";
import { countObjects } from "./graphql.ts";
import type { WeftObject } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import type { WeaviateConnection } from "./weaviate.ts";
import { type ClassDefinition, listObjects } from "./weaviate_objects.ts";

/**
 * Compares the server's count per tenant ("" without tenants) with what was
 * written; `preexisting`: objects may have been there before, so counts may
 * be higher. Throws on a difference.
 */
export async function checkCounts(
  conn: WeaviateConnection,
  collection: string,
  written: Map<string, number>,
  preexisting: boolean,
  ctx: PluginContext,
): Promise<void> {
  for (const [tenant, expected] of written) {
    const count = await countObjects(conn, collection, tenant || undefined, ctx);
    const where = `"${collection}"${tenant ? ` tenant "${tenant}"` : ""}`;
    if (count < expected || (!preexisting && count !== expected)) {
      throw new ServerError(
        `Cannot confirm the copy: ${where} holds ${count} objects, ${expected} were written`,
        { retryable: false },
      );
    }
    ctx.log.info(`checked ${where}: ${count} objects`);
  }
}

/**
 * Reads every object whose hash `hashes` holds (per tenant, "" without) back
 * from `collection` and compares `hash(object)`; throws on any difference.
 * Empties `hashes`.
 */
export async function checkContents(
  conn: WeaviateConnection,
  collection: string,
  hashes: Map<string, Map<string, string>>,
  hash: (object: WeftObject) => string,
  options: { includeVectors: boolean },
  ctx: PluginContext,
): Promise<void> {
  const definition = await ctx.retry(() =>
    conn.rest<ClassDefinition>("GET", `/v1/schema/${encodeURIComponent(collection)}`)
  );
  const page = { pageSize: 500, includeVectors: options.includeVectors };
  const changed: string[] = [];
  const missing: string[] = [];
  let compared = 0;
  for (const [tenant, expected] of hashes) {
    for await (const batch of listObjects(conn, definition, tenant || undefined, page, ctx)) {
      if (batch.type !== "objects") continue;
      for (const o of batch.objects) {
        const want = expected.get(o.id);
        if (want === undefined) continue; // there before this run
        expected.delete(o.id);
        compared++;
        if (hash(o) !== want) changed.push(o.id);
      }
    }
    missing.push(...expected.keys());
    expected.clear();
  }
  if (changed.length || missing.length) {
    const list = (ids: string[]) =>
      ids.slice(0, 5).join(", ") + (ids.length > 5 ? `, … (${ids.length} in all)` : "");
    throw new IntegrityError(
      `Cannot confirm the copy of "${collection}": ${
        [
          changed.length ? `${changed.length} objects differ (${list(changed)})` : "",
          missing.length ? `${missing.length} objects missing (${list(missing)})` : "",
        ].filter(Boolean).join(", ")
      }`,
    );
  }
  ctx.log.info(`checked "${collection}": ${compared} objects read back, content identical`);
}
