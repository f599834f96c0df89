/**
 * Measuring one run of a case: the case runs as a child process under
 * `/usr/bin/time -f '%e %U %S %M'`, so client CPU and peak RSS are read the
 * same way for Deno and Python; the server's CPU comes from `/proc/<pid>/stat`
 * before and after, its peak RSS from `VmHWM` (reset before each run).
 *
 * A child may print one line `E2E_RESULT {json}` on stdout; its `wall` and
 * `cpu` (seconds) then replace the outer readings (a child that prepares
 * before its timed phase, like the ingest ceiling), and its `objects` are
 * checked by the driver.
 * @module
 */
import { cpuSeconds, peakRssMb, resetPeakRss } from "./server.ts";

/** What one run measured; undefined where it could not be measured. */
export interface Measurement {
  wall: number;
  clientCpu: number | undefined;
  clientRssMb: number | undefined;
  serverCpu: number | undefined;
  serverRssMb: number | undefined;
}

/** A run's measurement with what the case reported. */
export interface RunResult extends Measurement {
  /** The child's `E2E_RESULT` line, if it printed one. */
  reported: Record<string, unknown> | undefined;
  stdout: string;
}

const TIME = "/usr/bin/time";
let hasTime: boolean | undefined;

/** Whether GNU time is there (`/usr/bin/time -f`). */
export async function timeAvailable(): Promise<boolean> {
  if (hasTime === undefined) {
    const out = await new Deno.Command(TIME, {
      args: ["-f", "%e", "true"],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => undefined);
    hasTime = out?.success ?? false;
  }
  return hasTime;
}

/** A command for a child process. */
export interface Command {
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * Runs `command` and measures it; `serverPid` is the server's process. Throws
 * with the child's stderr tail when it fails.
 */
export async function measureChild(command: Command, serverPid?: number): Promise<RunResult> {
  const timed = await timeAvailable();
  const timeFile = timed ? await Deno.makeTempFile({ prefix: "weft-e2e-time-" }) : "";
  const argv = timed
    ? [TIME, "-f", "%e %U %S %M", "-o", timeFile, "--", ...command.argv]
    : command.argv;
  const peakReset = await resetPeakRss(serverPid);
  const serverBefore = await cpuSeconds(serverPid);
  const started = performance.now();
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    ...(command.env ? { env: command.env } : {}),
    ...(command.cwd ? { cwd: command.cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - started) / 1000;
  const serverAfter = await cpuSeconds(serverPid);
  const serverRssMb = peakReset ? await peakRssMb(serverPid) : undefined;
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr)
      // deno-lint-ignore no-control-regex
      .replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n").slice(-15)
      .map((line) => line.length > 400 ? `${line.slice(0, 400)}…` : line).join("\n");
    if (timeFile) await Deno.remove(timeFile).catch(() => {});
    throw new Error(
      `Cannot run ${command.argv.slice(0, 4).join(" ")}…: exit ${out.code}\n${stderr}`,
    );
  }
  let clientCpu: number | undefined;
  let clientRssMb: number | undefined;
  if (timeFile) {
    const [, user, sys, rssKb] = (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1)!
      .split(" ").map(Number);
    clientCpu = user! + sys!;
    clientRssMb = rssKb! / 1024;
    await Deno.remove(timeFile).catch(() => {});
  }
  const line = stdout.split("\n").find((l) => l.startsWith("E2E_RESULT "));
  const reported = line ? JSON.parse(line.slice("E2E_RESULT ".length)) : undefined;
  return {
    wall: typeof reported?.wall === "number" ? reported.wall : wall,
    clientCpu: typeof reported?.cpu === "number" ? reported.cpu : clientCpu,
    clientRssMb,
    serverCpu: serverBefore !== undefined && serverAfter !== undefined
      ? serverAfter - serverBefore
      : undefined,
    serverRssMb,
    reported,
    stdout,
  };
}

/** Prints `E2E_RESULT {json}` for the driver (in a child). */
export function report(result: Record<string, unknown>): void {
  console.log(`E2E_RESULT ${JSON.stringify(result)}`);
}

/** Median, min and max of the defined values, or undefined when none is. */
export function spread(
  values: (number | undefined)[],
): { median: number; min: number; max: number } | undefined {
  const v = values.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v.at(-1)! };
}

/** Total size in bytes of the files under `path` (0 when it does not exist). */
export async function diskBytes(path: string): Promise<number> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch {
    return 0;
  }
  if (stat.isFile) return stat.size;
  let total = 0;
  for await (const entry of Deno.readDir(path)) total += await diskBytes(`${path}/${entry.name}`);
  return total;
}
