/**
 * Parallel partitions: backup and restore of a multi-tenant collection
 * (default 100 tenants × 1,000 objects, 64 dims) with `runtime.concurrency`
 * 1 and 4 (and the `parallel-partitions` flag off), in one run against a real
 * Weaviate; median of `PARTITIONS_RUNS` runs. Prints a Markdown table.
 *
 *   deno run --allow-all bench/parallel_partitions.ts
 *   TENANTS=20 PER_TENANT=500 deno run --allow-all bench/parallel_partitions.ts
 * @module
 */
import { builtinPlugins } from "../plugins/mod.ts";
import { createLogger } from "../src/logger.ts";
import { loadPipeline } from "../src/loader.ts";
import { PluginRegistry } from "../src/registry.ts";
import { runPipeline } from "../src/runner.ts";
import { prng } from "../scripts/sample_data.ts";
import { startWeaviate } from "../tests/harness/weaviate.ts";

const TENANTS = Number(Deno.env.get("TENANTS") ?? 100);
const PER_TENANT = Number(Deno.env.get("PER_TENANT") ?? 1_000);
const DIMS = Number(Deno.env.get("PARTITIONS_DIMS") ?? 64);
const RUNS = Number(Deno.env.get("PARTITIONS_RUNS") ?? 3);

const registry = new PluginRegistry(builtinPlugins);
const silent = createLogger({ level: "silent" });
const scratch = await Deno.makeTempDir({ prefix: "weft-partitions-" });
const pipelinePath = (name: string) =>
  new URL(`../pipelines/${name}.yaml`, import.meta.url).pathname;
const server = await startWeaviate();

async function rest(method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  await res.body?.cancel();
}

async function load(): Promise<void> {
  await rest("POST", "/v1/schema", {
    class: "Tenanted",
    multiTenancyConfig: { enabled: true },
    vectorizer: "none",
    properties: [{ name: "title", dataType: ["text"] }, { name: "n", dataType: ["int"] }],
  });
  await rest(
    "POST",
    "/v1/schema/Tenanted/tenants",
    Array.from({ length: TENANTS }, (_, t) => ({ name: `t${t}` })),
  );
  const random = prng(7);
  for (let t = 0; t < TENANTS; t++) {
    const objects = Array.from({ length: PER_TENANT }, (_, i) => ({
      class: "Tenanted",
      tenant: `t${t}`,
      properties: { title: `object ${i} of tenant ${t}`, n: i },
      vector: Array.from({ length: DIMS }, () => random() * 2 - 1),
    }));
    await rest("POST", "/v1/batch/objects", { objects });
  }
}

async function timed(
  name: string,
  sets: string[],
  env: Record<string, string>,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const path = `${scratch}/${name}-${series}-${i}`;
    const pipeline = await loadPipeline(pipelinePath(name), {
      registry,
      sets: [...sets.map((s) => s.replace("{i}", String(i))), "runtime.progressInterval=0"],
      env: { ...env, BACKUP_PATH: env.BACKUP_PATH ?? path },
    });
    const started = performance.now();
    const summary = await runPipeline(pipeline, { log: silent });
    times.push((performance.now() - started) / 1000);
    if (summary.objects !== TENANTS * PER_TENANT) throw new Error(`${name}: ${summary.objects}`);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const rows: string[] = [];
let series = 0;
try {
  await load();
  const base = { WEAVIATE_URL: server.url, WEAVIATE_GRPC_URL: server.grpcUrl };
  let restoreRun = 0;
  for (
    const [label, concurrency, flag] of [["1", 1, "on"], ["4", 4, "on"], [
      "4, flag off",
      4,
      "off",
    ]] as const
  ) {
    const env: Record<string, string> = base;
    const sets = [`runtime.concurrency=${concurrency}`, `flags.parallel-partitions=${flag}`];
    const backup = await timed("backup", [...sets, "source.with.collections=[Tenanted]"], env);
    const backupPath = `${scratch}/backup-${series++}-0`;
    const restore = await timed(
      "restore",
      [...sets, `sink.with.collection=Restored${restoreRun++}{i}`],
      { ...env, BACKUP_PATH: backupPath },
    );
    console.error(
      `concurrency ${label}: backup ${backup.toFixed(2)} s, restore ${restore.toFixed(2)} s`,
    );
    rows.push(`| ${label} | ${backup.toFixed(2)} s | ${restore.toFixed(2)} s |`);
  }
} finally {
  await server.stop();
  await Deno.remove(scratch, { recursive: true });
}
console.log(
  [
    `${TENANTS} tenants × ${PER_TENANT} objects × ${DIMS} dims, median of ${RUNS}`,
    "",
    "| runtime.concurrency | backup | restore |",
    "|---|---:|---:|",
    ...rows,
  ].join("\n"),
);
