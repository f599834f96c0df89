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

/** Options of {@linkcode address}. */
export interface AddressOptions {
  /** What the address is for, in messages (`a gRPC address takes no path`). */
  name?: string;
  /** Whether a path is allowed (a REST base path); default true. */
  path?: boolean;
  /** Whether `user:password@` is allowed (sent as HTTP basic auth by fetch); default true. */
  credentials?: boolean;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?):(\d+)(\/.*)?$/i;
/** Whether `text` is written as `host:port` (an address without a scheme, as Docker users write it). */
export function isHostPort(text: string): boolean {
  return HOST_PORT.test(text.trim());
}

const EXAMPLE = 'expected an address like "http://localhost:8080" or "localhost:8080" ' +
  "(no scheme means http, or https on port 443)";

/**
 * An http(s) address, as a full URL string. `host:port` (as Docker users
 * write it) is read as `http://host:port`, or `https://host:443`; anything
 * else without an `http://` or `https://` scheme is rejected. Messages never
 * echo the value: it may be a secret put in the wrong place.
 */
export function address(options: AddressOptions = {}): z.ZodType<string, string> {
  const name = options.name ?? "an address";
  return z.string().transform((value, ctx) => {
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    };
    const text = value.trim();
    let full = text;
    const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
    if (scheme === undefined) {
      const match = HOST_PORT.exec(text);
      if (!match) return fail(EXAMPLE);
      full = `${match[3] === "443" ? "https" : "http"}://${text}`;
    } else if (scheme !== "http" && scheme !== "https") {
      return fail(
        `scheme "${scheme}:" is not supported; use http:// (plaintext) or https:// (TLS)`,
      );
    }
    const port = /^[^/]*:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/]*):(\d+)/.exec(full)?.[1];
    if (port !== undefined && Number(port) > 65_535) return fail(`port ${port} is out of range`);
    let url: URL;
    try {
      url = new URL(full);
    } catch {
      return fail(EXAMPLE);
    }
    if (!url.hostname) return fail(EXAMPLE);
    if (options.credentials === false && (url.username || url.password)) {
      return fail(`${name} takes no user:password; use apiKey or headers`);
    }
    if (url.search || url.hash) return fail(`${name} takes no query or fragment`);
    if (options.path === false && url.pathname !== "/") return fail(`${name} takes no path`);
    return full;
  });
}
