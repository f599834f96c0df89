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

/** The options of `plugin`, in declaration order. */
export function describeOptions(plugin: AnyPlugin): OptionInfo[] {
  const json = z.toJSONSchema(plugin.config, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name,
    type: typeName(schema),
    required: required.has(name) && schema.default === undefined,
    ...(schema.default === undefined ? {} : { default: schema.default }),
    description: schema.description ?? "",
  }));
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
