/**
 * Riding out a Weaviate restart: while it is down the connection is refused
 * or reset, then it answers 404 (or 503) for collections it holds until its
 * schema is loaded — about 8 s for a small node, longer for a large one.
 * @module
 */
import { ServerError } from "../../src/errors.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { isRetryable, isTransient, sleep } from "../../src/retry.ts";

/** How long a call keeps being retried while Weaviate looks restarted. */
export const RESTART_GRACE_MS = 120_000;

/** Whether `error` is what a restarting Weaviate answers: no connection, 404 or 503. */
export function isRestarting(error: unknown): boolean {
  if (error instanceof ServerError) {
    return error.status === undefined
      ? error.retryable
      : error.status === 404 || error.status === 503;
  }
  return isTransient(error);
}

/**
 * Calls `fn` with the run's retry policy, and keeps retrying for up to
 * {@linkcode RESTART_GRACE_MS} while Weaviate looks restarted. Only for calls
 * about something the run has already seen exist (a 404 then means "not
 * loaded yet", not "gone").
 */
export async function retryThroughRestart<T>(
  ctx: PluginContext,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const started = performance.now();
  for (;;) {
    try {
      return await ctx.retry(fn, { retryable: (e) => isRestarting(e) || isRetryable(e) });
    } catch (error) {
      if (!isRestarting(error) || performance.now() - started > RESTART_GRACE_MS) throw error;
      await sleep(1_000, ctx.signal);
    }
  }
}
