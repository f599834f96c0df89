/**
 * Counts of objects matching index-backed filters — null state
 * (`indexNullState`) and property length (`indexPropertyLength`) — so that a
 * copy's inverted indexes can be compared with the original's. Objects can
 * be identical while these indexes differ (Weaviate 1.39 does not update the
 * null state of references added with `POST /v1/batch/references`).
 * @module
 */
import { graphqlInput } from "./graphql.ts";
import { messageOf, ServerError } from "../../src/errors.ts";
import type { PluginContext } from "../../src/plugin.ts";
import type { WeaviateConnection } from "./weaviate.ts";
import { isReference } from "./definition.ts";
import type { ClassDefinition } from "./weaviate_objects.ts";

/** A filter to count with: its key in an `index-stats` message and its GraphQL `where` input. */
export interface IndexFilter {
  /** `isNull(p)`, `len(p)=0` or `len(p)>0`. */
  key: string;
  where: Record<string, unknown>;
}

/** What counting found: counts by filter key, and why the server refused the other filters. */
export interface IndexCounts {
  counts: Record<string, number>;
  refused: Record<string, string>;
}

interface IndexSettings {
  indexNullState?: boolean;
  indexPropertyLength?: boolean;
}

/** Whether `definition` turns on an index that {@linkcode indexFilters} checks. */
export function hasIndexStats(definition: ClassDefinition): boolean {
  const settings = definition.invertedIndexConfig as IndexSettings | undefined;
  return settings?.indexNullState === true || settings?.indexPropertyLength === true;
}

/**
 * Data types with a length filter in Weaviate 1.39: text, arrays and
 * references. Other scalars refuse it; `uuid` accepts it, but its counts
 * tell nothing.
 */
function hasLength(dataType: string[]): boolean {
  const type = dataType[0] ?? "";
  return isReference(dataType) || type === "text" || type.endsWith("[]");
}

/**
 * The filters to count for `definition`: `isNull(p)` for every property
 * (references included) when null state is indexed, `len(p)=0` and
 * `len(p)>0` for text, array and reference properties when property length
 * is.
 *
 * @example
 * ```ts
 * import { indexFilters } from "./index_stats.ts";
 * const keys = indexFilters({
 *   class: "Docs",
 *   invertedIndexConfig: { indexNullState: true, indexPropertyLength: true },
 *   properties: [{ name: "tags", dataType: ["text[]"] }, { name: "author", dataType: ["People"] }],
 * }).map((f) => f.key);
 * const all = "isNull(tags) len(tags)=0 len(tags)>0 isNull(author) len(author)=0 len(author)>0";
 * if (keys.join(" ") !== all) {
 *   throw new Error(keys.join(" "));
 * }
 * ```
 */
export function indexFilters(definition: ClassDefinition): IndexFilter[] {
  const settings = (definition.invertedIndexConfig ?? {}) as IndexSettings;
  const filters: IndexFilter[] = [];
  for (const p of definition.properties ?? []) {
    if (settings.indexNullState === true) filters.push(filterFor(`isNull(${p.name})`)!);
    if (settings.indexPropertyLength === true && hasLength(p.dataType)) {
      filters.push(filterFor(`len(${p.name})=0`)!, filterFor(`len(${p.name})>0`)!);
    }
  }
  return filters;
}

const KEY = /^(?:isNull\((\w+)\)|len\((\w+)\)([=>])0)$/;

/** The filter a key names, or undefined for a key this version does not know. */
export function filterFor(key: string): IndexFilter | undefined {
  const match = KEY.exec(key);
  if (!match) return undefined;
  if (match[1]) {
    return { key, where: { path: [match[1]], operator: "IsNull", valueBoolean: true } };
  }
  return {
    key,
    where: {
      path: [`len(${match[2]})`],
      operator: match[3] === "=" ? "Equal" : "GreaterThan",
      valueInt: 0,
    },
  };
}

/**
 * Counts the objects of `collection` (and `tenant`) matching each filter. A
 * filter the server refuses (its index is off, the type has no such index)
 * is left out of `counts` and its reason kept in `refused`.
 */
export async function countFilters(
  conn: WeaviateConnection,
  collection: string,
  tenant: string | undefined,
  filters: IndexFilter[],
  ctx: PluginContext,
): Promise<IndexCounts> {
  const result: IndexCounts = { counts: {}, refused: {} };
  for (let i = 0; i < filters.length; i += CHUNK) {
    const chunk = filters.slice(i, i + CHUNK);
    const reply = await aggregate(conn, collection, tenant, chunk, ctx);
    for (const [j, filter] of chunk.entries()) {
      let answer = reply.answers[j]!;
      let general = reply.error;
      // An error not tied to one filter took the whole query with it: ask again alone.
      if (answer.count === undefined && answer.error === undefined && chunk.length > 1) {
        const alone = await aggregate(conn, collection, tenant, [filter], ctx);
        answer = alone.answers[0]!;
        general = alone.error;
      }
      if (answer.count !== undefined) {
        result.counts[filter.key] = answer.count;
        continue;
      }
      const reason = answer.error ?? general ?? "no count in the reply";
      result.refused[filter.key] = reason;
      ctx.log.debug(`index stats: the server refused ${filter.key}: ${reason}`, {
        collection,
        ...(tenant === undefined ? {} : { tenant }),
      });
    }
  }
  return result;
}

/**
 * Counts every filter of {@linkcode indexFilters} for `definition` (and
 * `tenant`), leaving out the ones the server refuses.
 */
export async function indexStatsFor(
  conn: WeaviateConnection,
  definition: ClassDefinition,
  tenant: string | undefined,
  ctx: PluginContext,
): Promise<Record<string, number>> {
  const filters = indexFilters(definition);
  return (await countFilters(conn, definition.class, tenant, filters, ctx)).counts;
}

/** Filters counted in one GraphQL query, each under its own alias. */
const CHUNK = 40;

interface AggregateReply {
  data?: { Aggregate?: Record<string, { meta?: { count?: number } }[] | null> | null } | null;
  errors?: { message: string; path?: (string | number)[] | null }[];
}

/** One filter's answer: a count, or the error the server tied to it. */
interface Answer {
  count?: number;
  error?: string;
}

/** Answers in the order of `filters`, and the errors not tied to any one filter. */
async function aggregate(
  conn: WeaviateConnection,
  collection: string,
  tenant: string | undefined,
  filters: IndexFilter[],
  ctx: PluginContext,
): Promise<{ answers: Answer[]; error?: string }> {
  const fields = filters.map((f, i) => {
    const args = [
      ...(tenant === undefined ? [] : [`tenant: ${JSON.stringify(tenant)}`]),
      `where: ${graphqlInput(f.where)}`,
    ];
    return `f${i}: ${collection}(${args.join(", ")}) { meta { count } }`;
  });
  let reply: AggregateReply;
  try {
    reply = await ctx.retry(() =>
      conn.rest<AggregateReply>("POST", "/v1/graphql", {
        query: `{ Aggregate { ${fields.join(" ")} } }`,
      })
    );
  } catch (error) {
    // A refused query may come back as a 400 or 422; anything else fails the run.
    const status = error instanceof ServerError ? error.status : undefined;
    if (status === 400 || status === 422) {
      return { answers: filters.map(() => ({})), error: messageOf(error) };
    }
    throw error;
  }
  // Weaviate answers each aliased field apart and ties its error to the alias.
  const found = reply.data?.Aggregate ?? {};
  const byAlias = new Map<string, string>();
  const general: string[] = [];
  for (const e of reply.errors ?? []) {
    const alias = e.path?.[1];
    if (typeof alias === "string" && /^f\d+$/.test(alias)) byAlias.set(alias, e.message);
    else general.push(e.message);
  }
  const answers = filters.map((_, i): Answer => {
    const count = found[`f${i}`]?.[0]?.meta?.count;
    if (typeof count === "number") return { count };
    const error = byAlias.get(`f${i}`);
    return error === undefined ? {} : { error };
  });
  return { answers, ...(general.length ? { error: general.join("; ") } : {}) };
}
