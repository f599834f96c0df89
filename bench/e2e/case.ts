/**
 * What a case of the end-to-end benchmark is, and the shapes most cases take:
 * a backup into a fresh folder, a restore into a fresh collection. Each run of
 * a case is a child process (see `measure.ts`): `start` does the untimed
 * setup and returns the command to time; `finish` checks the result, cleans
 * up and says how many bytes the run wrote or read (for MB/s).
 * @module
 */
import { type CaseContext, ROOT } from "./context.ts";
import { type Command, diskBytes, type RunResult } from "./measure.ts";

/** One timed run: its command, and what to do once it succeeded. */
export interface CaseRun {
  command: Command;
  /** Checks and cleans up; resolves with the bytes for MB/s, if the case has any. */
  finish(result: RunResult): Promise<number | undefined>;
}

/** A case of the benchmark. */
export interface BenchCase {
  /** Row name; variants of one case share the first word (`raw-restore 500×2`). */
  name: string;
  python?: boolean;
  /** Makes what the case reads (untimed), before the first round. */
  prepare?(ctx: CaseContext): Promise<void>;
  start(ctx: CaseContext): Promise<CaseRun>;
}

/** `deno run -A <script> …` from the repository root. */
export const deno = (script: string, args: string[]): string[] => [
  Deno.execPath(),
  "run",
  "-A",
  `${ROOT}${script}`,
  ...args,
];

/** V8 flags deno.json's weft tasks run with (a small young generation keeps peak memory down). */
export const WEFT_V8_FLAGS: string[] = JSON.parse(
  Deno.readTextFileSync(`${ROOT}deno.json`),
).tasks.weft.match(/--v8-flags=\S+/g) ?? [];

/**
 * `deno run -A <V8 flags> main.ts run pipelines/<name>.yaml …` with `env`
 * for the pipeline: what `deno task backup` (and the others) run.
 */
export function weft(
  name: string,
  sets: string[],
  env: Record<string, string>,
  yes = false,
): Command {
  return {
    argv: [
      Deno.execPath(),
      "run",
      "-A",
      ...WEFT_V8_FLAGS,
      `${ROOT}main.ts`,
      "run",
      `${ROOT}pipelines/${name}.yaml`,
      ...sets.flatMap((s) => ["--set", s]),
      "--set",
      "runtime.progressInterval=0",
      "--log-level",
      "warn",
      ...(yes ? ["--yes"] : []),
    ],
    env,
    cwd: ROOT,
  };
}

/** `--url` and `--grpc-url` of the server. */
export const connection = (
  ctx: CaseContext,
) => ["--url", ctx.target.url, "--grpc-url", ctx.target.grpcUrl];

/** Throws unless the child reported the whole dataset. */
export function expectReported(ctx: CaseContext, result: RunResult, what: string): void {
  const objects = result.reported?.objects;
  if (objects !== ctx.data.objects) {
    throw new Error(`${what}: reported ${objects} of ${ctx.data.objects} objects`);
  }
}

/** A backup case writing to a fresh folder, removed after its size is taken. */
export function backupCase(
  name: string,
  command: (ctx: CaseContext, path: string) => Command,
  reports: boolean,
  python = false,
): BenchCase {
  return {
    name,
    python,
    start(ctx) {
      const path = ctx.path(name);
      return Promise.resolve({
        command: command(ctx, path),
        async finish(result) {
          if (reports) expectReported(ctx, result, name);
          const bytes = await diskBytes(path);
          await Deno.remove(path, { recursive: true });
          return bytes;
        },
      });
    },
  };
}

/** A restore case into a fresh collection, checked by count and kept for the clear case. */
export function restoreCase(
  name: string,
  fixture: { key: string; make: (ctx: CaseContext, path: string) => Command },
  command: (ctx: CaseContext, input: string, collection: string) => Command,
  python = false,
): BenchCase {
  const input = (ctx: CaseContext) => ctx.fixture(fixture.key, (path) => fixture.make(ctx, path));
  return {
    name,
    python,
    async prepare(ctx) {
      await input(ctx);
    },
    async start(ctx) {
      const { path, bytes } = await input(ctx);
      const collection = ctx.name(name.replace(/[^a-z0-9]/gi, ""));
      return {
        command: command(ctx, path, collection),
        async finish() {
          await ctx.expectFull(collection, name);
          await ctx.keep(collection);
          return bytes;
        },
      };
    },
  };
}
