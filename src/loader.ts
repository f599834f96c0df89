/**
 * Loads a pipeline file: YAML with `${VAR}` interpolation and `--set`
 * overrides, validated in full (every problem with file:line:col) before any I/O.
 * @module
 */
import { dirname, resolve } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parse, parseDocument, visit } from "yaml";
import type { Document, Node as YamlNode } from "yaml";
import type { z } from "zod";
import { closest } from "./_closest.ts";
import { messageOf, PipelineError, type PipelineIssue } from "./errors.ts";
import { flagEnvName, flagEnvProblems, FLAGS, unknownFlag } from "./flags.ts";
import { interpolate } from "./interpolate.ts";
import {
  pipelineSchema,
  type ResolvedPipeline,
  type ResolvedStep,
  stepSchema,
} from "./pipeline.ts";
import type { AnyPlugin, PluginKind } from "./plugin.ts";
import { isSecretVariable, Redactor } from "./redact.ts";
import { importPlugin, isPluginPath, type PluginRegistry } from "./registry.ts";

/** Options of {@linkcode loadPipeline}. */
export interface LoadOptions {
  /** Plugins that `use:` can name. */
  registry: PluginRegistry;
  /** `path=value` overrides, applied before validation. */
  sets?: string[];
  /**
   * The environment, as a lookup or as the variables themselves; defaults to
   * the process's. `WEFT_FLAG_*` variables are checked too: with a lookup
   * only those of known flags, otherwise also any that names no flag.
   */
  env?: ((name: string) => string | undefined) | Readonly<Record<string, string | undefined>>;
  /**
   * Receives the values of variables whose names look secret (`*_KEY`,
   * `*_TOKEN`, `*_SECRET`, `*PASSWORD*`, …) used in the file, and the values
   * of secret options; problems are reported with them masked.
   */
  redactor?: Redactor;
}

type Path = (string | number)[];

/** Reads, interpolates and validates a pipeline file; throws {@linkcode PipelineError}. */
export async function loadPipeline(file: string, options: LoadOptions): Promise<ResolvedPipeline> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "file not found"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : messageOf(error);
    throw new PipelineError([{ file, path: "", message: `Cannot read pipeline: ${why}` }]);
  }
  return await parsePipeline(text, file, options);
}

/** Like {@linkcode loadPipeline}, from text already read. */
export async function parsePipeline(
  text: string,
  file: string,
  options: LoadOptions,
): Promise<ResolvedPipeline> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const issues: PipelineIssue[] = [];
  const at = (node: YamlNode | undefined, path: Path, message: string): PipelineIssue => {
    const pos = node?.range ? lineCounter.linePos(node.range[0]) : undefined;
    return { file, ...(pos ? { line: pos.line, col: pos.col } : {}), path: dotted(path), message };
  };

  for (const error of doc.errors) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    issues.push({
      file,
      ...(pos ? { line: pos.line, col: pos.col } : {}),
      path: "",
      message: error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, ""),
    });
  }
  if (issues.length) throw new PipelineError(issues);
  if (!isMap(doc.contents)) {
    throw new PipelineError([at(doc.contents ?? undefined, [], "expected a mapping at the top")]);
  }

  const setPaths = applySets(doc, options.sets ?? [], issues);
  const locate = (path: Path, message: string, key = false): PipelineIssue => {
    const set = setPaths.find((p) => startsWith(path, splitSetPath(p)));
    if (set) return { file: `--set ${set}`, path: dotted(path), message };
    return at(nodeAt(doc, path, key), path, message);
  };
  const redactor = options.redactor ?? new Redactor();
  const env = options.env ?? Deno.env.toObject();
  const lookup = typeof env === "function" ? env : (name: string) => env[name];
  // A value with a variable problem would also fail its schema: report it once.
  const flagged: string[] = [];
  interpolateDocument(doc, lookup, redactor, (p, m) => {
    flagged.push(dotted(p));
    issues.push(locate(p, m));
  });
  const report = (found: PipelineIssue[]) => {
    for (const issue of found) {
      const under = (f: string) =>
        issue.path === f || issue.path.startsWith(`${f}.`) || issue.path.startsWith(`${f}[`);
      if (!flagged.some(under)) issues.push(issue);
    }
  };

  // Steps are checked even when the file around them is not, so every problem shows at once.
  // An alias inside its own anchor would make a cyclic value that nothing downstream can walk.
  const cycles: PipelineIssue[] = [];
  visit(doc, {
    Alias(key, node, ancestry) {
      if (ancestry.includes(node.resolve(doc) as never)) {
        cycles.push(
          at(node, pathOf(ancestry, key), `alias *${node.source} is inside its own anchor`),
        );
      }
    },
  });
  if (cycles.length) throw new PipelineError(sortIssues([...issues, ...cycles]));
  let raw: Record<string, unknown> | null;
  try {
    raw = doc.toJS() as Record<string, unknown> | null;
  } catch (error) {
    // yaml's limit on alias expansion (a "billion laughs" document).
    throw new PipelineError([{
      file,
      path: "",
      message: `Cannot expand aliases: ${messageOf(error)}`,
    }]);
  }
  redactor.addFromConfig(raw);
  const parsed = pipelineSchema.safeParse(raw);
  if (!parsed.success) {
    // A flag's value is reported by flagIssues, which can say what it expects.
    const found = zodIssues(parsed.error, [], pipelineSchema, locate);
    report(found.filter((issue) => !issue.path.startsWith("flags.")));
  }
  report(flagIssues(raw?.flags, typeof env === "function" ? undefined : env, lookup, locate));
  const baseDir = dirname(resolve(file));

  const resolveStep = async (
    value: unknown,
    path: Path,
    kind: PluginKind,
    defaultId: string,
  ): Promise<ResolvedStep | undefined> => {
    const shape = stepSchema.safeParse(value);
    if (!shape.success) return undefined; // Reported by the pipeline schema.
    const step = shape.data;
    let plugin: AnyPlugin | undefined;
    if (isPluginPath(step.use)) {
      try {
        plugin = await importPlugin(step.use, baseDir);
      } catch (error) {
        issues.push(locate([...path, "use"], (error as Error).message));
        return undefined;
      }
    } else {
      plugin = options.registry.get(step.use);
      if (!plugin) {
        const hint = options.registry.suggest(step.use);
        issues.push(locate(
          [...path, "use"],
          `unknown plugin "${step.use}"${hint ? `; did you mean "${hint}"?` : ""}`,
        ));
        return undefined;
      }
    }
    if (plugin.kind !== kind) {
      issues.push(locate([...path, "use"], `"${plugin.name}" is a ${plugin.kind}, not a ${kind}`));
      return undefined;
    }
    const config = plugin.config.safeParse(step.with);
    if (!config.success) {
      report(zodIssues(config.error, [...path, "with"], plugin.config, locate));
      return undefined;
    }
    return { id: step.id ?? defaultId, plugin, config: config.data };
  };

  const source = await resolveStep(raw?.source, ["source"], "source", "source");
  const transforms: ResolvedStep[] = [];
  const rawTransforms = Array.isArray(raw?.transforms) ? raw.transforms : [];
  for (const [i, step] of rawTransforms.entries()) {
    const resolved = await resolveStep(step, ["transforms", i], "transform", `transforms[${i}]`);
    if (resolved) transforms.push(resolved);
  }
  const sink = await resolveStep(raw?.sink, ["sink"], "sink", "sink");
  if (issues.length || !parsed.success || !source || !sink) {
    const masked = issues.map((issue) => ({ ...issue, message: redactor.redact(issue.message) }));
    throw new PipelineError(sortIssues(masked));
  }
  const data = parsed.data;
  const flags = Object.fromEntries(
    Object.entries(data.flags).map(([name, value]) => [name, value === true || value === "on"]),
  );
  return { name: data.name, file, source, transforms, sink, runtime: data.runtime, flags };
}

/**
 * Flags of the file that name no flag or hold no on/off value, and
 * `WEFT_FLAG_*` variables that do the same.
 */
function flagIssues(
  fromFile: unknown,
  variables: Readonly<Record<string, string | undefined>> | undefined,
  lookup: (name: string) => string | undefined,
  locate: (path: Path, message: string, key?: boolean) => PipelineIssue,
): PipelineIssue[] {
  const out: PipelineIssue[] = [];
  if (fromFile && typeof fromFile === "object" && !Array.isArray(fromFile)) {
    for (const [name, value] of Object.entries(fromFile)) {
      if (!FLAGS.some((flag) => flag.name === name)) {
        out.push(locate(["flags", name], unknownFlag(name), true));
      } else if (typeof value !== "boolean" && value !== "on" && value !== "off") {
        const got = typeof value === "string" ? `"${value}"` : JSON.stringify(value) ?? "nothing";
        out.push(locate(["flags", name], `expected on or off, got ${got}`));
      }
    }
  }
  // A lookup cannot list variables: then only those of known flags are checked.
  const env = variables ??
    Object.fromEntries(
      FLAGS.map((flag) => [flagEnvName(flag.name), lookup(flagEnvName(flag.name))]),
    );
  for (const { variable, message } of flagEnvProblems(env)) {
    out.push({ file: variable, path: "", message });
  }
  return out;
}

function applySets(doc: Document, sets: string[], issues: PipelineIssue[]): string[] {
  const paths: string[] = [];
  for (const set of sets) {
    const eq = set.indexOf("=");
    if (eq <= 0) {
      issues.push({ file: "--set", path: set, message: "expected path=value" });
      continue;
    }
    const key = set.slice(0, eq);
    const prepared = prepareSetPath(doc, splitSetPath(key));
    if (typeof prepared === "string") {
      issues.push({ file: "--set", path: key, message: prepared });
      continue;
    }
    doc.setIn(prepared, doc.createNode(parseSetValue(set.slice(eq + 1))));
    paths.push(key);
  }
  return paths;
}

/**
 * Checks that `path` leads through mappings and lists (empty values become
 * one); returns the path with keys typed as `doc.setIn` needs them, or what is wrong.
 */
function prepareSetPath(doc: Document, path: Path): Path | string {
  if (path.some((segment) => segment === "")) return "empty key in the path";
  const out: Path = [];
  let node: unknown = doc.contents;
  for (const [i, segment] of path.entries()) {
    const here = path.slice(0, i).join(".");
    const next = path[i + 1];
    const fill = (value: unknown) =>
      next !== undefined && (value == null || (isScalar(value) && value.value == null))
        ? doc.createNode(typeof next === "number" ? [] : {})
        : value;
    if (isMap(node)) {
      const pair = node.items.find((p) =>
        isScalar(p.key) && String(p.key.value) === String(segment)
      );
      if (!pair) return [...out, String(segment), ...path.slice(i + 1)];
      out.push((pair.key as { value: string | number }).value);
      pair.value = fill(pair.value);
      node = pair.value;
    } else if (isSeq(node)) {
      if (typeof segment !== "number") return `"${here}" is a list, not a mapping`;
      const n = node.items.length;
      if (segment > n) {
        return `index ${segment} is past the end of "${here}" (${n} item${n === 1 ? "" : "s"})`;
      }
      out.push(segment);
      if (segment === n) return [...out, ...path.slice(i + 1)];
      node.items[segment] = fill(node.items[segment]);
      node = node.items[segment];
    } else {
      const expected = typeof segment === "number" ? "list" : "mapping";
      return `"${here}" is ${kindOf(node)}, not a ${expected}`;
    }
  }
  return out;
}

function kindOf(node: unknown): string {
  if (!isScalar(node)) return "not a collection";
  const value = node.value;
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return "a plain value";
}

/**
 * A `--set` value as YAML (`3`, `[a, b]`, `null`, `~`); `x=` is an empty
 * string, and text that is not one YAML value (`#x`, `!!foo bar`) stays text.
 */
function parseSetValue(raw: string): unknown {
  if (raw === "") return "";
  try {
    const parsed = parseDocument(raw);
    if (parsed.errors.length || parsed.warnings.length) return raw;
    const value = parsed.toJS();
    if (value == null && !/^\s*(~|null|Null|NULL)\s*$/.test(raw)) return raw;
    return value;
  } catch {
    return raw;
  }
}

function splitSetPath(key: string): Path {
  return key.split(".").map((s) => /^\d+$/.test(s) ? Number(s) : s);
}

/** Whether `path` is `prefix` or lies under it. */
function startsWith(path: Path, prefix: Path): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => String(p) === String(path[i]));
}

function interpolateDocument(
  doc: Document,
  env: (name: string) => string | undefined,
  redactor: Redactor,
  problem: (path: Path, message: string) => void,
): void {
  visit(doc, {
    Scalar(key, node, ancestry) {
      if (key === "key" || typeof node.value !== "string") return;
      const result = interpolate(node.value, env);
      if (!result.changed && result.errors.length === 0) return;
      const path = pathOf(ancestry, key);
      for (const name of result.missing) problem(path, `environment variable ${name} is not set`);
      for (const error of result.errors) problem(path, error);
      const secret = result.substituted.filter(isSecretVariable);
      for (const name of secret) redactor.add(env(name));
      let value: unknown = result.value;
      // An unquoted `${PORT}` becomes a number, as if it had been written there
      // (a secret stays text: a numeric token is still a string option).
      if (node.type === "PLAIN" && result.value !== "" && secret.length === 0) {
        try {
          const typed = parse(result.value);
          if (typeof typed === "number" || typeof typed === "boolean") value = typed;
        } catch {
          // Keep the string.
        }
      }
      node.value = value;
    },
  });
}

/** The path of a node from its ancestors and its own key (an index in a list). */
function pathOf(ancestry: readonly unknown[], key: unknown): Path {
  const path: Path = [];
  for (let i = 0; i < ancestry.length; i++) {
    const item = ancestry[i];
    const next = ancestry[i + 1];
    if (isMap(item) && next && typeof next === "object" && "key" in next) {
      const k = (next as { key: unknown }).key;
      path.push(isScalar(k) ? String(k.value) : String(k));
    } else if (isSeq(item) && next !== undefined) {
      path.push(item.items.indexOf(next as never));
    } else if (isSeq(item) && typeof key === "number") {
      path.push(key);
    }
  }
  return path;
}

/** The deepest existing node along `path` (the value, or its key when asked for a key). */
function nodeAt(doc: Document, path: Path, wantKey = false): YamlNode | undefined {
  let node: unknown = doc.contents;
  for (const [i, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === segment);
      if (!pair) return node;
      if (wantKey && i === path.length - 1) return pair.key as YamlNode;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (!item) return node;
      node = item;
    } else {
      return node as YamlNode;
    }
  }
  return node as YamlNode;
}

function zodIssues(
  error: z.ZodError,
  prefix: Path,
  schema: z.ZodType,
  locate: (path: Path, message: string, key?: boolean) => PipelineIssue,
): PipelineIssue[] {
  const out: PipelineIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.map((p) => typeof p === "symbol" ? String(p) : p)];
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(schema, issue.path);
      for (const key of issue.keys) {
        const hint = closest(key, known);
        const text = `unknown option "${key}"${hint ? `; did you mean "${hint}"?` : ""}`;
        out.push(locate([...path, key], text, true));
      }
      continue;
    }
    const message = issue.code === "invalid_type" && /received undefined$/.test(issue.message)
      ? `missing required option (${issue.expected})`
      : issue.message.replace(/^Invalid input: /, "");
    out.push(locate(path, message.charAt(0).toLowerCase() + message.slice(1)));
  }
  return out;
}

/** Keys an object schema accepts at `path`, looking through defaults, optionals and pipes. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  const unwrap = (s: unknown): unknown => {
    for (let i = 0; i < 10; i++) {
      const def = (s as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
      if (!def) return s;
      if (def.innerType) s = def.innerType;
      else if (def.type === "pipe") s = def.in;
      else return s;
    }
    return s;
  };
  for (const segment of path) {
    const def = (unwrap(current) as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
    if (def?.type === "object") current = (def.shape as Record<string, unknown>)[String(segment)];
    else if (def?.type === "array") current = def.element;
    else if (def?.type === "record") current = def.valueType;
    else return [];
  }
  const def = (unwrap(current) as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
  return def?.type === "object" ? Object.keys(def.shape as object) : [];
}

function sortIssues(issues: PipelineIssue[]): PipelineIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

function dotted(path: Path): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`).join("");
}
