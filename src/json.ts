/**
 * JSON text that keeps every value Weaviate can return: `JSON.stringify`
 * writes `-0` as `0`, which would turn a stored negative zero into a positive
 * one. `JSON.parse("-0")` already yields `-0`, so only writing needs care.
 * @module
 */

/** Text written into JSON as it is, e.g. an integer a double cannot hold exactly. */
export class JsonLiteral {
  constructor(readonly text: string) {}
}

/**
 * `JSON.stringify(value)`, except that negative zero is written as `-0` and a
 * {@linkcode JsonLiteral} as its text.
 *
 * @example
 * ```ts
 * import { stringifyJson } from "./json.ts";
 * if (stringifyJson({ a: [-0, 0, "-0"] }) !== '{"a":[-0,0,"-0"]}') throw new Error("lost -0");
 * ```
 */
export function stringifyJson(value: unknown): string {
  // The fast path: almost no data holds a negative zero. A scan in plain
  // JavaScript costs a third of a replacer function called for every value.
  const care = needsCare(value, 0);
  if (care === "deep") {
    // Nested deeper than the scan goes (or circular: JSON.stringify throws its TypeError).
    let special = false;
    const text = JSON.stringify(value, (_key, v) => {
      if ((v === 0 && Object.is(v, -0)) || v instanceof JsonLiteral) special = true;
      return v;
    });
    return special ? write(value) : text;
  }
  return care ? write(value) : JSON.stringify(value);
}

/** Whether `value` holds a negative zero or a {@linkcode JsonLiteral}; "deep" past 64 levels. */
function needsCare(value: unknown, depth: number): boolean | "deep" {
  if (typeof value === "number") return value === 0 && Object.is(value, -0);
  if (value === null || typeof value !== "object") return false;
  if (depth > 64) return "deep";
  if (value instanceof JsonLiteral) return true;
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return true;
  if (Array.isArray(value)) {
    for (const v of value) {
      const care = needsCare(v, depth + 1);
      if (care) return care;
    }
    return false;
  }
  for (const key in value) {
    const care = needsCare((value as Record<string, unknown>)[key], depth + 1);
    if (care) return care;
  }
  return false;
}

function write(value: unknown): string {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : JSON.stringify(value);
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (value instanceof JsonLiteral) return value.text;
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return write((value as { toJSON: () => unknown }).toJSON());
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => v === undefined || typeof v === "function" ? "null" : write(v))}]`;
  }
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
    parts.push(`${JSON.stringify(k)}:${write(v)}`);
  }
  return `{${parts.join(",")}}`;
}
