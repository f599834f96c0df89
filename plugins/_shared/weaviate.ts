/**
 * Connection options and a connected client shared by the Weaviate plugins.
 * @module
 */
import weaviate, { type WeaviateClient } from "weaviate-client";
import { z } from "zod";
import { messageOf, ServerError } from "../../src/errors.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { safeUrl } from "../../src/redact.ts";
import { optionalString } from "../../src/units.ts";
import { stringifyJson } from "./json.ts";

/** Options every Weaviate plugin takes. */
export const connectionOptions = {
  url: z.url().default("http://localhost:8080").describe("Weaviate REST address"),
  grpcUrl: optionalString().pipe(z.url().optional())
    .describe("Weaviate gRPC address; defaults to the REST host on port 50051"),
  apiKey: optionalString().describe("API key (sent as a Bearer token); never logged"),
  headers: z.record(z.string(), z.string()).default({})
    .describe("Extra HTTP headers, e.g. a vectorizer's API key; values never logged"),
};

/** Parsed connection options. */
export interface ConnectionConfig {
  url: string;
  grpcUrl?: string | undefined;
  apiKey?: string | undefined;
  headers: Record<string, string>;
}

/** A connected Weaviate: raw REST access for canonical JSON, and the client on demand. */
export interface WeaviateConnection {
  /** The weaviate-client (gRPC), connected on first use and closed when the run ends. */
  client(): Promise<WeaviateClient>;
  /** Server version from `/v1/meta`. */
  version: string;
  /** Address safe to record. */
  url: string;
  /** The gRPC address. */
  grpcAddress: URL;
  /**
   * Calls the REST API; throws {@linkcode ServerError} on a non-2xx answer.
   * `options.signal` replaces the run's signal (cleanups that must reach the
   * server after the run was cancelled pass their own).
   */
  rest<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options?: { signal?: AbortSignal },
  ): Promise<T>;
}

/** Connects (with the run's retry policy) and closes the client when the run ends. */
export async function connectWeaviate(
  config: ConnectionConfig,
  ctx: PluginContext,
): Promise<WeaviateConnection> {
  ctx.secret(config.apiKey);
  for (const value of Object.values(config.headers)) ctx.secret(value);
  const rest = new URL(config.url);
  const grpc = new URL(config.grpcUrl ?? `${rest.protocol}//${rest.hostname}:50051`);
  const httpSecure = rest.protocol === "https:";
  const restBase = config.url.replace(/\/+$/, "");
  const authHeaders: Record<string, string> = {
    ...config.headers,
    ...(config.apiKey ? { Authorization: `Bearer ${config.apiKey}` } : {}),
  };

  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${restBase}${path}`, {
        method,
        headers: {
          ...authHeaders,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: stringifyJson(body) }),
        signal: options.signal ?? ctx.signal,
      });
    } catch (error) {
      throw new ServerError(`Cannot ${method} ${path}: ${messageOf(error)}`);
    }
    const text = await res.text();
    if (!res.ok) {
      const retryable = res.status === 429 || res.status >= 500;
      throw new ServerError(
        `Cannot ${method} ${path}: HTTP ${res.status} ${describeBody(text)}`,
        { status: res.status, retryable },
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  };

  const meta = await ctx.retry(() => call<{ version: string }>("GET", "/v1/meta"));
  let client: Promise<WeaviateClient> | undefined;
  const connect = () =>
    weaviate.connectToCustom({
      httpHost: rest.hostname,
      httpPort: Number(rest.port || (httpSecure ? 443 : 80)),
      httpSecure,
      httpPath: rest.pathname === "/" ? "" : rest.pathname.replace(/\/+$/, ""),
      grpcHost: grpc.hostname,
      grpcPort: Number(grpc.port || (grpc.protocol === "https:" ? 443 : 80)),
      grpcSecure: grpc.protocol === "https:",
      headers: config.headers,
      ...(config.apiKey ? { authCredentials: new weaviate.ApiKey(config.apiKey) } : {}),
    });
  const lazyClient = () =>
    client ??= ctx.retry(connect).then((c) => {
      ctx.onClose(() => c.close());
      return c;
    });
  return {
    client: lazyClient,
    version: meta.version,
    url: safeUrl(config.url),
    grpcAddress: grpc,
    rest: call,
  };
}

function describeBody(text: string): string {
  try {
    const body = JSON.parse(text);
    const messages = body?.error?.map?.((e: { message?: string }) => e.message) ?? [body?.message];
    return messages.filter(Boolean).join("; ") || text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
