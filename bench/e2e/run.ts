/**
 * Running the cases on one dataset: seed the source collection once, make
 * what the restores read (untimed), then run every case `rounds` times with
 * the rounds interleaved (round 1 of every case, then round 2, …), so that a
 * server slowing down over a long run does not land on one case only.
 * @module
 */
import type { BenchCase } from "./case.ts";
import { CaseContext, type CaseSettings } from "./context.ts";
import type { Dataset } from "./datasets.ts";
import { seed } from "./ingest.ts";
import { measureChild } from "./measure.ts";
import type { CaseResult, DatasetResult, RunRecord } from "./report.ts";
import { type BenchServer, dropCollection } from "./server.ts";

/** Options of {@linkcode runDataset}. */
export interface RunOptions {
  rounds: number;
  settings: CaseSettings;
  /** Called after every run (progress). */
  onRun?(name: string, round: number, run: RunRecord): void;
  /** Prints progress lines (stderr). */
  log?(line: string): void;
}

/** A source collection already seeded in this process, by dataset, to reuse across calls. */
const seeded = new Map<string, { name: string; seconds: number }>();

/** Seeds (once per process and dataset) and returns the source collection. */
export async function sourceCollection(
  bench: BenchServer,
  data: Dataset,
  log: (line: string) => void = () => {},
): Promise<{ name: string; seconds: number }> {
  const key = JSON.stringify([data.name, data.objects, data.dims, data.index]);
  let source = seeded.get(key);
  if (!source) {
    const name = `E2eSource${data.name[0]!.toUpperCase()}${data.name.slice(1)}${seeded.size + 1}`;
    await dropCollection(bench, name);
    log(`e2e: seeding ${name}: ${data.describe}…`);
    const { url, grpcUrl, apiKey } = bench.server;
    const seconds = await seed({ url, grpcUrl, apiKey }, data, name);
    log(`e2e: seeded in ${seconds.toFixed(1)} s`);
    source = { name, seconds };
    seeded.set(key, source);
  }
  return source;
}

async function runOnce(
  c: BenchCase,
  ctx: CaseContext,
  bench: BenchServer,
  round: number,
): Promise<RunRecord> {
  const run = await c.start(ctx);
  const result = await measureChild(run.command, bench.pid);
  const bytes = await run.finish(result);
  return {
    round,
    wall: result.wall,
    clientCpu: result.clientCpu,
    clientRssMb: result.clientRssMb,
    serverCpu: result.serverCpu,
    serverRssMb: result.serverRssMb,
    bytes,
  };
}

/** Drops every source collection seeded by this process. */
export async function dropSources(bench: BenchServer): Promise<void> {
  for (const { name } of seeded.values()) await dropCollection(bench, name);
  seeded.clear();
}

/** Runs `cases` on `data`; resolves with every run. */
export async function runDataset(
  bench: BenchServer,
  data: Dataset,
  cases: BenchCase[],
  options: RunOptions,
): Promise<DatasetResult> {
  const log = options.log ?? (() => {});
  const source = await sourceCollection(bench, data, log);
  const scratch = await Deno.makeTempDir({ prefix: "weft-e2e-" });
  const ctx = new CaseContext(bench, data, source.name, scratch, options.settings);
  const results: CaseResult[] = cases.map((c) => ({ name: c.name, runs: [] }));
  try {
    for (const c of cases) {
      if (!c.prepare) continue;
      log(`e2e: preparing ${c.name}…`);
      await c.prepare(ctx);
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const [i, c] of cases.entries()) {
        const result = results[i]!;
        if (result.error) continue;
        try {
          const record = await runOnce(c, ctx, bench, round);
          result.runs.push(record);
          log(`e2e: round ${round}/${options.rounds} ${c.name}: ${record.wall.toFixed(2)} s`);
          options.onRun?.(c.name, round, record);
        } catch (error) {
          // One broken case should not cost the others' results: it is left out from here on.
          result.error = error instanceof Error ? error.message : String(error);
          log(`e2e: ${c.name} failed, left out of later rounds: ${result.error}`);
        }
      }
    }
  } finally {
    await ctx.close();
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
  return {
    spec: { name: data.name, objects: data.objects, dims: data.dims, index: data.index },
    describe: data.describe,
    seedSeconds: source.seconds,
    cases: results,
  };
}
