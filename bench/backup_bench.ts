/**
 * Backup throughput against a real Weaviate, in one run, as ratios:
 * weft's backup pipeline vs the raw weaviate-client read (gRPC, no writing),
 * the raw REST listing weft uses (no writing), and Weaviate's own
 * `backup-filesystem` backup.
 *
 *   deno bench --allow-all bench/backup_bench.ts
 *   BENCH_OBJECTS=20000 BENCH_DIMS=768 deno bench --allow-all bench/backup_bench.ts
 * @module
 */
import { builtinPlugins } from "../plugins/mod.ts";
import { articleRows, createArticles, DIMS, insertArticles, OBJECTS } from "./_articles.ts";
import { createLogger } from "../src/logger.ts";
import { loadPipeline } from "../src/loader.ts";
import { PluginRegistry } from "../src/registry.ts";
import { runPipeline } from "../src/runner.ts";
import { connectClient, useWeaviate } from "../tests/harness/weaviate.ts";

const COLLECTION = "BenchArticles";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());
const client = await connectClient(server);
await createArticles(client, COLLECTION, true);
await insertArticles(client, COLLECTION, articleRows());
const collection = client.collections.use(COLLECTION);
console.error(`bench: ${OBJECTS} objects × ${DIMS} dims loaded into ${COLLECTION}`);

const registry = new PluginRegistry(builtinPlugins);
const silent = createLogger({ level: "silent" });
const scratch = await Deno.makeTempDir({ prefix: "weft-bench-" });
addEventListener("unload", () => Deno.removeSync(scratch, { recursive: true }));
let run = 0;

Deno.bench({
  name: "raw client: fetchObjects pages with vectors (read only)",
  group: "backup",
  baseline: true,
  n: 5,
  warmup: 1,
  async fn() {
    let after: string | undefined;
    let n = 0;
    for (;;) {
      const page = await collection.query.fetchObjects({
        limit: 500,
        includeVector: true,
        ...(after ? { after } : {}),
      });
      if (page.objects.length === 0) break;
      n += page.objects.length;
      after = page.objects.at(-1)!.uuid;
    }
    if (n !== OBJECTS) throw new Error(`read ${n} objects`);
  },
});

Deno.bench({
  name: "raw REST: GET /v1/objects pages with vectors (read only)",
  group: "backup",
  n: 5,
  warmup: 1,
  async fn() {
    let after = "";
    let n = 0;
    for (;;) {
      const res = await fetch(
        `${server.url}/v1/objects?class=${COLLECTION}&limit=500&include=vector${
          after ? `&after=${after}` : ""
        }`,
      );
      const { objects } = await res.json() as { objects: { id: string }[] };
      if (objects.length === 0) break;
      n += objects.length;
      after = objects.at(-1)!.id;
    }
    if (n !== OBJECTS) throw new Error(`read ${n} objects`);
  },
});

Deno.bench({
  name: "weft: pipelines/backup.yaml to local files",
  group: "backup",
  n: 5,
  warmup: 1,
  async fn() {
    const path = `${scratch}/weft-${run++}`;
    const env: Record<string, string> = {
      WEAVIATE_URL: server.url,
      WEAVIATE_GRPC_URL: server.grpcUrl,
      BACKUP_PATH: path,
    };
    const pipeline = await loadPipeline(
      new URL("../pipelines/backup.yaml", import.meta.url).pathname,
      {
        registry,
        sets: [`source.with.collections=[${COLLECTION}]`, "runtime.progressInterval=0"],
        env: (name) => env[name],
      },
    );
    const summary = await runPipeline(pipeline, { log: silent });
    if (summary.objects !== OBJECTS) throw new Error(`backed up ${summary.objects} objects`);
    await Deno.remove(path, { recursive: true });
  },
});

Deno.bench({
  name: "Weaviate backup-filesystem (physical copy)",
  group: "backup",
  n: 5,
  warmup: 1,
  async fn() {
    const id = `bench-${crypto.randomUUID()}`;
    const start = await fetch(`${server.url}/v1/backups/filesystem`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id, include: [COLLECTION] }),
    });
    if (!start.ok) throw new Error(`backup start: ${start.status} ${await start.text()}`);
    await start.body?.cancel();
    for (;;) {
      const res = await fetch(`${server.url}/v1/backups/filesystem/${id}`);
      const { status, error } = await res.json() as { status: string; error?: string };
      if (status === "SUCCESS") return;
      if (status === "FAILED") throw new Error(`backup failed: ${error}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  },
});
