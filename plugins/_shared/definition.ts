/**
 * Turns a collection definition from one server into one another server
 * accepts: renamed, output-only settings dropped, and settings the target
 * cannot take — modules it does not enable, features newer than its version —
 * refused (or, with `force`, dropped where that is possible, and reported).
 * @module
 */

/** Whether a property's data type is a reference (it names collections, which are capitalised). */
export function isReference(dataType: string[]): boolean {
  const first = dataType[0] ?? "";
  return first.length > 0 && first[0] === first[0]!.toUpperCase() &&
    first[0] !== first[0]!.toLowerCase();
}

/** A collection definition as `GET /v1/schema/{name}` returns it. */
export type Definition = Record<string, unknown> & {
  class: string;
  properties?: { name: string; dataType: string[]; moduleConfig?: Record<string, unknown> }[];
};

/** A definition ready to create, with what was changed to make it fit. */
export interface PreparedDefinition {
  definition: Definition;
  /** Human-readable changes made because of `force`. */
  changes: string[];
}

/** Options of {@linkcode prepareDefinition}. */
export interface PrepareOptions {
  /** Name to create the collection under. */
  name: string;
  /** Source collection name → target name, for references between restored collections. */
  renames: ReadonlyMap<string, string>;
  /** Modules the target server enables (from `/v1/meta`). */
  modules: ReadonlySet<string>;
  /** The target server's version (from `/v1/meta`), e.g. `1.39.0`. */
  version: string;
  /** The target's node count (from `/v1/nodes`), when known. */
  nodes?: number | undefined;
  /** Drop what the target cannot take instead of refusing. */
  force: boolean;
}

/** Prepares `source` for `POST /v1/schema`; throws naming the first setting it cannot take. */
export function prepareDefinition(source: Definition, options: PrepareOptions): PreparedDefinition {
  const definition = structuredClone(source);
  definition.class = options.name;
  const multiTenancy = definition.multiTenancyConfig as { enabled?: boolean } | undefined;
  // Output-only for multi-tenant collections; the server refuses both together.
  if (multiTenancy?.enabled) delete definition.shardingConfig;
  for (const property of definition.properties ?? []) {
    property.dataType = property.dataType.map((t) => options.renames.get(t) ?? t);
  }

  const problems: Problem[] = [];
  const usable = (module: string) => module === "none" || options.modules.has(module);
  const vectorizer = definition.vectorizer;
  if (typeof vectorizer === "string" && !usable(vectorizer)) {
    problems.push({
      setting: "vectorizer",
      module: vectorizer,
      reason: moduleReason(vectorizer),
      drop: () => definition.vectorizer = "none",
    });
  }
  const checkModuleConfig = (config: Record<string, unknown> | undefined, where: string) => {
    for (const module of Object.keys(config ?? {})) {
      if (!usable(module)) {
        problems.push({
          setting: `${where}.${module}`,
          module,
          reason: moduleReason(module),
          drop: () => delete config![module],
        });
      }
    }
  };
  checkModuleConfig(definition.moduleConfig as Record<string, unknown> | undefined, "moduleConfig");
  const vectorConfig = definition.vectorConfig as
    | Record<string, { vectorizer?: Record<string, unknown> }>
    | undefined;
  for (const [name, config] of Object.entries(vectorConfig ?? {})) {
    for (const module of Object.keys(config.vectorizer ?? {})) {
      if (!usable(module)) {
        problems.push({
          setting: `vectorConfig.${name}.vectorizer`,
          module,
          reason: moduleReason(module),
          drop: () => config.vectorizer = { none: {} },
        });
      }
    }
  }
  for (const property of definition.properties ?? []) {
    checkModuleConfig(property.moduleConfig, `properties.${property.name}.moduleConfig`);
  }

  for (const problem of versionProblems(definition, options.version)) problems.push(problem);
  const replication = definition.replicationConfig as Json | undefined;
  const factor = replication?.factor;
  if (typeof factor === "number" && options.nodes && factor > options.nodes) {
    const nodes = options.nodes;
    problems.push({
      setting: "replicationConfig.factor",
      reason: `is ${factor}, but the target has ${nodes} node(s)`,
      drop: () => replication!.factor = nodes,
      done:
        `set replicationConfig.factor from ${factor} to ${nodes} (the target has ${nodes} node(s))`,
    });
  }

  const refused = options.force ? problems.filter((p) => !p.drop) : problems;
  if (refused.length) {
    const first = refused[0]!;
    const fix = first.drop
      ? "or set forceSchema: true to drop or adapt such settings"
      : "forceSchema cannot drop it";
    throw new Error(
      `Cannot create collection "${options.name}": ${first.setting} ${first.reason}${
        refused.length > 1
          ? ` (also: ${refused.slice(1).map((p) => `${p.setting} ${p.reason}`).join(", ")})`
          : ""
      }; ${first.module ? "enable it there, " : ""}${fix}`,
    );
  }
  for (const problem of problems) problem.drop!();
  return {
    definition,
    changes: problems.map((p) => p.done ?? `dropped ${p.setting} (${p.reason})`),
  };
}

interface Problem {
  setting: string;
  reason: string;
  /** The module the setting needs, if that is the reason. */
  module?: string;
  /** Removes (or adapts) the setting; absent when the collection cannot do without it. */
  drop?: () => void;
  /** What `drop` did, when it adapts rather than removes. */
  done?: string;
}

type Json = Record<string, unknown>;

/** Whether `version` (e.g. `1.28.3`, `1.32.0-rc.1`) is older than `minimum`. */
export function olderThan(version: string, minimum: string): boolean {
  const parse = (v: string) => v.replace(/^v/, "").split(/[.-]/).slice(0, 3).map(Number);
  const [a, b] = [parse(version), parse(minimum)];
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0, y = b[i] ?? 0;
    if (Number.isNaN(x)) return false; // unknown version: let the server decide
    if (x !== y) return x < y;
  }
  return false;
}

/** Settings newer than the target's version (documented minimum versions). */
function versionProblems(definition: Definition, version: string): Problem[] {
  const problems: Problem[] = [];
  const needs = (setting: string, minimum: string, drop?: () => void) => {
    if (olderThan(version, minimum)) {
      problems.push({
        setting,
        reason: `needs Weaviate ${minimum} or newer, the target runs ${version}`,
        ...(drop ? { drop } : {}),
      });
    }
  };
  for (const property of definition.properties ?? []) {
    const p = property as unknown as Json;
    if (property.dataType.some((t) => t === "object" || t === "object[]")) {
      needs(`properties.${property.name}.dataType`, "1.22.0");
    }
    if (p.indexRangeFilters === true) {
      needs(`properties.${property.name}.indexRangeFilters`, "1.26.0", () => {
        delete p.indexRangeFilters;
      });
    }
  }
  const tenancy = definition.multiTenancyConfig as Json | undefined;
  for (
    const [key, minimum] of [["autoTenantCreation", "1.25.0"], ["autoTenantActivation", "1.25.2"]]
  ) {
    if (tenancy?.[key!] === true) {
      needs(`multiTenancyConfig.${key}`, minimum!, () => delete tenancy[key!]);
    }
  }
  const indexes: [string, Json][] = [];
  if (definition.vectorConfig && Object.keys(definition.vectorConfig as Json).length) {
    needs("vectorConfig", "1.24.0");
    for (const [name, config] of Object.entries(definition.vectorConfig as Record<string, Json>)) {
      indexes.push([`vectorConfig.${name}`, config]);
    }
  }
  if (definition.vectorIndexConfig) indexes.push(["", definition as Json]);
  for (const [where, config] of indexes) {
    const at = (key: string) => (where ? `${where}.${key}` : key);
    if (config.vectorIndexType === "dynamic") needs(at("vectorIndexType"), "1.25.0");
    const index = (config.vectorIndexConfig ?? {}) as Json;
    if ((index.multivector as Json | undefined)?.enabled === true) {
      needs(at("vectorIndexConfig.multivector"), "1.29.0");
    }
    if ((index.rq as Json | undefined)?.enabled === true) {
      needs(at("vectorIndexConfig.rq"), "1.32.0", () => delete index.rq);
    }
  }
  return problems;
}

function moduleReason(module: string): string {
  return `needs module "${module}", which the target server does not enable`;
}

/**
 * Merges `overrides` into a copy of `definition`: objects are merged key by
 * key, `properties` entry by entry (matched by `name`), `null` removes a key,
 * anything else is replaced.
 */
export function applyOverrides(
  definition: Definition,
  overrides: Record<string, unknown>,
): Definition {
  return merge(structuredClone(definition), overrides) as Definition;
}

function merge(base: unknown, patch: unknown, key = ""): unknown {
  if (base === undefined) return withoutNulls(patch);
  if (key === "properties" && Array.isArray(base) && Array.isArray(patch)) {
    const out = [...base] as { name: string }[];
    for (const item of patch as { name?: string }[]) {
      const i = out.findIndex((p) => p.name === item.name);
      if (i >= 0) out[i] = merge(out[i], item) as { name: string };
      else out.push(withoutNulls(item) as { name: string });
    }
    return out;
  }
  if (isPlainObject(base) && isPlainObject(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = merge(base[k], v, k);
    }
    return out;
  }
  return withoutNulls(patch);
}

/** `value` with `null` members of objects removed, at every depth. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]),
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `items` reordered so that a collection comes after the collections its
 * references point at (cycles keep their order), otherwise by name: a
 * restore then writes most references to objects that already exist.
 *
 * @example
 * ```ts
 * import { referencesFirst } from "./definition.ts";
 * const order = referencesFirst([
 *   { class: "Articles", properties: [{ name: "by", dataType: ["Authors"] }] },
 *   { class: "Authors", properties: [{ name: "name", dataType: ["text"] }] },
 * ], (d) => d).map((d) => d.class);
 * if (order.join() !== "Authors,Articles") throw new Error(order.join());
 * ```
 */
export function referencesFirst<T>(items: T[], definitionOf: (item: T) => Definition): T[] {
  const byName = new Map(items.map((item) => [definitionOf(item).class, item]));
  const out: T[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string) => {
    if (state.has(name)) return;
    state.set(name, "visiting");
    const item = byName.get(name)!;
    const targets = (definitionOf(item).properties ?? [])
      .filter((p) => isReference(p.dataType))
      .flatMap((p) => p.dataType)
      .filter((t) => t !== name && byName.has(t))
      .sort();
    for (const target of targets) visit(target);
    state.set(name, "done");
    out.push(item);
  };
  for (const name of [...byName.keys()].sort()) visit(name);
  return out;
}

/**
 * Where `existing` (as `GET /v1/schema/{name}` returns it) differs from
 * `sent` (what was posted to create it), as paths: settings the server added
 * (its defaults) are not differences; properties are matched by name; an
 * empty list or object sent matches one left out.
 *
 * @example
 * ```ts
 * import { definitionDifferences } from "./definition.ts";
 * const sent = { class: "A", properties: [{ name: "t", dataType: ["text"] }] };
 * const existing = {
 *   class: "A",
 *   vectorIndexType: "hnsw",
 *   properties: [{ name: "t", dataType: ["text"], tokenization: "word" }],
 * };
 * if (definitionDifferences(sent, existing).length) throw new Error("defaults are not differences");
 * const other = { class: "A", properties: [{ name: "t", dataType: ["int"] }] };
 * if (definitionDifferences(sent, other)[0] !== "properties.t.dataType") throw new Error();
 * ```
 */
export function definitionDifferences(sent: unknown, existing: unknown, path = ""): string[] {
  if (isEmpty(sent) && (existing === undefined || isEmpty(existing))) return [];
  if (Array.isArray(sent) && Array.isArray(existing)) {
    if (sent.every(isNamed) && existing.every(isNamed)) {
      const byName = new Map(existing.map((item) => [item.name, item]));
      return sent.flatMap((item) =>
        byName.has(item.name)
          ? definitionDifferences(item, byName.get(item.name), at(path, item.name))
          : [at(path, item.name)]
      );
    }
    if (sent.length !== existing.length) return [path];
    const differ = sent.flatMap((item, i) =>
      definitionDifferences(item, existing[i], at(path, `${i}`))
    );
    // A list of values (a data type) differs as a whole.
    return differ.length && !sent.some(isPlainObject) ? [path] : differ;
  }
  if (isPlainObject(sent) && isPlainObject(existing)) {
    return Object.entries(sent).flatMap(([key, value]) =>
      definitionDifferences(value, existing[key], at(path, key))
    );
  }
  return sent === existing ? [] : [path];
}

function at(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function isNamed(value: unknown): value is { name: string } {
  return isPlainObject(value) && typeof value.name === "string";
}

function isEmpty(value: unknown): boolean {
  return value === null || (Array.isArray(value) && value.length === 0) ||
    (isPlainObject(value) && Object.keys(value).length === 0);
}
