/**
 * Restore throughput against a real Weaviate, in one run, as ratios: weft's
 * restore pipeline (gRPC and REST inserts) vs the raw weaviate-client
 * `insertMany` (split into concurrent calls of 500, as its docs advise for
 * speed) and Weaviate's own `backup-filesystem` restore.
 *
 *   deno bench --allow-all bench/restore_bench.ts
 *   BENCH_OBJECTS=20000 BENCH_DIMS=768 deno bench --allow-all bench/restore_bench.ts
 * @module
 */
import { builtinPlugins } from "../plugins/mod.ts";
import { articleRows, createArticles, DIMS, insertArticles, OBJECTS } from "./_articles.ts";
import { createLogger } from "../src/logger.ts";
import { loadPipeline } from "../src/loader.ts";
import { PluginRegistry } from "../src/registry.ts";
import { runPipeline } from "../src/runner.ts";
import { connectClient, useWeaviate } from "../tests/harness/weaviate.ts";

const COLLECTION = "BenchSource";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());
const client = await connectClient(server);
const rows = articleRows();
const create = (name: string) => createArticles(client, name);
const insertAll = (name: string) => insertArticles(client, name, rows);

async function count(name: string): Promise<number> {
  return (await client.collections.use(name).aggregate.overAll()).totalCount;
}

await createArticles(client, COLLECTION, true);
await insertAll(COLLECTION);

const registry = new PluginRegistry(builtinPlugins);
const silent = createLogger({ level: "silent" });
const scratch = await Deno.makeTempDir({ prefix: "weft-bench-" });
addEventListener("unload", () => Deno.removeSync(scratch, { recursive: true }));
const backupPath = `${scratch}/backup`;
const env: Record<string, string> = {
  WEAVIATE_URL: server.url,
  WEAVIATE_GRPC_URL: server.grpcUrl,
  BACKUP_PATH: backupPath,
};
const pipelinePath = (name: string) =>
  new URL(`../pipelines/${name}.yaml`, import.meta.url).pathname;
await runPipeline(
  await loadPipeline(pipelinePath("backup"), {
    registry,
    sets: [`source.with.collections=[${COLLECTION}]`, "runtime.progressInterval=0"],
    env: (name) => env[name],
  }),
  { log: silent },
);
console.error(`bench: ${OBJECTS} objects × ${DIMS} dims loaded and backed up`);

let run = 0;
async function restore(protocol: "grpc" | "rest"): Promise<void> {
  const name = `BenchRestored${run++}`;
  const pipeline = await loadPipeline(pipelinePath("restore"), {
    registry,
    sets: [
      `sink.with.collection=${name}`,
      `sink.with.protocol=${protocol}`,
      "runtime.progressInterval=0",
    ],
    env: (key) => env[key],
  });
  const summary = await runPipeline(pipeline, { log: silent });
  if (summary.objects !== OBJECTS) throw new Error(`restored ${summary.objects} objects`);
  await client.collections.delete(name);
}

Deno.bench({
  name: "raw client: create + insertMany, 4 concurrent calls of 500",
  group: "restore",
  baseline: true,
  n: 3,
  warmup: 1,
  async fn() {
    const name = `BenchRaw${run++}`;
    await create(name);
    await insertAll(name);
    if (await count(name) !== OBJECTS) throw new Error("raw insert lost objects");
    await client.collections.delete(name);
  },
});

Deno.bench({
  name: "weft: pipelines/restore.yaml, gRPC inserts",
  group: "restore",
  n: 3,
  warmup: 1,
  async fn() {
    await restore("grpc");
  },
});

Deno.bench({
  name: "weft: pipelines/restore.yaml, REST inserts",
  group: "restore",
  n: 3,
  warmup: 1,
  async fn() {
    await restore("rest");
  },
});

// Weaviate's restore cannot rename and refuses an existing collection: back up
// the source once, then drop and restore it in place on every iteration. Every
// case's time includes creating (or restoring) and dropping one collection.
const backupId = `bench-${crypto.randomUUID()}`;

async function waitFor(path: string): Promise<void> {
  for (;;) {
    const res = await fetch(`${server.url}${path}`);
    const { status, error } = await res.json() as { status: string; error?: string };
    if (status === "SUCCESS") return;
    if (status === "FAILED") throw new Error(`${path}: ${error}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function post(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  await res.body?.cancel();
}

let backedUp = false;
Deno.bench({
  name: "Weaviate backup-filesystem restore (physical copy)",
  group: "restore",
  n: 3,
  warmup: 1,
  async fn() {
    if (!backedUp) {
      await post("/v1/backups/filesystem", { id: backupId, include: [COLLECTION] });
      await waitFor(`/v1/backups/filesystem/${backupId}`);
      backedUp = true;
    }
    await client.collections.delete(COLLECTION);
    await post(`/v1/backups/filesystem/${backupId}/restore`, { include: [COLLECTION] });
    await waitFor(`/v1/backups/filesystem/${backupId}/restore`);
    if (await count(COLLECTION) !== OBJECTS) throw new Error("Weaviate restore lost objects");
  },
});
