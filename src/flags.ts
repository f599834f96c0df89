/**
 * Feature flags: a typed registry of switches for behaviour that is new or
 * being measured. A flag is set by `flags:` in the pipeline file or by the
 * environment variable `WEFT_FLAG_<NAME>=on|off` (the environment wins);
 * otherwise it has its default.
 * @module
 */
import { closest } from "./_closest.ts";
import type { Flags } from "./plugin.ts";

/** How far along a flag's behaviour is. */
export type FlagStage = "alpha" | "beta" | "stable";

/** One flag of the registry. */
export interface FlagDefinition {
  name: string;
  description: string;
  default: boolean;
  stage: FlagStage;
}

/** Every flag weft knows, alphabetised. */
export const FLAGS = [
  {
    name: "adaptive-batching",
    description:
      "Adapt batch size and requests in flight to measured latency and errors (runtime.batch: auto); off uses the sink's starting size and concurrency",
    default: true,
    stage: "beta",
  },
  {
    name: "grpc-reader",
    description:
      "weaviate-reader lists objects over gRPC (vectors as raw float32 bytes), falling back to REST where gRPC cannot read a collection exactly; off lists over REST",
    default: true,
    stage: "beta",
  },
  {
    name: "parallel-partitions",
    description:
      "Sources read up to runtime.concurrency partitions (collections or tenants) at once; off reads one at a time",
    default: true,
    stage: "beta",
  },
] as const satisfies readonly FlagDefinition[];

/** Name of a known flag. */
export type FlagName = (typeof FLAGS)[number]["name"];

/** Where a flag's value came from. */
export type FlagSource = "default" | "pipeline" | "env";

/** A flag with its value for one run. */
export interface ResolvedFlag extends FlagDefinition {
  value: boolean;
  source: FlagSource;
}

const PREFIX = "WEFT_FLAG_";

/** The environment variable that sets flag `name`. */
export function flagEnvName(name: string): string {
  return PREFIX + name.toUpperCase().replaceAll("-", "_");
}

/** The known flag closest to `name` (edit distance), if one is close. */
export function closestFlag(name: string): string | undefined {
  return closest(name, FLAGS.map((f) => f.name));
}

/** `unknown flag "x"; did you mean "y"?`, for error messages. */
export function unknownFlag(name: string): string {
  const hint = closestFlag(name);
  return `unknown flag "${name}"${hint ? `; did you mean "${hint}"?` : ""} (see \`weft flags\`)`;
}

/** Parses `on`/`off`/`true`/`false`/`1`/`0`; undefined for anything else. */
export function parseFlagValue(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (["on", "true", "1", "yes"].includes(v)) return true;
  if (["off", "false", "0", "no"].includes(v)) return false;
  return undefined;
}

/** A `WEFT_FLAG_*` variable that names no flag or holds no on/off value. */
export interface FlagEnvProblem {
  /** The variable, e.g. `WEFT_FLAG_ADAPTIVE_BATCHING`. */
  variable: string;
  /** What is wrong with it, e.g. `expected on or off, got "maybe"`. */
  message: string;
}

/** Every `WEFT_FLAG_*` variable of `env` that names no flag or holds no on/off value. */
export function flagEnvProblems(
  env: Readonly<Record<string, string | undefined>>,
): FlagEnvProblem[] {
  const problems: FlagEnvProblem[] = [];
  const known = new Map<string, string>(FLAGS.map((f) => [flagEnvName(f.name), f.name]));
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(PREFIX) || raw === undefined) continue;
    if (!known.has(variable)) {
      const name = variable.slice(PREFIX.length).toLowerCase().replaceAll("_", "-");
      const message = known.has(flagEnvName(name))
        ? `spell it ${flagEnvName(name)}`
        : unknownFlag(name);
      problems.push({ variable, message });
    } else if (parseFlagValue(raw) === undefined) {
      problems.push({ variable, message: `expected on or off, got "${raw}"` });
    }
  }
  return problems.sort((a, b) => a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0);
}

/**
 * Every flag with its value: from `env` (`WEFT_FLAG_*`), else `fromPipeline`,
 * else its default. Throws a `TypeError` naming the variable for an unknown
 * flag or a value that is not on/off.
 *
 * @example
 * ```ts
 * import { resolveFlags } from "./flags.ts";
 * const flags = resolveFlags(
 *   { "adaptive-batching": false },
 *   { WEFT_FLAG_PARALLEL_PARTITIONS: "off" },
 * );
 * const parallel = flags.find((f) => f.name === "parallel-partitions");
 * if (parallel?.value !== false || parallel.source !== "env") throw new Error("expected env off");
 * ```
 */
export function resolveFlags(
  fromPipeline: Readonly<Record<string, boolean>> = {},
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): ResolvedFlag[] {
  for (const name of Object.keys(fromPipeline)) {
    if (!FLAGS.some((f) => f.name === name)) {
      throw new TypeError(`Cannot set flag: ${unknownFlag(name)}`);
    }
  }
  const [problem] = flagEnvProblems(env);
  if (problem) throw new TypeError(`Cannot read ${problem.variable}: ${problem.message}`);
  return FLAGS.map((flag): ResolvedFlag => {
    const raw = env[flagEnvName(flag.name)];
    if (raw !== undefined) return { ...flag, value: parseFlagValue(raw)!, source: "env" };
    const set = fromPipeline[flag.name];
    if (set !== undefined) return { ...flag, value: set, source: "pipeline" };
    return { ...flag, value: flag.default, source: "default" };
  });
}

/**
 * The {@linkcode Flags} of one run.
 *
 * @example
 * ```ts
 * import { FlagSet, resolveFlags } from "./flags.ts";
 * const flags = new FlagSet(resolveFlags({ "parallel-partitions": false }, {}));
 * if (flags.enabled("parallel-partitions")) throw new Error("expected off");
 * ```
 */
export class FlagSet implements Flags {
  #values: Map<string, boolean>;

  constructor(readonly resolved: readonly ResolvedFlag[]) {
    this.#values = new Map(resolved.map((f) => [f.name, f.value]));
  }

  enabled(name: FlagName | (string & Record<never, never>)): boolean {
    const value = this.#values.get(name);
    if (value === undefined) throw new TypeError(`Cannot read flag: ${unknownFlag(name)}`);
    return value;
  }
}
