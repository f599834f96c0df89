/**
 * The end-to-end benchmark: weft's pipelines against the raw TypeScript
 * client, the official Python client, Weaviate's own backup module and the
 * server's ingest ceiling, on the same server and data, in one run.
 *
 * Starts one harness Weaviate (or uses `WEAVIATE_URL`), seeds a source
 * collection per dataset, then runs every case `--runs` times, rounds
 * interleaved. Each run is a child process under `/usr/bin/time`, so client
 * CPU and peak RSS are measured alike for Deno and Python; the server's CPU
 * comes from `/proc/<pid>/stat`. Prints medians (min–max) per case.
 *
 *   deno task bench:e2e                                   # articles, 100,000 × 768, all cases
 *   deno task bench:e2e --dataset articles --objects 2000 --runs 3
 *   deno task bench:e2e --dataset tenants,named,wide --objects 1000 --runs 1
 *   deno task bench:e2e --dataset big --runs 1            # weft cases only, for memory
 *   deno task bench:e2e --cases weft-restore,raw-restore,weaviate-restore --index flat
 *   deno task bench:e2e --async-indexing --cases weft-restore
 *   deno task bench:e2e --sweep --cases raw-restore       # batch 100/500/1000 × 1/2/4 in flight
 *   deno task bench:e2e --json results.json --markdown
 *
 * Cases: weft-backup, raw-backup, python-backup, weaviate-backup, weft-restore,
 * raw-restore, python-restore-fixed, python-restore-dynamic, weaviate-restore,
 * weft-migrate, ingest-ceiling (one row per `--ceiling-concurrency`, the
 * fastest marked `*`), weft-clear; opt-in: python-restore-stream
 * (`batch.stream()`, server-side batching).
 *
 * raw-restore defaults to 1000 objects per `insertMany` × 4 calls in flight,
 * the best of `--sweep` on 5,000 × 768 articles (HNSW, 2 rounds) on the
 * 2-core machine: 1000×4 9.7 s, 100×4 11.6 s, 1000×2 14.6 s, 500×4 15.9 s,
 * every ×1 and ×2 setting 14–33 s. The client waits a timer tick per object
 * in `insertMany` (client CPU 1.3–1.7 s in every setting), so calls in flight
 * matter more than batch size.
 *
 * Weaviate's own backup and restore are quantised by its coordinator's
 * polling (first look after 2 s, then every 10 s), so at small sizes their
 * wall time is 2.2 s or 12.2 s whatever the work; its server CPU column is
 * the better measure there.
 * @module
 */
import { parseArgs } from "node:util";
import {
  BYTES_DEFINITION,
  CASE_NAMES,
  makeCases,
  OPT_IN,
  RAW_RESTORE_DEFAULT,
} from "./e2e/cases.ts";
import { ROOT } from "./e2e/context.ts";
import {
  dataset,
  DATASET_NAMES,
  type DatasetName,
  datasetSpec,
  INDEX_TYPES,
  type IndexType,
} from "./e2e/datasets.ts";
import { timeAvailable } from "./e2e/measure.ts";
import { PYTHON_CLIENT, pythonWithClient } from "./e2e/python.ts";
import {
  type DatasetResult,
  gitCommit,
  machine,
  machineLine,
  markdownTable,
  summarize,
  textTable,
} from "./e2e/report.ts";
import { dropSources, runDataset } from "./e2e/run.ts";
import { openServer } from "./e2e/server.ts";

const USAGE = `Usage: deno run -A bench/e2e.ts [options]
  --dataset a,b        ${DATASET_NAMES.join(", ")} (default articles)
  --objects N          objects per dataset (default: the dataset's own)
  --dims N             vector dimensions (articles, tenants, big, wide)
  --index TYPE         ${INDEX_TYPES.join(", ")} (default hnsw; dynamic implies --async-indexing)
  --async-indexing     start the server with ASYNC_INDEXING=true
  --cases a,b          ${CASE_NAMES.join(", ")}
  --runs N             runs of every case, rounds interleaved (default 3)
  --sweep              raw-restore at every --sweep-sizes × --sweep-concurrency, best marked *
  --sweep-sizes a,b    objects per insertMany for --sweep (default 100,500,1000)
  --sweep-concurrency a,b  calls in flight for --sweep (default 1,2,4)
  --raw-batch N        raw-restore objects per insertMany (default ${RAW_RESTORE_DEFAULT[0]})
  --raw-concurrency N  raw-restore calls in flight (default ${RAW_RESTORE_DEFAULT[1]})
  --ceiling-concurrency 1,2,4   ingest-ceiling requests in flight, one row each
  --ceiling-batch N    ingest-ceiling objects per request (default 500)
  --json FILE          write every run, the medians and the machine as JSON
  --markdown           also print Markdown tables for bench/RESULTS.md`;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    dataset: { type: "string", default: "articles" },
    objects: { type: "string" },
    dims: { type: "string" },
    index: { type: "string", default: "hnsw" },
    "async-indexing": { type: "boolean", default: false },
    cases: { type: "string" },
    runs: { type: "string", default: "3" },
    sweep: { type: "boolean", default: false },
    "sweep-sizes": { type: "string", default: "100,500,1000" },
    "sweep-concurrency": { type: "string", default: "1,2,4" },
    "raw-batch": { type: "string", default: String(RAW_RESTORE_DEFAULT[0]) },
    "raw-concurrency": { type: "string", default: String(RAW_RESTORE_DEFAULT[1]) },
    "ceiling-concurrency": { type: "string", default: "1,2,4" },
    "ceiling-batch": { type: "string", default: "500" },
    json: { type: "string" },
    markdown: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

function fail(message: string): never {
  console.error(`e2e: ${message}\n\n${USAGE}`);
  Deno.exit(2);
}
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const positive = (s: string | undefined, what: string) => {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) fail(`${what} must be a positive integer, got "${s}"`);
  return n;
};

if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const datasets = list(values.dataset);
for (const d of datasets) {
  if (!DATASET_NAMES.includes(d as DatasetName)) fail(`unknown dataset "${d}"`);
}
if (!INDEX_TYPES.includes(values.index as IndexType)) fail(`unknown index "${values.index}"`);
const index = values.index as IndexType;
const asked = values.cases ? list(values.cases) : undefined;
for (const c of asked ?? []) {
  if (!(CASE_NAMES as readonly string[]).includes(c)) fail(`unknown case "${c}"`);
}
const runs = positive(values.runs, "--runs")!;
const objects = positive(values.objects, "--objects");
const dims = positive(values.dims, "--dims");
const numbers = (s: string, what: string) => list(s).map((x) => positive(x, what)!);
const ceilingConcurrency = numbers(values["ceiling-concurrency"], "--ceiling-concurrency");
const sweep = numbers(values["sweep-sizes"], "--sweep-sizes").flatMap((b) =>
  numbers(values["sweep-concurrency"], "--sweep-concurrency").map((c): [number, number] => [b, c])
);
const rawRestore: [number, number][] = values.sweep ? sweep : [[
  positive(values["raw-batch"], "--raw-batch")!,
  positive(values["raw-concurrency"], "--raw-concurrency")!,
]];
const asyncIndexing = values["async-indexing"] || index === "dynamic";

const log = (line: string) => console.error(line);
if (!await timeAvailable()) {
  log("e2e: /usr/bin/time not found: measuring wall time only (client CPU and RSS show —)");
}
const wantsPython = (names: string[]) => names.some((n) => n.startsWith("python-"));
const defaults = CASE_NAMES.filter((n) => !OPT_IN.includes(n));
const python = wantsPython(asked ?? [...defaults]) ? await pythonWithClient() : undefined;

const bench = await openServer({ asyncIndexing });
const results: DatasetResult[] = [];
try {
  for (const name of datasets) {
    const data = dataset(datasetSpec(name as DatasetName, { objects, dims, index }));
    let names: string[] = asked ?? data.defaultCases ?? [...defaults];
    if (!asked) {
      for (const [name, why] of Object.entries(data.unsupported)) {
        if (names.includes(name)) log(`e2e: ${data.name}: leaving out ${name}: ${why}`);
      }
      names = names.filter((n) => !(n in data.unsupported));
    }
    if (!python && wantsPython(names)) {
      log("e2e: skipping the Python cases (no Python client)");
      names = names.filter((n) => !n.startsWith("python-"));
    }
    const cases = makeCases(names, {
      rawRestore,
      ceilingConcurrency,
      ceilingBatch: positive(values["ceiling-batch"], "--ceiling-batch")!,
    });
    results.push(await runDataset(bench, data, cases, { rounds: runs, settings: { python }, log }));
  }
} finally {
  await dropSources(bench).catch(() => {});
  await bench.server.stop();
}

let failed = false;
const host = await machine();
const commit = await gitCommit(ROOT);
const header = [
  `Weaviate ${bench.version}${asyncIndexing ? " (ASYNC_INDEXING=true)" : ""}, ${
    machineLine(host)
  }, commit ${commit}, ${new Date().toISOString().slice(0, 10)}`,
  `Medians of ${runs} interleaved run(s), (min–max); client = the case's process (/usr/bin/time), server = Weaviate's process (/proc); * = fastest variant.`,
  BYTES_DEFINITION,
];
console.log(header.join("\n"));
for (const r of results) {
  console.log(`\n${r.spec.name}: ${r.describe} (seeded in ${r.seedSeconds.toFixed(1)} s)`);
  console.log(textTable(summarize(r)));
  for (const c of r.cases.filter((c) => c.error)) {
    const why = (c.error ?? "").split("\n").filter(Boolean).slice(0, 2).join(" — ");
    console.log(`FAILED ${c.name} after ${c.runs.length} run(s): ${why}`);
    failed = true;
  }
}
if (values.markdown) {
  for (const r of results) {
    console.log(`\n#### ${r.spec.name}: ${r.describe}\n\n${markdownTable(summarize(r))}`);
  }
}
if (values.json) {
  await Deno.writeTextFile(
    values.json,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        commit,
        machine: host,
        weaviate: { version: bench.version, asyncIndexing, url: bench.server.url },
        pythonClient: python ? PYTHON_CLIENT : null,
        runs,
        bytesDefinition: BYTES_DEFINITION,
        datasets: results.map((r) => ({ ...r, summary: summarize(r) })),
      },
      null,
      2,
    ),
  );
  log(`e2e: wrote ${values.json}`);
}
if (failed) Deno.exit(1);
