/**
 * Retries with exponential backoff, full jitter and a timeout per call.
 * @module
 */
import { CancelledError, messageOf, ServerError, TimeoutError, WeftError } from "./errors.ts";

// Kept here too: code that imported it from this module keeps working.
export { TimeoutError };

/** How {@linkcode retry} repeats a failing call. */
export interface RetryOptions {
  /** Total tries, the first included. Default 5. */
  attempts?: number;
  /** Delay before the first retry, in ms. Default 200. */
  minDelayMs?: number;
  /** Upper bound of any delay, in ms. Default 10,000. */
  maxDelayMs?: number;
  /** Growth of the delay per retry. Default 2. */
  factor?: number;
  /** Share of each delay drawn at random (0 = none, 1 = full jitter). Default 1. */
  jitter?: number;
  /** Time limit of one call, in ms; the call's signal aborts when it passes. Default none. */
  timeoutMs?: number;
  /** Stops waiting and retrying when aborted. */
  signal?: AbortSignal;
  /** Whether an error is worth another try. Default: {@linkcode isTransient}. */
  retryable?: (error: unknown) => boolean;
  /** Called before each retry. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** The delay before retry number `attempt` (1-based), before jitter. */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const min = options.minDelayMs ?? 200;
  const max = options.maxDelayMs ?? 10_000;
  return Math.min(max, min * (options.factor ?? 2) ** (attempt - 1));
}

/** gRPC statuses (grpc-js, nice-grpc) worth another try: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, UNAVAILABLE. */
const TRANSIENT_GRPC: ReadonlySet<number> = new Set([4, 8, 10, 14]);
/** Of those, the ones a busy server answers: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE. */
const OVERLOAD_GRPC: ReadonlySet<number> = new Set([4, 8, 14]);
/** HTTP statuses a busy server answers: timeout, rate limit, gateway trouble, unavailable. */
const OVERLOAD_STATUS: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);
/** The same gRPC statuses as nice-grpc names them in messages (`/pkg.Service/Method UNAVAILABLE: …`). */
const GRPC_STATUS_TEXT =
  /\/[\w.]+\/\w+ (DEADLINE_EXCEEDED|RESOURCE_EXHAUSTED|ABORTED|UNAVAILABLE): /;
/** weaviate-client's `WeaviateRequestTimeoutError`, which keeps nothing but its message. */
const CLIENT_TIMEOUT_TEXT = /^Weaviate request timed out/;

/** Deno's errors for a connection that failed or broke, not for a bad request. */
const NETWORK_ERRORS = [
  Deno.errors.BrokenPipe,
  Deno.errors.ConnectionAborted,
  Deno.errors.ConnectionRefused,
  Deno.errors.ConnectionReset,
  Deno.errors.Interrupted,
  Deno.errors.NetworkUnreachable,
  Deno.errors.NotConnected,
  Deno.errors.TimedOut,
  Deno.errors.UnexpectedEof,
];
/** The same, as `node:` modules (grpc-js, node:http) report them in `code`. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  "EAI_AGAIN",
  "ECONNABORTED",
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTCONN",
  "EPIPE",
  "ETIMEDOUT",
]);
/**
 * What Deno's `fetch` says of a network failure: `TypeError: fetch failed` with
 * the reason in its cause (`… client error (Connect): tcp connect error:
 * Connection refused`), or `error reading a body from connection`.
 */
const NETWORK_TEXT =
  /connection (refused|reset|closed|aborted)|broken pipe|timed out|dns error|failed to lookup address|unexpected eof|error reading a body from connection|network is unreachable|host is unreachable|not connected/i;
/** TLS failures also come as `fetch failed`; they do not go away by themselves. */
const TLS_TEXT = /certificate|tls|ssl|InvalidContentType|UnknownIssuer/i;

/**
 * Whether `error` is known to be transient, so that the same call may succeed
 * later. True for:
 * - a {@linkcode WeftError} whose `retryable` is true (a {@linkcode TimeoutError},
 *   a {@linkcode ServerError} without answer or with status 408, 429, 500, 502, 503, 504);
 * - Deno's network errors (`Deno.errors.ConnectionRefused`, `ConnectionReset`, …),
 *   their `node:` codes (`ECONNRESET`, …), and the `TypeError` `fetch` throws
 *   when the connection fails (not for TLS failures or blocked ports);
 * - gRPC errors (grpc-js, nice-grpc) with code 4, 8, 10 or 14, also when
 *   weaviate-client kept only their message, and weaviate-client's timeouts;
 * - a `DOMException` named `TimeoutError` (`AbortSignal.timeout()`).
 *
 * Everything else is not retried: a `TypeError` or `RangeError` from a bug, an
 * `AbortError`, a non-retryable `WeftError`, any other error. An error wrapping
 * another (`cause`) is judged by its cause unless it is a `WeftError` or a
 * built-in error class.
 *
 * @example
 * ```ts
 * import { isTransient } from "./retry.ts";
 * import { ServerError } from "./errors.ts";
 * if (!isTransient(new ServerError("Cannot GET /v1/meta: HTTP 503", { status: 503 }))) {
 *   throw new Error("expected a 503 to be transient");
 * }
 * if (isTransient(new TypeError("Cannot read properties of undefined"))) {
 *   throw new Error("expected a bug not to be transient");
 * }
 * ```
 */
export function isTransient(error: unknown): boolean {
  for (let e = error, depth = 0; depth < 8; depth++) {
    if (e instanceof WeftError) return e.retryable;
    if (e instanceof DOMException) return e.name === "TimeoutError";
    if (NETWORK_ERRORS.some((type) => e instanceof type)) return true;
    const grpc = grpcCode(e);
    if (grpc !== undefined) return TRANSIENT_GRPC.has(grpc);
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
    if (e instanceof TypeError) return isFetchFailure(e);
    if (!(e instanceof Error) || isBuiltIn(e)) return false;
    if (GRPC_STATUS_TEXT.test(e.message) || CLIENT_TIMEOUT_TEXT.test(e.message)) return true;
    e = e.cause;
  }
  return false;
}

/**
 * Whether `error` is transient ({@linkcode isTransient}) and a sign of a busy
 * server: a timeout, HTTP 408, 429, 502, 503 or 504, gRPC DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED or UNAVAILABLE. Looks through `cause`. The adaptive batch
 * controller shrinks batches on these; a refused connection or a 500 is not one.
 *
 * @example
 * ```ts
 * import { isOverload } from "./retry.ts";
 * import { ServerError } from "./errors.ts";
 * if (!isOverload(new ServerError("Cannot POST /v1/batch/objects: HTTP 429", { status: 429 }))) {
 *   throw new Error("expected a 429 to be an overload");
 * }
 * ```
 */
export function isOverload(error: unknown): boolean {
  if (!isTransient(error)) return false;
  for (let e = error, depth = 0; e !== undefined && depth < 8; depth++) {
    if (e instanceof TimeoutError || e instanceof Deno.errors.TimedOut) return true;
    if (e instanceof DOMException) return e.name === "TimeoutError";
    if (e instanceof ServerError && e.status !== undefined) return OVERLOAD_STATUS.has(e.status);
    const grpc = grpcCode(e);
    if (grpc !== undefined) return OVERLOAD_GRPC.has(grpc);
    if (!(e instanceof Error)) return false;
    const text = e.message;
    const status = GRPC_STATUS_TEXT.exec(text)?.[1];
    if (status) return status !== "ABORTED";
    // Already transient: a timeout named anywhere (`Cannot GET …: timed out`, fetch's cause) is one.
    if (CLIENT_TIMEOUT_TEXT.test(text) || /\btimed out\b/i.test(text)) return true;
    e = e.cause;
  }
  return false;
}

/** The gRPC status of a grpc-js `ServiceError` or a nice-grpc `ClientError`, if `error` is one. */
function grpcCode(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || error instanceof DOMException) {
    return undefined;
  }
  const code = (error as { code?: unknown }).code;
  // Codes run 0-16; a larger number (weaviate-client puts HTTP statuses there) is no gRPC status.
  return typeof code === "number" && Number.isInteger(code) && code >= 0 && code <= 16
    ? code
    : undefined;
}

/** Whether a `TypeError` is `fetch` failing to connect or losing its connection. */
function isFetchFailure(error: TypeError): boolean {
  const texts: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    texts.push(e.message);
    e = e.cause;
  }
  const all = texts.join(" | ");
  return NETWORK_TEXT.test(all) && !TLS_TEXT.test(all);
}

/** Errors JavaScript itself throws for mistakes in code. */
function isBuiltIn(error: Error): boolean {
  return error instanceof RangeError || error instanceof ReferenceError ||
    error instanceof SyntaxError || error instanceof EvalError || error instanceof URIError;
}

/** Default {@linkcode RetryOptions.retryable}: {@linkcode isTransient}. */
export function isRetryable(error: unknown): boolean {
  return isTransient(error);
}

/**
 * Calls `fn` until it resolves, it throws an error that is not retryable, or
 * `attempts` run out (then the last error is thrown).
 *
 * @example
 * ```ts
 * import { retry } from "./retry.ts";
 * import { ServerError } from "./errors.ts";
 * let calls = 0;
 * const flaky = () => Promise.reject(new ServerError("Cannot GET /v1/meta: HTTP 503", { status: 503 }));
 * const value = await retry(() => ++calls < 3 ? flaky() : Promise.resolve(calls), { minDelayMs: 1 });
 * if (value !== 3) throw new Error("expected the third call to succeed");
 * ```
 */
export async function retry<T>(
  fn: (signal: AbortSignal, attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`Cannot retry: attempts must be a positive integer, got ${attempts}`);
  }
  const retryable = options.retryable ?? isRetryable;
  for (let attempt = 1;; attempt++) {
    throwIfAborted(options.signal);
    try {
      return await callWithTimeout(fn, attempt, options);
    } catch (error) {
      throwIfAborted(options.signal);
      if (attempt >= attempts || !retryable(error)) throw error;
      const base = backoffDelay(attempt, options);
      const jitter = Math.min(1, Math.max(0, options.jitter ?? 1));
      const delay = Math.round(base * (1 - jitter) + Math.random() * base * jitter);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}

async function callWithTimeout<T>(
  fn: (signal: AbortSignal, attempt: number) => Promise<T>,
  attempt: number,
  options: RetryOptions,
): Promise<T> {
  const outer = options.signal ?? new AbortController().signal;
  if (options.timeoutMs === undefined) return await fn(outer, attempt);
  const controller = new AbortController();
  const signal = AbortSignal.any([outer, controller.signal]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Race too: a call that ignores its signal must still not hang the run.
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(options.timeoutMs!);
      controller.abort(error);
      reject(error);
    }, options.timeoutMs);
    onAbort = () => reject(outer.reason);
    outer.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(signal, attempt), timeout]);
  } finally {
    clearTimeout(timer);
    outer.removeEventListener("abort", onAbort!);
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason = signal.reason;
    throw reason instanceof Error ? reason : new CancelledError(
      `Cannot finish run: cancelled${reason ? ` (${messageOf(reason)})` : ""}`,
    );
  }
}

/** Resolves after `ms`, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
