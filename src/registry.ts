/**
 * Finds plugins by name, or loads a user's plugin module from a path.
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { closest } from "./_closest.ts";
import type { AnyPlugin, PluginKind } from "./plugin.ts";

const KINDS: readonly PluginKind[] = ["source", "transform", "sink"];

/** Built-in and user plugins by name. */
export class PluginRegistry {
  #plugins = new Map<string, AnyPlugin>();

  constructor(plugins: Iterable<AnyPlugin> = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  /** Adds a plugin; a second plugin with the same name is a programming mistake. */
  register(plugin: AnyPlugin): void {
    if (this.#plugins.has(plugin.name)) {
      throw new TypeError(`Cannot register plugin: "${plugin.name}" is registered already`);
    }
    this.#plugins.set(plugin.name, plugin);
  }

  get(name: string): AnyPlugin | undefined {
    return this.#plugins.get(name);
  }

  /** All plugins, sorted by name. */
  list(): AnyPlugin[] {
    return [...this.#plugins.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The registered name closest to `name`, if one is close enough to be a typo. */
  suggest(name: string): string | undefined {
    return closest(name, this.#plugins.keys());
  }
}

/** Whether a `use:` value names a module path rather than a registered plugin. */
export function isPluginPath(use: string): boolean {
  return /^(\.{1,2}\/|\/|file:|https?:)/.test(use) || /\.(ts|js|mjs)$/.test(use);
}

/**
 * Imports a plugin module: its default export, or its export named `plugin`.
 * Relative paths are resolved against `baseDir` (the pipeline file's directory).
 */
export async function importPlugin(use: string, baseDir: string): Promise<AnyPlugin> {
  const url = /^(file:|https?:)/.test(use)
    ? use
    : pathToFileURL(isAbsolute(use) ? use : resolve(baseDir, use)).href;
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (error) {
    const text = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new Error(`cannot load plugin module: ${text}`);
  }
  const candidate = module.default ?? module.plugin;
  if (!isPlugin(candidate)) {
    throw new Error(
      "plugin module must export a plugin made with definePlugin() as default or as `plugin`",
    );
  }
  return candidate;
}

function isPlugin(value: unknown): value is AnyPlugin {
  if (!value || typeof value !== "object") return false;
  const p = value as Partial<AnyPlugin>;
  return typeof p.name === "string" && typeof p.create === "function" &&
    KINDS.includes(p.kind as PluginKind) && typeof p.config === "object" && p.config !== null &&
    "safeParse" in p.config;
}
