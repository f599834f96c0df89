/**
 * Connection options and a connected client shared by the Weaviate plugins.
 * @module
 */
import type { WeaviateClient } from "weaviate-client";
import { z } from "zod";
import { isTransientStatus, messageOf, ServerError, TimeoutError } from "../../src/errors.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { safeUrl } from "../../src/redact.ts";
import { isTransient } from "../../src/retry.ts";
import { address, optionalString } from "../../src/units.ts";
import { stringifyJson } from "./json.ts";

/** A value that can go into an HTTP header; the message never shows the value (it may be secret). */
function headerValue() {
  const control = (c: string) => c !== "\t" && (c < " " || c === "\u007f");
  return z.string().refine((v) => ![...v].some(control), {
    message: "must not contain control characters such as a line break (check how it was pasted)",
  });
}

/** Options every Weaviate plugin takes. */
export const connectionOptions = {
  url: address({ name: "a REST address" }).default("http://localhost:8080").describe(
    'Weaviate REST address: "http://host:8080", "https://host", or "host:port" ' +
      "(http; https on port 443)",
  ),
  grpcUrl: optionalString()
    .pipe(address({ name: "a gRPC address", path: false, credentials: false }).optional())
    .describe(
      'Weaviate gRPC address: "http://host:50051" (plaintext), "https://host:443" (TLS), or ' +
        '"host:port" (plaintext; TLS on port 443); defaults to the REST host on port 50051, ' +
        "with TLS when the REST address is https",
    ),
  apiKey: optionalString().pipe(headerValue().optional())
    .describe("API key (sent as a Bearer token); never logged"),
  headers: z.record(z.string(), headerValue()).default({})
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

  const shownBase = safeUrl(restBase);
  // `firstContact`: nothing answered yet, so a refused connection or an unknown
  // host is a wrong address (or a server not started), not a restart: fail at once.
  const request = async <T>(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    firstContact: boolean,
  ): Promise<T> => {
    const action = `Cannot ${method} ${shownBase}${path}`;
    // Outside the try: a body JSON cannot hold is a bug, not a network failure.
    const init: RequestInit = {
      method,
      headers: {
        ...authHeaders,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: stringifyJson(body) }),
      signal,
    };
    let res: Response;
    try {
      res = await fetch(`${restBase}${path}`, init);
    } catch (error) {
      throw networkError(action, rest, error, signal, firstContact);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      throw networkError(action, rest, error, signal, false);
    }
    if (!res.ok) {
      throw new ServerError(
        `${action}: HTTP ${res.status} ${describeBody(text)}`,
        { status: res.status, retryable: isTransientStatus(res.status) },
      );
    }
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      const why = "the answer is not JSON (is this Weaviate's REST address?)";
      throw new ServerError(`${action}: ${why}`, { status: res.status, retryable: false });
    }
  };
  const call = <T>(
    method: string,
    path: string,
    body?: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> => request<T>(method, path, body, options.signal ?? ctx.signal, false);

  const meta = await ctx.retry((signal) =>
    request<{ version: string }>("GET", "/v1/meta", undefined, signal, true)
  );
  let client: Promise<WeaviateClient> | undefined;
  // Imported on first use: most runs never need the client, and loading it costs ~30 MB.
  const connect = async () => {
    const { default: weaviate } = await import("weaviate-client");
    return await weaviate.connectToCustom({
      httpHost: rest.hostname,
      httpPort: Number(rest.port || (httpSecure ? 443 : 80)),
      httpSecure,
      httpPath: rest.pathname === "/" ? "" : rest.pathname.replace(/\/+$/, ""),
      grpcHost: grpc.hostname,
      grpcPort: Number(grpc.port || (grpc.protocol === "https:" ? 443 : 80)),
      grpcSecure: grpc.protocol === "https:",
      headers: config.headers,
      ...(config.apiKey ? { authCredentials: new weaviate.ApiKey(config.apiKey) } : {}),
    }).catch((error) => {
      throw clientError(shownBase, grpc, error);
    });
  };
  // A failed connect is forgotten: the next call tries again rather than rethrowing it.
  const lazyClient = () =>
    client ??= ctx.retry(connect).then((c) => {
      ctx.onClose(() => c.close());
      return c;
    }, (error) => {
      client = undefined;
      throw error;
    });
  return {
    client: lazyClient,
    version: meta.version,
    url: safeUrl(config.url),
    grpcAddress: grpc,
    rest: call,
  };
}

/** Why a request got no answer; classified once, for the message and for retries. */
export type NetworkFailure = "refused" | "dns" | "timeout" | "reset" | "blocked" | "tls" | "other";

/**
 * Classifies what `fetch` (or a socket) threw, looking through its causes, and
 * says it in a few words: `connection refused`, `host "x" not found (DNS)`, ….
 */
export function classifyNetworkError(
  error: unknown,
  url: URL,
): { failure: NetworkFailure; reason: string } {
  const texts: string[] = [];
  let innermost: unknown = error;
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 8; depth++) {
    innermost = e;
    const code = (e as { code?: unknown })?.code;
    texts.push(e instanceof Error ? `${e.name}: ${e.message} ${code ?? ""}` : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  const all = texts.join(" | ");
  if (/connection refused|ECONNREFUSED/i.test(all)) {
    return { failure: "refused", reason: "connection refused" };
  }
  if (
    /dns error|failed to lookup address|ENOTFOUND|EAI_AGAIN|EAI_NONAME|name or service not known|nodename nor servname|no address associated/i
      .test(all)
  ) {
    return { failure: "dns", reason: `host "${url.hostname}" not found (DNS)` };
  }
  if (/requests to port \d+ are blocked/i.test(all)) {
    return {
      failure: "blocked",
      reason: `fetch refuses port ${url.port} (a "bad port" of the Fetch standard); use another`,
    };
  }
  if (/TimeoutError|timed out|ETIMEDOUT/i.test(all)) {
    return { failure: "timeout", reason: "timed out" };
  }
  if (/certificate|InvalidCertificate|tls handshake|ssl|UnknownIssuer/i.test(all)) {
    return { failure: "tls", reason: `TLS failed: ${detail(innermost)}` };
  }
  if (/connection reset|ECONNRESET|broken pipe|EPIPE|connection closed|unexpected eof/i.test(all)) {
    return { failure: "reset", reason: "connection reset" };
  }
  if (/error reading a body from connection/i.test(all)) {
    return { failure: "reset", reason: "connection cut while reading the answer" };
  }
  return { failure: "other", reason: detail(innermost) };
}

/**
 * The innermost message without Deno's preamble, which names the URL (and so
 * any credentials in it): `error sending request for url (…): ` or
 * `error sending request from … for … (…): `.
 */
function detail(error: unknown): string {
  return messageOf(error)
    .replace(/^error sending request (?:for url \([^)]*\)|from \S+ for \S+ \([^)]*\)):\s*/i, "") ||
    "no answer";
}

/**
 * The error for a request that got no answer. Refused connections and unknown
 * hosts are worth retrying later in a run (a server restarting), not at first
 * contact; a failure that is no known network failure (a bug, a bad header) never.
 */
function networkError(
  action: string,
  url: URL,
  error: unknown,
  signal: AbortSignal,
  firstContact: boolean,
): Error {
  if (signal.aborted && !(signal.reason instanceof TimeoutError)) {
    return signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
  }
  const cause = signal.aborted ? signal.reason : error;
  const { failure, reason } = classifyNetworkError(cause, url);
  const fatal = failure === "blocked" || failure === "tls" ||
    (firstContact && (failure === "refused" || failure === "dns")) ||
    (failure === "other" && !isTransient(cause));
  return new ServerError(`${action}: ${reason}`, { cause, retryable: !fatal });
}

/**
 * What weaviate-client threw while connecting. REST answered just before, so
 * a failed request (`fetch failed`) or a timeout is a server restarting:
 * retryable; a gRPC health check that fails is more likely a wrong gRPC port.
 */
function clientError(shownBase: string, grpc: URL, error: unknown): ServerError {
  const text = messageOf(error);
  const retryable = isTransient(error) || /\bfetch failed\b|timed out/i.test(text);
  return new ServerError(
    `Cannot connect weaviate-client to ${shownBase} (gRPC ${grpc.host}): ${text}`,
    { cause: error, retryable },
  );
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
