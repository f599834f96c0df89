/**
 * Retries with exponential backoff, full jitter and a timeout per call.
 * @module
 */
import { CancelledError, messageOf, WeftError } from "./errors.ts";

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
  /** Whether an error is worth another try. Default: anything but a non-retryable {@linkcode WeftError}. */
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

/** Default {@linkcode RetryOptions.retryable}. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof WeftError) return error.retryable;
  return !(error instanceof DOMException && error.name === "AbortError");
}

/**
 * Calls `fn` until it resolves, it throws an error that is not retryable, or
 * `attempts` run out (then the last error is thrown).
 *
 * @example
 * ```ts
 * import { retry } from "./retry.ts";
 * let calls = 0;
 * const value = await retry(() => ++calls < 3 ? Promise.reject(new Error("flaky")) : Promise.resolve(calls), { minDelayMs: 1 });
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

/** Thrown when a call passes {@linkcode RetryOptions.timeoutMs}; retryable. */
export class TimeoutError extends WeftError {
  constructor(ms: number) {
    super("SERVER_UNAVAILABLE", `Cannot finish call: timed out after ${ms} ms`);
    this.name = "TimeoutError";
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
