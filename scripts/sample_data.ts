/**
 * Deterministic sample data for the demo and benchmarks.
 * @module
 */
import weaviate, { type WeaviateClient } from "weaviate-client";

/** A small deterministic PRNG (mulberry32), so runs are comparable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "vector index shard tenant backup restore stream batch cursor manifest checksum " +
  "replica schema property reference collection gRPC query filter segment weft"
).split(" ");

/** Creates `name` and loads `count` articles with a `dims`-dim vector; returns the count. */
export async function sampleArticles(
  client: WeaviateClient,
  name: string,
  count: number,
  dims = 64,
): Promise<number> {
  await client.collections.create({
    name,
    properties: [
      { name: "title", dataType: "text" },
      { name: "body", dataType: "text" },
      { name: "wordCount", dataType: "int" },
      { name: "rating", dataType: "number" },
      { name: "published", dataType: "date" },
      { name: "featured", dataType: "boolean" },
    ],
    vectorizers: weaviate.configure.vectors.selfProvided(),
  });
  const collection = client.collections.use(name);
  const random = prng(42);
  const objects = Array.from({ length: count }, (_, i) => {
    const words = Array.from({ length: 12 }, () => WORDS[Math.floor(random() * WORDS.length)]);
    return {
      properties: {
        title: `Article ${i}: ${words.slice(0, 3).join(" ")}`,
        body: words.join(" "),
        wordCount: words.length * (1 + (i % 7)),
        rating: Math.round(random() * 500) / 100,
        published: new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString(),
        featured: i % 5 === 0,
      },
      vectors: Array.from({ length: dims }, () => random() * 2 - 1),
    };
  });
  const chunk = 500;
  const chunks = [];
  for (let i = 0; i < objects.length; i += chunk) chunks.push(objects.slice(i, i + chunk));
  // Four requests at a time: insertMany serialises one big request slowly.
  for (let i = 0; i < chunks.length; i += 4) {
    const results = await Promise.all(
      chunks.slice(i, i + 4).map((c) => collection.data.insertMany(c)),
    );
    for (const r of results) {
      if (r.hasErrors) {
        throw new Error(`Cannot load sample data: ${JSON.stringify(Object.values(r.errors)[0])}`);
      }
    }
  }
  return count;
}
