/**
 * The end-to-end results: raw runs, medians (with min and max), a table for
 * the terminal, a Markdown table for bench/RESULTS.md, and the machine they
 * were measured on.
 * @module
 */
import type { DatasetSpec } from "./datasets.ts";
import { type Measurement, spread } from "./measure.ts";

/** One run of a case. */
export interface RunRecord extends Measurement {
  round: number;
  /** Bytes written or read (see `BYTES_DEFINITION`), when the case has any. */
  bytes: number | undefined;
}

/** All runs of one case on one dataset. */
export interface CaseResult {
  name: string;
  runs: RunRecord[];
  /** Why the case stopped running, if it failed. */
  error?: string;
}

/** One dataset's results. */
export interface DatasetResult {
  spec: DatasetSpec;
  describe: string;
  seedSeconds: number;
  cases: CaseResult[];
}

type Spread = { median: number; min: number; max: number };

/** Medians (min, max) of a case's runs. */
export interface CaseSummary {
  name: string;
  runs: number;
  wall: Spread;
  objectsPerSecond: number;
  mbPerSecond: number | undefined;
  clientCpu: Spread | undefined;
  clientRssMb: Spread | undefined;
  serverCpu: Spread | undefined;
  serverRssMb: Spread | undefined;
  /** True for the fastest of several variants of one case (`raw-restore 500×2`). */
  best: boolean;
}

/** Medians of every case of `result`; the fastest variant of a family is marked `best`. */
export function summarize(result: DatasetResult): CaseSummary[] {
  const rows = result.cases.filter((c) => c.runs.length > 0).map((c): CaseSummary => {
    const wall = spread(c.runs.map((r) => r.wall))!;
    const bytes = spread(c.runs.map((r) => r.bytes))?.median;
    return {
      name: c.name,
      runs: c.runs.length,
      wall,
      objectsPerSecond: result.spec.objects / wall.median,
      mbPerSecond: bytes === undefined ? undefined : bytes / 2 ** 20 / wall.median,
      clientCpu: spread(c.runs.map((r) => r.clientCpu)),
      clientRssMb: spread(c.runs.map((r) => r.clientRssMb)),
      serverCpu: spread(c.runs.map((r) => r.serverCpu)),
      serverRssMb: spread(c.runs.map((r) => r.serverRssMb)),
      best: false,
    };
  });
  const families = Map.groupBy(rows, (r) => r.name.split(" ")[0]!);
  for (const family of families.values()) {
    if (family.length < 2) continue;
    family.reduce((a, b) => a.wall.median <= b.wall.median ? a : b).best = true;
  }
  return rows;
}

const num = (n: number | undefined, digits = 1) =>
  n === undefined ? "—" : n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
const range = (s: Spread | undefined, digits = 1) =>
  s ? `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})` : "—";

const HEADER = [
  "case",
  "wall s (min–max)",
  "objects/s",
  "MB/s",
  "client CPU s",
  "client RSS MB",
  "server CPU s",
  "server RSS MB",
];

function cells(s: CaseSummary): string[] {
  return [
    `${s.name}${s.best ? " *" : ""}`,
    range(s.wall, 2),
    num(s.objectsPerSecond, 0),
    num(s.mbPerSecond, 1),
    range(s.clientCpu, 2),
    num(s.clientRssMb?.median, 0),
    range(s.serverCpu, 2),
    num(s.serverRssMb?.median, 0),
  ];
}

/** A plain aligned table. */
export function textTable(rows: CaseSummary[]): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return table.map((r) =>
    r.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join("  ")
  ).join("\n");
}

/** A Markdown table (medians with min–max). */
export function markdownTable(rows: CaseSummary[]): string {
  return [
    `| ${HEADER.join(" | ")} |`,
    `| ${HEADER.map((_, i) => i === 0 ? "---" : "---:").join(" | ")} |`,
    ...rows.map((s) => {
      const c = cells(s);
      if (s.name.startsWith("weft-")) c[0] = `**${c[0]}**`;
      return `| ${c.join(" | ")} |`;
    }),
  ].join("\n");
}

/** The machine, for the record. */
export interface Machine {
  cores: number;
  model: string;
  ramGiB: number;
  deno: string;
}

/** Cores, CPU model (`/proc/cpuinfo`) and RAM (`/proc/meminfo`) of this machine. */
export async function machine(): Promise<Machine> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const kb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  return {
    cores: navigator.hardwareConcurrency,
    model: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    ramGiB: Math.round(kb / 2 ** 20 * 10) / 10,
    deno: Deno.version.deno,
  };
}

/** The checked-out commit (with `-dirty` when the tree has changes), or "unknown". */
export async function gitCommit(cwd: string): Promise<string> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "null" })
      .output().catch(() => undefined);
    return out?.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  };
  const head = await git("rev-parse", "--short=12", "HEAD");
  if (!head) return "unknown";
  const dirty = await git("status", "--porcelain", "--untracked-files=no");
  return dirty ? `${head}-dirty` : head;
}

/** One line describing the machine. */
export function machineLine(m: Machine): string {
  return `${m.cores} cores (${m.model}), ${m.ramGiB} GiB RAM, Deno ${m.deno}`;
}
