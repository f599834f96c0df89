/**
 * The performance regression guard (`deno task bench:check`, run in CI).
 *
 * Against one harness Weaviate (or `WEAVIATE_URL`), on two small datasets
 * (`SPECS` below), it measures weft against references measured in the same
 * run, as ratios, so that the machine's speed cancels out:
 *
 * | ratio                | what it compares                              |
 * | -------------------- | --------------------------------------------- |
 * | `backup`             | weft-backup wall ÷ raw-backup wall            |
 * | `restore`            | weft-restore wall ÷ raw-restore wall          |
 * | `backup-vs-weaviate` | weft-backup wall ÷ weaviate-backup wall       |
 * | `restore-vs-ceiling` | weft-restore wall ÷ ingest-ceiling ×2 wall    |
 * | `backup-cpu`         | weft-backup client CPU ÷ raw-backup client CPU |
 * | `restore-cpu`        | weft-restore client CPU ÷ raw-restore client CPU |
 *
 * (the cases of `bench/e2e.ts`, each run a child process; CPU ratios need
 * `/usr/bin/time`). The raw client's restore is bound by a timer per object,
 * not by the server, so `restore` drifts when the server gets slower (other
 * load); `restore-vs-ceiling` compares with the server's own ingest ceiling
 * (pre-encoded gRPC batches, 2 in flight), which slows down with it. Each ratio is the median of `ROUNDS` interleaved rounds.
 * A ratio fails when it is more than 10 % above `bench/baseline.json`; the
 * failing ratios are then measured once more (another set of rounds) and fail
 * only if they fail again: single timings on a shared 2-core machine vary by
 * ±15 %. Exit 1 with one line per regressed ratio.
 *
 * `--update` writes the baseline: it measures 3 times and keeps, per ratio,
 * the WORST (highest) median seen, with the machine, date and commit. The
 * baseline is thus the slow end of ordinary noise, and the 10 % margin is
 * above that, so noise alone does not fail CI; a real regression of more
 * than about 10 % still does. Re-run `--update` when weft gets faster on
 * purpose (to tighten the guard) or the machine kind changes.
 *
 * Python cases are not used (CI must not depend on PyPI). About 75 s on the
 * 2-core machine with the Weaviate binary cached (up to about 2.5 minutes with
 * a re-measure); `--update` about 3 minutes.
 *
 *   deno run -A bench/check.ts            # check against bench/baseline.json
 *   deno run -A bench/check.ts --update   # measure 3 times, write the baseline
 * @module
 */
import { parseArgs } from "node:util";
import { makeCases, RAW_RESTORE_DEFAULT } from "./e2e/cases.ts";
import { ROOT } from "./e2e/context.ts";
import { dataset, datasetSpec } from "./e2e/datasets.ts";
import { type Measurement, spread, timeAvailable } from "./e2e/measure.ts";
import { gitCommit, machine, machineLine } from "./e2e/report.ts";
import { dropSources, runDataset } from "./e2e/run.ts";
import { type BenchServer, openServer } from "./e2e/server.ts";

/**
 * The datasets, flat-indexed so that seeding is quick and the server's HNSW
 * build (noisy on 2 shared cores) does not drown the client's share. `large`
 * (30,000 objects) for the backup ratios: weft reads it in about 2 s. `small`
 * (8,000) for the restore ratios (weft about 2 s, the raw client about 10 s:
 * its `insertMany` waits a timer tick per object) and for the ratio to
 * Weaviate's own backup, whose wall time is quantised by its coordinator's
 * polling (first look after 2 s, then every 10 s: `_NextRoundPeriod` in
 * Weaviate's usecases/backup/coordinator.go). At 30,000 objects its work takes
 * just over 2 s and the backup 12.2 s; at 8,000 it stays well under 2 s, so
 * that ratio compares weft's backup with Weaviate's 2.2 s floor, a fixed
 * yardstick rather than a throughput.
 */
const SPECS = {
  large: datasetSpec("articles", { objects: 30_000, dims: 128, index: "flat" }),
  small: datasetSpec("articles", { objects: 8_000, dims: 128, index: "flat" }),
};
const ROUNDS = 3;
/** A ratio fails above baseline × (1 + TOLERANCE). */
const TOLERANCE = 0.1;
const BASELINE = `${ROOT}bench/baseline.json`;

type Metric = keyof Pick<Measurement, "wall" | "clientCpu">;
interface Ratio {
  name: string;
  dataset: keyof typeof SPECS;
  over: [string, Metric];
  under: [string, Metric];
}

const METRIC_NAMES: Record<Metric, string> = { wall: "wall", clientCpu: "client CPU" };
/** What a ratio divides, as the report shows it. */
const labelOf = ({ over: [a, m], under: [b, n] }: Ratio) =>
  `${a} ${METRIC_NAMES[m]} ÷ ${b} ${METRIC_NAMES[n]}`;

const RATIOS: Ratio[] = [
  {
    name: "backup",
    dataset: "large",
    over: ["weft-backup", "wall"],
    under: ["raw-backup", "wall"],
  },
  {
    name: "restore",
    dataset: "small",
    over: ["weft-restore", "wall"],
    under: ["raw-restore", "wall"],
  },
  {
    name: "backup-vs-weaviate",
    dataset: "small",
    over: ["weft-backup", "wall"],
    under: ["weaviate-backup", "wall"],
  },
  {
    name: "restore-vs-ceiling",
    dataset: "small",
    over: ["weft-restore", "wall"],
    under: ["ingest-ceiling ×2", "wall"],
  },
  {
    name: "backup-cpu",
    dataset: "large",
    over: ["weft-backup", "clientCpu"],
    under: ["raw-backup", "clientCpu"],
  },
  {
    name: "restore-cpu",
    dataset: "small",
    over: ["weft-restore", "clientCpu"],
    under: ["raw-restore", "clientCpu"],
  },
];

/** bench/baseline.json. */
interface Baseline {
  ratios: Record<string, number>;
  /** Every measurement's medians that `--update` took the worst of. */
  measured: Record<string, number[]>;
  datasets: typeof SPECS;
  rounds: number;
  tolerance: number;
  date: string;
  commit: string;
  machine: string;
  weaviate: string;
}

/** Measures `ratios` once (`ROUNDS` interleaved rounds per dataset); resolves with their medians. */
async function measure(bench: BenchServer, ratios: Ratio[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(SPECS) as (keyof typeof SPECS)[]) {
    const mine = ratios.filter((r) => r.dataset === key);
    if (mine.length === 0) continue;
    // Case names; "ingest-ceiling ×2" is the case ingest-ceiling at concurrency 2.
    const needed = new Set(
      mine.flatMap((r) => [r.over[0], r.under[0]].map((n) => n.split(" ")[0]!)),
    );
    const cases = makeCases([...needed], {
      rawRestore: [RAW_RESTORE_DEFAULT],
      ceilingConcurrency: [2],
      ceilingBatch: 500,
    });
    const result = await runDataset(bench, dataset(SPECS[key]), cases, {
      rounds: ROUNDS,
      settings: { python: undefined },
      log: (line) => console.error(line.replace(/^e2e:/, "bench:check:")),
    });
    const median = ([name, metric]: [string, Metric]) =>
      spread(result.cases.find((c) => c.name === name)!.runs.map((r) => r[metric]))?.median;
    for (const r of mine) {
      const over = median(r.over);
      const under = median(r.under);
      if (over !== undefined && under) out[r.name] = over / under;
    }
  }
  return out;
}

const { values } = parseArgs({
  args: Deno.args,
  options: { update: { type: "boolean", default: false } },
});
const started = performance.now();
if (!await timeAvailable()) {
  console.error("bench:check: /usr/bin/time not found: checking the wall-time ratios only");
}
const usable = await timeAvailable() ? RATIOS : RATIOS.filter((r) => r.over[1] === "wall");

let baseline: Baseline | undefined;
if (!values.update) {
  try {
    baseline = JSON.parse(await Deno.readTextFile(BASELINE));
  } catch (error) {
    console.error(`bench:check: Cannot read ${BASELINE}: ${error}; run with --update first`);
    Deno.exit(1);
  }
  if (JSON.stringify(baseline!.datasets) !== JSON.stringify(SPECS)) {
    console.error(
      `bench:check: ${BASELINE} was measured on other datasets (${
        JSON.stringify(baseline!.datasets)
      }); run with --update`,
    );
    Deno.exit(1);
  }
}

const bench = await openServer({ asyncIndexing: false });
const fmt = (n: number | undefined) => n === undefined ? "—" : n.toFixed(3);
let code = 0;
try {
  if (values.update) {
    const measured: Record<string, number[]> = {};
    for (let i = 1; i <= 3; i++) {
      const m = await measure(bench, usable);
      console.error(`bench:check: measurement ${i}/3: ${JSON.stringify(m)}`);
      for (const [name, value] of Object.entries(m)) (measured[name] ??= []).push(value);
    }
    const round3 = (x: number) => Math.round(x * 1000) / 1000;
    const next: Baseline = {
      ratios: Object.fromEntries(
        Object.entries(measured).map(([name, v]) => [name, round3(Math.max(...v))]),
      ),
      measured: Object.fromEntries(
        Object.entries(measured).map(([name, v]) => [name, v.map(round3)]),
      ),
      datasets: SPECS,
      rounds: ROUNDS,
      tolerance: TOLERANCE,
      date: new Date().toISOString(),
      commit: await gitCommit(ROOT),
      machine: machineLine(await machine()),
      weaviate: bench.version,
    };
    await Deno.writeTextFile(BASELINE, JSON.stringify(next, null, 2) + "\n");
    for (const r of usable) {
      console.log(
        `${r.name.padEnd(20)} ${fmt(next.ratios[r.name])}  (worst of ${
          measured[r.name]?.map(fmt).join(", ")
        })  ${labelOf(r)}`,
      );
    }
    console.log(`bench:check: wrote ${BASELINE}`);
  } else {
    const base = baseline!;
    const limit = (r: Ratio) => base.ratios[r.name]! * (1 + TOLERANCE);
    const checked = usable.filter((r) => base.ratios[r.name] !== undefined);
    const first = await measure(bench, checked);
    const failing = checked.filter((r) => (first[r.name] ?? Infinity) > limit(r));
    const second = failing.length ? await measure(bench, failing) : {};
    for (const r of checked) {
      const again = failing.includes(r);
      const regressed = again && (second[r.name] ?? Infinity) > limit(r);
      const shown = again
        ? `${fmt(first[r.name])}, then ${fmt(second[r.name])}`
        : fmt(first[r.name]);
      const line = `${r.name}: ${shown} vs baseline ${fmt(base.ratios[r.name])} (limit ${
        fmt(limit(r))
      }; ${labelOf(r)})`;
      if (regressed) {
        console.error(`bench:check: REGRESSED ${line}`);
        code = 1;
      } else console.log(`bench:check: ok ${line}`);
    }
  }
} finally {
  await dropSources(bench).catch(() => {});
  await bench.server.stop();
}
console.error(`bench:check: ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
Deno.exit(code);
