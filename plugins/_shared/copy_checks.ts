/**
 * Checks of a written copy: object counts per collection and tenant, and
 * every written object read back and compared by content hash — in bounded
 * memory: both sides are merged in UUID order, spilling past a threshold.
 * @module
 */
import { IntegrityError, ServerError } from "../../src/errors.ts";
import { countObjects } from "./graphql.ts";
import type { WeftObject } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { SpillMap } from "./spill.ts";
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

/** The objects of one tenant ("" without tenants) that must be found, and their hashes. */
export interface ExpectedContent {
  tenant: string;
  /** [lower-case UUID, content hash], in UUID order. */
  expected: AsyncIterable<[string, string]>;
}

/**
 * Reads back every tenant of `collection` that `groups` names and compares
 * `hash(object)` with the expected hash; objects not expected were there
 * before and are not compared. Throws an {@linkcode IntegrityError} naming
 * changed and missing objects.
 */
export async function checkContents(
  conn: WeaviateConnection,
  collection: string,
  groups: AsyncIterable<ExpectedContent>,
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
  const counts = { changed: 0, missing: 0, compared: 0 };
  for await (const { tenant, expected } of groups) {
    // The listing's order is the server's: sort it the same way as the expected side.
    const actual = new SpillMap();
    try {
      for await (const batch of listObjects(conn, definition, tenant || undefined, page, ctx)) {
        if (batch.type !== "objects") continue;
        for (const o of batch.objects) await actual.set(o.id.toLowerCase(), hash(o));
      }
      for await (const [id, want, got] of join(expected, actual.entries())) {
        if (got === undefined) {
          if (counts.missing++ < 5) missing.push(id);
        } else {
          counts.compared++;
          if (got !== want && counts.changed++ < 5) changed.push(id);
        }
      }
    } finally {
      await actual.close();
    }
  }
  if (counts.changed || counts.missing) {
    const list = (ids: string[], n: number) => ids.join(", ") + (n > 5 ? `, … (${n} in all)` : "");
    throw new IntegrityError(
      `Cannot confirm the copy of "${collection}": ${
        [
          counts.changed
            ? `${counts.changed} objects differ (${list(changed, counts.changed)})`
            : "",
          counts.missing
            ? `${counts.missing} objects missing (${list(missing, counts.missing)})`
            : "",
        ].filter(Boolean).join(", ")
      }`,
    );
  }
  ctx.log.info(
    `checked "${collection}": ${counts.compared} objects read back, content identical`,
  );
}

/** Every key of `left` with its value and `right`'s (undefined if absent); both sorted by key. */
async function* join(
  left: AsyncIterable<[string, string]>,
  right: AsyncIterable<[string, string]>,
): AsyncGenerator<[string, string, string | undefined]> {
  const other = right[Symbol.asyncIterator]();
  let next = await other.next();
  for await (const [key, value] of left) {
    while (!next.done && next.value[0] < key) next = await other.next();
    yield [key, value, !next.done && next.value[0] === key ? next.value[1] : undefined];
  }
}
