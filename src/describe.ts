/**
 * A plugin's options as a table, generated from its zod schema.
 * @module
 */
import { z } from "zod";
import type { AnyPlugin } from "./plugin.ts";

/** One option of a plugin. */
export interface OptionInfo {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  description?: string;
}

function typeName(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return [...new Set(union.map(typeName))].join(" | ");
  if (schema.type === "array") return `${schema.items ? typeName(schema.items) : "unknown"}[]`;
  if (schema.format === "uri") return "url";
  if (Array.isArray(schema.type)) return schema.type.join(" | ");
  return schema.type ?? "unknown";
}

type ZodDef = { type?: string; defaultValue?: unknown; innerType?: unknown; shape?: unknown };
const defOf = (schema: unknown) => (schema as { _zod?: { def?: ZodDef } })?._zod?.def;

/** The default of an option schema: JSON Schema drops defaults that wrap a transform. */
function defaultOf(schema: unknown): unknown {
  for (let def = defOf(schema); def; def = defOf(def.innerType)) {
    if (def.type === "default") return def.defaultValue;
    if (!def.innerType) return undefined;
  }
  return undefined;
}

/** The options of `plugin`, in declaration order. */
export function describeOptions(plugin: AnyPlugin): OptionInfo[] {
  const json = z.toJSONSchema(plugin.config, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const shape = (defOf(plugin.config)?.shape ?? {}) as Record<string, unknown>;
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, schema]) => {
    const fallback = schema.default ?? defaultOf(shape[name]);
    return {
      name,
      type: typeName(schema),
      required: required.has(name) && fallback === undefined,
      ...(fallback === undefined ? {} : { default: fallback }),
      description: schema.description ?? "",
    };
  });
}

/** `weft plugins NAME` output. */
export function formatPluginHelp(plugin: AnyPlugin): string {
  const lines = [`${plugin.name} (${plugin.kind})`, `  ${plugin.description}`, "", "Options:"];
  for (const option of describeOptions(plugin)) {
    const flag = option.required
      ? "required"
      : option.default === undefined
      ? "optional"
      : `default ${JSON.stringify(option.default)}`;
    lines.push(`  ${option.name}: ${option.type} (${flag})`);
    if (option.description) lines.push(`      ${option.description}`);
  }
  return lines.join("\n");
}
