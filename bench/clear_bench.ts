/**
 * Clearing a whole collection against a real Weaviate, in one run: weft's
 * clear pipeline deleting objects in server-side batches, against dropping and
 * recreating the collection from its definition, at two sizes. The numbers
 * behind `weaviate-clearer`'s `strategy: auto` threshold.
 *
 *   deno bench --allow-all bench/clear_bench.ts
 * @module
 */
import { builtinPlugins } from "../plugins/mod.ts";
import { createLogger } from "../src/logger.ts";
import { loadPipeline } from "../src/loader.ts";
import { PluginRegistry } from "../src/registry.ts";
import { runPipeline } from "../src/runner.ts";
import { prng } from "../scripts/sample_data.ts";
import { useWeaviate } from "../tests/harness/weaviate.ts";
import { rest as restAt } from "../tests/integration/_helpers.ts";

const DIMS = 32;
const server = await useWeaviate();
addEventListener("unload", () => void server.stop());
const registry = new PluginRegistry(builtinPlugins);
const silent = createLogger({ level: "silent" });
const random = prng(7);

const rest = (method: string, path: string, body?: unknown) => restAt(server, method, path, body);

let run = 0;
/** A fresh collection holding `count` objects. */
async function load(count: number): Promise<string> {
  const name = `BenchClear${run++}`;
  await rest("POST", "/v1/schema", {
    class: name,
    vectorizer: "none",
    properties: [{ name: "title", dataType: ["text"] }, { name: "n", dataType: ["int"] }],
  });
  for (let i = 0; i < count; i += 1000) {
    await rest("POST", "/v1/batch/objects", {
      objects: Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({
        class: name,
        properties: { title: `object ${i + k}`, n: i + k },
        vector: Array.from({ length: DIMS }, () => random()),
      })),
    });
  }
  return name;
}

async function clear(name: string, strategy: "delete" | "recreate"): Promise<void> {
  const env: Record<string, string> = { WEAVIATE_URL: server.url, COLLECTION: name };
  const pipeline = await loadPipeline(
    new URL("../pipelines/clear.yaml", import.meta.url).pathname,
    {
      registry,
      sets: [`sink.with.strategy=${strategy}`, "runtime.progressInterval=0"],
      env: (key) => env[key],
    },
  );
  await runPipeline(pipeline, { log: silent, confirm: () => Promise.resolve(true) });
}

async function count(name: string): Promise<number> {
  const result = await rest("POST", "/v1/graphql", {
    query: `{ Aggregate { ${name} { meta { count } } } }`,
  }) as { data: { Aggregate: Record<string, { meta: { count: number } }[]> } };
  return result.data.Aggregate[name]![0]!.meta.count;
}

for (const size of [2_000, 20_000]) {
  for (const strategy of ["delete", "recreate"] as const) {
    Deno.bench({
      name: `clear ${size.toLocaleString("en")} objects: ${
        strategy === "delete" ? "delete by filter in batches" : "drop and recreate"
      }`,
      group: `clear ${size}`,
      baseline: strategy === "delete",
      n: 3,
      warmup: 0,
      async fn(b) {
        const name = await load(size);
        b.start();
        await clear(name, strategy);
        b.end();
        if (await count(name) !== 0) throw new Error(`${name} still holds objects`);
        await rest("DELETE", `/v1/schema/${name}`);
      },
    });
  }
}
