/**
 * Turns a collection definition from one server into one another server
 * accepts: renamed, output-only settings dropped, and modules the target
 * does not enable refused (or, with `force`, dropped and reported).
 * @module
 */

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

  const problems: { setting: string; module: string; drop: () => void }[] = [];
  const usable = (module: string) => module === "none" || options.modules.has(module);
  const vectorizer = definition.vectorizer;
  if (typeof vectorizer === "string" && !usable(vectorizer)) {
    problems.push({
      setting: "vectorizer",
      module: vectorizer,
      drop: () => definition.vectorizer = "none",
    });
  }
  const checkModuleConfig = (config: Record<string, unknown> | undefined, where: string) => {
    for (const module of Object.keys(config ?? {})) {
      if (!usable(module)) {
        problems.push({
          setting: `${where}.${module}`,
          module,
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
          drop: () => config.vectorizer = { none: {} },
        });
      }
    }
  }
  for (const property of definition.properties ?? []) {
    checkModuleConfig(property.moduleConfig, `properties.${property.name}.moduleConfig`);
  }

  if (problems.length && !options.force) {
    const first = problems[0]!;
    throw new Error(
      `Cannot create collection "${options.name}": ${first.setting} needs module "${first.module}", which the target server does not enable${
        problems.length > 1 ? ` (and ${problems.length - 1} more settings)` : ""
      }; enable it there, or set forceSchema: true to drop such settings`,
    );
  }
  for (const problem of problems) problem.drop();
  return {
    definition,
    changes: problems.map((p) => `dropped ${p.setting} (module "${p.module}" not enabled)`),
  };
}

/**
 * Merges `overrides` into a copy of `definition`: objects are merged key by
 * key, `properties` entry by entry (matched by `name`), anything else replaced.
 */
export function applyOverrides(
  definition: Definition,
  overrides: Record<string, unknown>,
): Definition {
  return merge(structuredClone(definition), overrides) as Definition;
}

function merge(base: unknown, patch: unknown, key = ""): unknown {
  if (key === "properties" && Array.isArray(base) && Array.isArray(patch)) {
    const out = [...base] as { name: string }[];
    for (const item of patch as { name?: string }[]) {
      const i = out.findIndex((p) => p.name === item.name);
      if (i >= 0) out[i] = merge(out[i], item) as { name: string };
      else out.push(item as { name: string });
    }
    return out;
  }
  if (isPlainObject(base) && isPlainObject(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = merge(base[k], v, k);
    return out;
  }
  return patch;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
