/**
 * The `weft` command line: run, validate, verify, plugins, flags.
 * @module
 */
import { parseArgs } from "node:util";
import { builtinPlugins } from "../plugins/mod.ts";
import { formatPluginHelp } from "./describe.ts";
import { CancelledError, messageOf, PipelineError } from "./errors.ts";
import { flagEnvProblems, resolveFlags } from "./flags.ts";
import { loadPipeline } from "./loader.ts";
import type { ResolvedPipeline } from "./pipeline.ts";
import type { ConfirmRequest } from "./plugin.ts";
import { createLogger, LOG_LEVELS, type LogFormat, type LogLevel } from "./logger.ts";
import { Redactor } from "./redact.ts";
import { PluginRegistry } from "./registry.ts";
import { RunError, runPipeline } from "./runner.ts";
import { formatSummary } from "./summary.ts";
import { VERSION } from "./version.ts";
import { verifyPipeline } from "./verify.ts";

const USAGE = `weft ${VERSION}: ETL pipelines for Weaviate

Usage:
  weft run <pipeline.yaml> [--set path=value]... [--dry-run]
  weft validate <pipeline.yaml> [--set path=value]...
  weft verify <backup-dir | weaviate-url> --against <weaviate-url> [--collection X] [--as Y]
  weft plugins [name]
  weft flags [pipeline.yaml] [--set path=value]... [--json]

Options:
  --set path=value     Override a value in the pipeline, e.g. --set source.with.collections=[Articles]
  --dry-run            Validate and print the resolved plan, secrets masked; read and write nothing
  --yes                Confirm destructive steps (clear, replace) without asking
  --against URL        verify: the Weaviate to compare with
  --collection NAME    verify: only this collection of the source
  --as NAME            verify: the collection's name in the target, if renamed
  --api-key KEY        verify: API key for both servers (default: $WEAVIATE_API_KEY)
  --report FILE        verify: also write the report as JSON
  --skip-vectors       verify: leave vectors out (a copy restored with skipVectors)
  --tenants a=b,c=d    verify: tenants renamed in the copy (source=target)
  --json               flags: print the flags as JSON
  --log-level LEVEL    debug | info | warn | error | silent (default info)
  --log-format FORMAT  text | json (default text)
  -h, --help           Show this help
  -V, --version        Show the version

Exit codes: 0 done (verify: no differences), 1 run failed (verify: differences),
2 invalid pipeline or usage, 130 cancelled.`;

/** Output streams, replaceable in tests. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

const consoleIO: CliIO = {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
};

/** Runs the CLI with `args`; resolves with the exit code. */
export async function main(args: string[], io: CliIO = consoleIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        set: { type: "string", multiple: true, default: [] },
        "dry-run": { type: "boolean", default: false },
        yes: { type: "boolean", short: "y", default: false },
        against: { type: "string" },
        collection: { type: "string" },
        as: { type: "string" },
        "api-key": { type: "string" },
        report: { type: "string" },
        "skip-vectors": { type: "boolean", default: false },
        tenants: { type: "string" },
        json: { type: "boolean", default: false },
        "log-level": { type: "string", default: "info" },
        "log-format": { type: "string", default: "text" },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", short: "V", default: false },
      },
    });
  } catch (error) {
    io.err(`weft: ${messageOf(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.out(VERSION);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    io.out(USAGE);
    return values.help ? 0 : 2;
  }
  const level = values["log-level"] as LogLevel;
  const format = values["log-format"] as LogFormat;
  if (!LOG_LEVELS.includes(level) || !["text", "json"].includes(format)) {
    io.err(`weft: --log-level must be one of ${LOG_LEVELS.join(", ")}; --log-format text or json`);
    return 2;
  }
  const registry = new PluginRegistry(builtinPlugins);

  if (command === "plugins") {
    if (rest[0]) {
      const plugin = registry.get(rest[0]);
      if (!plugin) {
        const hint = registry.suggest(rest[0]);
        io.err(`weft: unknown plugin "${rest[0]}"${hint ? `; did you mean "${hint}"?` : ""}`);
        return 2;
      }
      io.out(formatPluginHelp(plugin));
      return 0;
    }
    for (const p of registry.list()) {
      io.out(`${p.name.padEnd(18)} ${p.kind.padEnd(10)} ${p.description}`);
    }
    return 0;
  }

  if (command === "flags") return await listFlags(rest, values.set, values.json, registry, io);

  if (command === "verify") {
    if (rest.length !== 1 || !values.against) {
      io.err(`weft: verify takes one backup directory or URL and --against URL\n\n${USAGE}`);
      return 2;
    }
    let pipeline;
    try {
      pipeline = verifyPipeline({
        source: rest[0]!,
        against: values.against,
        collection: values.collection,
        as: values.as,
        apiKey: values["api-key"] ?? Deno.env.get("WEAVIATE_API_KEY"),
        report: values.report,
        skipVectors: values["skip-vectors"],
        tenants: values.tenants,
      }, registry);
    } catch (error) {
      if (error instanceof PipelineError) {
        io.err(error.message);
        return 2;
      }
      throw error;
    }
    return await execute(pipeline, { level, format, confirmed: false }, io);
  }

  if (command !== "run" && command !== "validate") {
    io.err(`weft: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const file = rest[0];
  if (!file || rest.length > 1) {
    io.err(`weft: ${command} takes exactly one pipeline file\n\n${USAGE}`);
    return 2;
  }

  // Secret-looking variables used in the file are masked in the plan and in the run's output.
  const redactor = new Redactor();
  let pipeline;
  try {
    pipeline = await loadPipeline(file, { registry, sets: values.set, redactor });
  } catch (error) {
    const message = error instanceof PipelineError
      ? error.message
      : `${file}: Cannot load pipeline: ${messageOf(error)}`;
    io.err(redactor.redact(message));
    return 2;
  }
  for (const step of [pipeline.source, ...pipeline.transforms, pipeline.sink]) {
    redactor.addFromConfig(step.config);
  }

  if (command === "validate" || values["dry-run"]) {
    const steps = [pipeline.source, ...pipeline.transforms, pipeline.sink];
    io.out(redactor.redact(`${file}: valid pipeline "${pipeline.name}"`));
    if (values["dry-run"]) {
      io.out("Dry run: nothing is read or written. Plan:");
      for (const step of steps) {
        io.out(`  ${step.id}: ${step.plugin.name}`);
        io.out(`    ${planJson(redactor.redactValue(step.config))}`);
      }
    }
    return 0;
  }

  return await execute(pipeline, { level, format, confirmed: values.yes, redactor }, io);
}

/**
 * `weft flags`: every flag with its value and where the value came from (the
 * pipeline file, if given, then `WEFT_FLAG_*`, then the default).
 */
async function listFlags(
  files: string[],
  sets: string[],
  json: boolean,
  registry: PluginRegistry,
  io: CliIO,
): Promise<number> {
  const [file] = files;
  if (files.length > 1 || (!file && sets.length > 0)) {
    io.err(`weft: flags takes at most one pipeline file, and --set only with one\n\n${USAGE}`);
    return 2;
  }
  let fromPipeline: Record<string, boolean> | undefined;
  if (file) {
    const redactor = new Redactor();
    try {
      fromPipeline = (await loadPipeline(file, { registry, sets, redactor })).flags;
    } catch (error) {
      const message = error instanceof PipelineError
        ? error.message
        : `${file}: Cannot load pipeline: ${messageOf(error)}`;
      io.err(redactor.redact(message));
      return 2;
    }
  }
  // The loader reports these with the file's problems; without a file, here.
  const env = Deno.env.toObject();
  const problems = flagEnvProblems(env);
  for (const { variable, message } of problems) io.err(`${variable}: ${message}`);
  if (problems.length) return 2;
  const flags = resolveFlags(fromPipeline, env);
  if (json) {
    io.out(JSON.stringify(flags, null, 2));
    return 0;
  }
  const rows = [
    ["FLAG", "VALUE", "SOURCE", "STAGE", "DESCRIPTION"],
    ...flags.map((f) => [f.name, f.value ? "on" : "off", f.source, f.stage, f.description]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) {
    io.out(row.map((cell, i) => i < row.length - 1 ? cell.padEnd(widths[i]!) : cell).join("  "));
  }
  return 0;
}

/** A step's options on one line; what JSON cannot hold is shown by its type. */
function planJson(config: unknown): string {
  return JSON.stringify(config, (_key, value) => {
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "number" && !Number.isFinite(value)) return String(value);
    if (typeof value === "function" || typeof value === "symbol") return `(${typeof value})`;
    return value;
  }) ?? "null";
}

interface ExecuteOptions {
  level: LogLevel;
  format: LogFormat;
  confirmed: boolean;
  redactor?: Redactor;
}

/** Runs a resolved pipeline with signal handling; returns the exit code. */
async function execute(pipeline: ResolvedPipeline, options: ExecuteOptions, io: CliIO) {
  const redactor = options.redactor ?? new Redactor();
  for (const step of [pipeline.source, ...pipeline.transforms, pipeline.sink]) {
    redactor.addFromConfig(step.config);
  }
  const { level, format } = options;
  const log = createLogger({ level, format, redactor });
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: Deno.Signal) => () => {
    if (++interrupts > 1) Deno.exit(130);
    log.warn(`${signal}: stopping (press Ctrl-C again to exit at once)`);
    controller.abort(new CancelledError(`Cannot finish run: cancelled by ${signal}`));
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  try {
    const summary = await runPipeline(pipeline, {
      signal: controller.signal,
      log,
      redactor,
      confirm: (request) => confirm(request, options.confirmed, io),
    });
    io.out(formatSummary(summary));
    return 0;
  } catch (error) {
    if (error instanceof RunError) {
      io.err(formatSummary(error.summary));
      io.err(`weft: ${redactor.redact(messageOf(error.cause))}`);
      return error.cause instanceof CancelledError ? 130 : 1;
    }
    io.err(`weft: ${redactor.redact(messageOf(error))}`);
    return 1;
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
}

/**
 * Confirms a destructive step: `--yes` confirms; on a terminal the user must
 * type the expected text; anything else declines.
 */
async function confirm(request: ConfirmRequest, yes: boolean, io: CliIO): Promise<boolean> {
  if (yes) return true;
  if (!Deno.stdin.isTerminal()) return false;
  io.err(`${request.action}\nType "${request.expect}" to go ahead, anything else to stop:`);
  const buffer = new Uint8Array(1024);
  const n = await Deno.stdin.read(buffer);
  const answer = new TextDecoder().decode(buffer.subarray(0, n ?? 0)).trim();
  return answer === request.expect;
}
