/**
 * Zod schemas for durations and byte sizes written the way people write them.
 * @module
 */
import { z } from "zod";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

function parseWithUnits(text: string, units: Record<string, number>): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const factor = match[2] ? units[match[2].toLowerCase()] : 1;
  return factor === undefined ? undefined : Math.round(Number(match[1]) * factor);
}

/** Milliseconds, as a number or a string such as `"500ms"`, `"30s"`, `"2m"`. */
export function duration(): z.ZodType<number, number | string> {
  return z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
    if (typeof value === "number") return value;
    const ms = parseWithUnits(value, DURATION_UNITS);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `expected a duration like "30s", got "${value}"` });
      return z.NEVER;
    }
    return ms;
  });
}

/** Bytes, as a number or a string such as `"64MiB"`, `"1GB"`. */
export function byteSize(): z.ZodType<number, number | string> {
  return z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
    if (typeof value === "number") return value;
    const bytes = parseWithUnits(value, SIZE_UNITS);
    if (bytes === undefined || bytes <= 0) {
      ctx.addIssue({ code: "custom", message: `expected a size like "64MiB", got "${value}"` });
      return z.NEVER;
    }
    return bytes;
  });
}

/** An optional string where `""` counts as absent (so `${VAR:-}` can leave an option unset). */
export function optionalString(): z.ZodType<string | undefined, string | undefined> {
  return z.string().optional().transform((value) => value === "" ? undefined : value);
}
