/**
 * The batch sweep: restore throughput of `pipelines/restore.yaml` against a
 * real Weaviate for fixed `runtime.batch` settings (size × requests in
 * flight) and for `auto` (the adaptive controller, no tuning), on 32-dim and
 * 768-dim data, in one run; then `auto` against a server slowed down to one
 * core (`GOMAXPROCS=1`). Prints Markdown tables for bench/RESULTS.md.
 *
 *   deno run --allow-all bench/batch_sweep.ts
 *   BENCH_OBJECTS=5000 SWEEP_DIMS=32 SWEEP_SIZES=100,500 SWEEP_CONCURRENCY=1,4 SWEEP_ROUNDS=3 \
 *     deno run -A bench/batch_sweep.ts
 * @module
 */
import { builtinPlugins } from "../plugins/mod.ts";
import { articleRows, createArticles, insertArticles, OBJECTS } from "./_articles.ts";
import { createLogger } from "../src/logger.ts";
import { loadPipeline } from "../src/loader.ts";
import { PluginRegistry } from "../src/registry.ts";
import { runPipeline } from "../src/runner.ts";
import type { RunSummary } from "../src/summary.ts";
import { connectClient, startWeaviate, type WeaviateServer } from "../tests/harness/weaviate.ts";

const list = (name: string, fallback: string) =>
  (Deno.env.get(name) ?? fallback).split(",").map(Number).filter((n) => n > 0);
const DIMS = list("SWEEP_DIMS", "32,768");
const SIZES = list("SWEEP_SIZES", "50,100,250,500,1000");
const CONCURRENCY = list("SWEEP_CONCURRENCY", "1,2,4,8");
/** Runs of every setting (median taken); single runs vary by ±15% on a shared 2-core machine. */
const ROUNDS = Number(Deno.env.get("SWEEP_ROUNDS") ?? 3);

const registry = new PluginRegistry(builtinPlugins);
const silent = createLogger({ level: "silent" });
const scratch = await Deno.makeTempDir({ prefix: "weft-sweep-" });
const pipelinePath = (name: string) =>
  new URL(`../pipelines/${name}.yaml`, import.meta.url).pathname;

interface Result {
  label: string;
  seconds: number;
  rate: number;
  summary: RunSummary;
}

async function backup(server: WeaviateServer, dims: number): Promise<string> {
  const client = await connectClient(server);
  await createArticles(client, "Sweep", true);
  await insertArticles(client, "Sweep", articleRows(OBJECTS, dims));
  await client.close();
  const path = `${scratch}/backup-${dims}`;
  const env: Record<string, string> = {
    WEAVIATE_URL: server.url,
    WEAVIATE_GRPC_URL: server.grpcUrl,
    BACKUP_PATH: path,
  };
  await runPipeline(
    await loadPipeline(pipelinePath("backup"), {
      registry,
      sets: ["source.with.collections=[Sweep]", "runtime.progressInterval=0"],
      env,
    }),
    { log: silent },
  );
  return path;
}

let run = 0;
async function restore(
  server: WeaviateServer,
  path: string,
  batch: string,
  label: string,
): Promise<Result> {
  const name = `Swept${run++}`;
  const pipeline = await loadPipeline(pipelinePath("restore"), {
    registry,
    sets: [`sink.with.collection=${name}`, `runtime.batch=${batch}`, "runtime.progressInterval=0"],
    env: { WEAVIATE_URL: server.url, WEAVIATE_GRPC_URL: server.grpcUrl, BACKUP_PATH: path },
  });
  const started = performance.now();
  const summary = await runPipeline(pipeline, { log: silent });
  const seconds = (performance.now() - started) / 1000;
  if (summary.objects !== OBJECTS) throw new Error(`${label}: restored ${summary.objects}`);
  await fetch(`${server.url}/v1/schema/${name}`, { method: "DELETE" }).then((r) =>
    r.body?.cancel()
  );
  return { label, seconds, rate: OBJECTS / seconds, summary };
}

const median = (results: Result[]): Result =>
  [...results].sort((a, b) => a.seconds - b.seconds)[Math.floor(results.length / 2)]!;

function row(r: Result, best: number): string {
  const b = r.summary.batching;
  return `| ${r.label} | ${r.seconds.toFixed(2)} s | ${
    Math.round(r.rate).toLocaleString("en-US")
  } | ${(r.rate / best * 100).toFixed(0)}% | ${
    b ? `${b.size} (max ${b.maxSize}) × ${b.concurrency} (max ${b.maxConcurrency})` : ""
  } | ${b ? `${b.latencyMs.p50} / ${b.latencyMs.p95} ms` : ""} |`;
}

const header = [
  "| Setting | Time | objects/s | of best fixed | batch size × in flight at end | p50 / p95 latency |",
  "|---|---:|---:|---:|---|---|",
];

const out: string[] = [];
const server = await startWeaviate();
try {
  for (const dims of DIMS) {
    const path = await backup(server, dims);
    // Settings take turns, round after round: the server slows down over a long run (every
    // restore leaves a dropped collection behind), and no setting should get only late rounds.
    const settings = [
      "auto",
      ...SIZES.flatMap((size) => CONCURRENCY.map((c) => `{size: ${size}, concurrency: ${c}}`)),
    ];
    const runs = new Map<string, Result[]>(settings.map((s) => [s, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const setting of settings) {
        const label = setting === "auto"
          ? "auto"
          : `fixed ${setting.replace(/\{size: (\d+), concurrency: (\d+)\}/, "$1 × $2")}`;
        const r = await restore(server, path, setting, label);
        console.error(`${dims} dims, round ${round + 1}: ${label}: ${r.seconds.toFixed(2)} s`);
        runs.get(setting)!.push(r);
      }
    }
    const autos = runs.get("auto")!;
    const fixed = settings.slice(1).map((s) => median(runs.get(s)!));
    const best = Math.max(...fixed.map((r) => r.rate));
    const auto = median(autos);
    out.push(
      "",
      `### ${OBJECTS.toLocaleString("en-US")} objects × ${dims} dims`,
      "",
      ...header,
      row({ ...auto, label: "**auto**" }, best),
      ...[...fixed].sort((a, b) => b.rate - a.rate).map((r) => row(r, best)),
      "",
      `Medians of ${ROUNDS} rounds; auto's runs: ${
        autos.map((r) => `${r.seconds.toFixed(2)} s`).join(", ")
      }.`,
    );
    if (dims === DIMS[DIMS.length - 1]) {
      // The same data into a server held to one core: auto must adapt on its own.
      const slow = await startWeaviate({ env: { GOMAXPROCS: "1" } });
      try {
        const results: Result[] = [];
        for (const [size, concurrency] of [[100, 1], [500, 2], [1000, 8]] as const) {
          results.push(
            await restore(
              slow,
              path,
              `{size: ${size}, concurrency: ${concurrency}}`,
              `fixed ${size} × ${concurrency}`,
            ),
          );
        }
        const slowAuto = await restore(slow, path, "auto", "**auto**");
        const slowBest = Math.max(...results.map((r) => r.rate));
        out.push(
          "",
          `### The same ${dims}-dim restore into a server held to one core (GOMAXPROCS=1)`,
          "",
          ...header,
          row(slowAuto, slowBest),
          ...results.map((r) => row(r, slowBest)),
        );
      } finally {
        await slow.stop();
      }
    }
  }
} finally {
  await server.stop();
  await Deno.remove(scratch, { recursive: true });
}
console.log(out.join("\n"));
