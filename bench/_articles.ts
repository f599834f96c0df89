/**
 * The benchmarks' dataset: articles with two text properties, a number, a
 * date and one self-provided vector, made deterministically and loaded with
 * the raw weaviate-client (4 concurrent `insertMany` calls of 500).
 * @module
 */
import weaviate, { type WeaviateClient } from "weaviate-client";
import { prng } from "../scripts/sample_data.ts";

/** Objects to load (`BENCH_OBJECTS`, default 10,000). */
export const OBJECTS = Number(Deno.env.get("BENCH_OBJECTS") ?? 10_000);
/** Vector dimensions (`BENCH_DIMS`, default 384). */
export const DIMS = Number(Deno.env.get("BENCH_DIMS") ?? 384);

/** An article as `insertMany` takes it. */
export type Article = ReturnType<typeof articleRows>[number];

/** `count` articles, the same on every run. */
export function articleRows(count = OBJECTS, dims = DIMS) {
  const random = prng(1);
  return Array.from({ length: count }, (_, i) => ({
    properties: {
      title: `Article ${i}`,
      body: "lorem ipsum dolor sit amet ".repeat(8),
      rating: random() * 5,
      published: new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString(),
    },
    vectors: Array.from({ length: dims }, () => random() * 2 - 1),
  }));
}

/** Creates the articles collection `name` (dropping one of that name first when `replace`). */
export async function createArticles(
  client: WeaviateClient,
  name: string,
  replace = false,
): Promise<void> {
  if (replace && await client.collections.exists(name)) await client.collections.delete(name);
  await client.collections.create({
    name,
    properties: [
      { name: "title", dataType: "text" },
      { name: "body", dataType: "text" },
      { name: "rating", dataType: "number" },
      { name: "published", dataType: "date" },
    ],
    vectorizers: weaviate.configure.vectors.selfProvided(),
  });
}

/** Inserts `rows` into `name` with 4 concurrent `insertMany` calls of 500. */
export async function insertArticles(
  client: WeaviateClient,
  name: string,
  rows: Article[],
): Promise<void> {
  const target = client.collections.use(name);
  for (let i = 0; i < rows.length; i += 2000) {
    await Promise.all(
      [0, 500, 1000, 1500].filter((o) => i + o < rows.length).map(async (o) => {
        const result = await target.data.insertMany(rows.slice(i + o, i + o + 500));
        if (result.hasErrors) throw new Error(`insertMany: ${JSON.stringify(result.errors)}`);
      }),
    );
  }
}
