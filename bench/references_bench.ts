/**
 * What writing references costs, by the way they are written, in one run
 * against a real Weaviate: weft's restore (references inside each insert;
 * objects whose target is not there yet set aside and written last) against
 * restoring without references and then adding them with
 * `POST /v1/batch/references` (fast, but Weaviate 1.39 leaves the null-state
 * index stale) or with one `PATCH` per object (keeps the index right).
 *
 *   deno bench --allow-all bench/references_bench.ts
 *   BENCH_OBJECTS=5000 deno bench --allow-all bench/references_bench.ts
 * @module
 */
import { builtinPlugins } from "../plugins/mod.ts";
import { createLogger } from "../src/logger.ts";
import { loadPipeline } from "../src/loader.ts";
import { PluginRegistry } from "../src/registry.ts";
import { runPipeline } from "../src/runner.ts";
import { useWeaviate } from "../tests/harness/weaviate.ts";
import { rest as restAt } from "../tests/integration/_helpers.ts";

const OBJECTS = Number(Deno.env.get("BENCH_OBJECTS") ?? 5_000);
const DIMS = Number(Deno.env.get("BENCH_DIMS") ?? 32);
const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

const rest = <T>(method: string, path: string, body?: unknown) =>
  restAt<T>(server, method, path, body);

const schema = (name: string) => ({
  class: name,
  vectorizer: "none",
  invertedIndexConfig: { indexNullState: true },
  properties: [{ name: "title", dataType: ["text"] }, { name: "next", dataType: [name] }],
});

// In RefSource every object points at a random other one: about half of them at a later UUID
// (in the order weft reads and writes them). In BackSource every object points at an earlier one.
const ids = Array.from({ length: OBJECTS }, () => crypto.randomUUID()).sort();
const random = ids.map(() => ids[Math.floor(Math.random() * OBJECTS)]!);
const earlier = ids.map((_, i) => ids[Math.floor(Math.random() * Math.max(i, 1))]!);
let target = random;
const vector = () => Array.from({ length: DIMS }, () => Math.random() - 0.5);
const vectors = ids.map(vector);

async function load(name: string, withReferences: boolean): Promise<void> {
  await rest("POST", "/v1/schema", schema(name));
  const objects = ids.map((id, i) => ({
    class: name,
    id,
    properties: { title: `object ${i}` },
    vector: vectors[i],
  }));
  for (let i = 0; i < OBJECTS; i += 500) {
    await rest("POST", "/v1/batch/objects", { objects: objects.slice(i, i + 500) });
  }
  if (withReferences) await batchReferences(name);
}

async function batchReferences(name: string): Promise<void> {
  const refs = ids.map((id, i) => ({
    from: `weaviate://localhost/${name}/${id}/next`,
    to: `weaviate://localhost/${name}/${target[i]}`,
  }));
  for (let i = 0; i < refs.length; i += 1000) {
    await rest("POST", "/v1/batch/references", refs.slice(i, i + 1000));
  }
}

async function patchReferences(name: string): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < OBJECTS) {
      const i = next++;
      await rest("PATCH", `/v1/objects/${name}/${ids[i]}`, {
        class: name,
        properties: { next: [{ beacon: `weaviate://localhost/${name}/${target[i]}` }] },
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function nullCount(name: string): Promise<number> {
  const query =
    `{ Aggregate { ${name}(where: {path: ["next"], operator: IsNull, valueBoolean: true}) { meta { count } } } }`;
  const result = await rest<{ data: { Aggregate: Record<string, { meta: { count: number } }[]> } }>(
    "POST",
    "/v1/graphql",
    { query },
  );
  return result.data.Aggregate[name]![0]!.meta.count;
}

await load("RefSource", true);
target = earlier;
await load("BackSource", true);
target = random;
await load("PlainSource", false);
const registry = new PluginRegistry(builtinPlugins);
const silent = createLogger({ level: "silent" });
const scratch = await Deno.makeTempDir({ prefix: "weft-bench-refs-" });
addEventListener("unload", () => Deno.removeSync(scratch, { recursive: true }));
const pipeline = (name: string) => new URL(`../pipelines/${name}.yaml`, import.meta.url).pathname;
const env = (path: string): Record<string, string> => ({
  WEAVIATE_URL: server.url,
  WEAVIATE_GRPC_URL: server.grpcUrl,
  BACKUP_PATH: path,
});
for (const name of ["RefSource", "BackSource", "PlainSource"]) {
  const vars = env(`${scratch}/${name}`);
  await runPipeline(
    await loadPipeline(pipeline("backup"), {
      registry,
      sets: [`source.with.collections=[${name}]`, "runtime.progressInterval=0"],
      env: (key) => vars[key],
    }),
    { log: silent },
  );
}
console.error(`bench: ${OBJECTS} objects × ${DIMS} dims, one reference each, backed up`);

let run = 0;
async function restore(backup: string): Promise<string> {
  const name = `RefBench${run++}`;
  const vars = env(`${scratch}/${backup}`);
  const summary = await runPipeline(
    await loadPipeline(pipeline("restore"), {
      registry,
      sets: [`sink.with.collection=${name}`, "runtime.progressInterval=0"],
      env: (key) => vars[key],
    }),
    { log: silent },
  );
  if (summary.objects !== OBJECTS) throw new Error(`restored ${summary.objects} objects`);
  return name;
}

/** Fails the case when the null-state index does not match the data (every object has one). */
async function dropChecked(name: string, stale: boolean): Promise<void> {
  const nulls = await nullCount(name);
  if ((nulls === 0) === stale) {
    throw new Error(`${name}: IsNull(next) counts ${nulls}, expected ${stale ? "> 0" : "0"}`);
  }
  await rest("DELETE", `/v1/schema/${name}`);
}

Deno.bench({
  name: "weft restore without references (baseline)",
  group: "references",
  baseline: true,
  n: 3,
  warmup: 1,
  async fn() {
    await rest("DELETE", `/v1/schema/${await restore("PlainSource")}`);
  },
});

Deno.bench({
  name: "weft restore, references inside the inserts (index right)",
  group: "references",
  n: 3,
  warmup: 1,
  async fn() {
    await dropChecked(await restore("RefSource"), false);
  },
});

Deno.bench({
  name: "weft restore, references inside the inserts, all to earlier objects",
  group: "references",
  n: 3,
  warmup: 1,
  async fn() {
    await dropChecked(await restore("BackSource"), false);
  },
});

Deno.bench({
  name: "restore, then POST /v1/batch/references (index stale)",
  group: "references",
  n: 3,
  warmup: 1,
  async fn() {
    const name = await restore("PlainSource");
    await batchReferences(name);
    await dropChecked(name, true);
  },
});

Deno.bench({
  name: "restore, then PATCH each object, 8 in flight (index right)",
  group: "references",
  n: 3,
  warmup: 1,
  async fn() {
    const name = await restore("PlainSource");
    await patchReferences(name);
    await dropChecked(name, false);
  },
});
