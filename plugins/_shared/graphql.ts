/**
 * Counting objects with GraphQL `Aggregate`, shared by the writer's checks,
 * the clearer, the reader's partition totals and the index statistics.
 * @module
 */
import { ServerError } from "../../src/errors.ts";
import type { PluginContext } from "../../src/plugin.ts";
import type { WeaviateConnection } from "./weaviate.ts";

/** GraphQL input literal for a REST-shaped `where` (operators are enum values, unquoted). */
export function graphqlInput(value: unknown, key = ""): string {
  if (Array.isArray(value)) return `[${value.map((v) => graphqlInput(v, key)).join(", ")}]`;
  if (value && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${k}: ${graphqlInput(v, k)}`).join(", ")}}`;
  }
  if (key === "operator" && typeof value === "string") return value;
  return JSON.stringify(value);
}

/** Objects of `collection` (and `tenant`, matching `where`) the server counts. */
export async function countObjects(
  conn: WeaviateConnection,
  collection: string,
  tenant: string | undefined,
  ctx: PluginContext,
  where?: Record<string, unknown>,
): Promise<number> {
  const args = [
    ...(tenant ? [`tenant: ${JSON.stringify(tenant)}`] : []),
    ...(where ? [`where: ${graphqlInput(where)}`] : []),
  ];
  const query = `{ Aggregate { ${collection}${
    args.length ? `(${args.join(", ")})` : ""
  } { meta { count } } } }`;
  const result = await ctx.retry(() =>
    conn.rest<{
      data?: { Aggregate?: Record<string, { meta: { count: number } }[]> };
      errors?: { message: string }[];
    }>("POST", "/v1/graphql", { query })
  );
  if (result.errors?.length) {
    throw new ServerError(`Cannot count "${collection}": ${result.errors[0]!.message}`, {
      retryable: false,
    });
  }
  return result.data?.Aggregate?.[collection]?.[0]?.meta.count ?? 0;
}
