import assert from "node:assert/strict";
import { CancelledError, ServerError, WeftError } from "../../src/errors.ts";
import { backoffDelay, isRetryable, retry, sleep, TimeoutError } from "../../src/retry.ts";

Deno.test("retry() returns the first success after failures", async () => {
  const attempts: number[] = [];
  const retries: [string, number][] = [];
  const value = await retry((_signal, attempt) => {
    attempts.push(attempt);
    return attempt < 3 ? Promise.reject(new Error(`flaky ${attempt}`)) : Promise.resolve("done");
  }, {
    attempts: 5,
    minDelayMs: 1,
    onRetry: (error, attempt) => retries.push([(error as Error).message, attempt]),
  });
  assert.equal(value, "done");
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.deepEqual(retries, [["flaky 1", 1], ["flaky 2", 2]]);
});

Deno.test("retry() gives up after `attempts` tries and throws the last error", async () => {
  let calls = 0;
  const errors: Error[] = [];
  await assert.rejects(
    retry(() => {
      const error = new Error(`failure ${++calls}`);
      errors.push(error);
      return Promise.reject(error);
    }, { attempts: 3, minDelayMs: 1 }),
    (error) => error === errors[2],
  );
  assert.equal(calls, 3);
});

Deno.test("retry() with attempts: 1 calls once and never retries", async () => {
  let calls = 0;
  let retried = false;
  await assert.rejects(
    retry(() => {
      calls++;
      return Promise.reject(new Error("once"));
    }, { attempts: 1, onRetry: () => retried = true }),
    /^Error: once$/,
  );
  assert.equal(calls, 1);
  assert.equal(retried, false);
});

Deno.test("retry() does not retry a non-retryable WeftError", async () => {
  let calls = 0;
  const error = new WeftError("INTEGRITY", "checksum mismatch", { retryable: false });
  await assert.rejects(
    retry(() => {
      calls++;
      return Promise.reject(error);
    }, { attempts: 5, minDelayMs: 1 }),
    (thrown) => thrown === error,
  );
  assert.equal(calls, 1);
});

Deno.test("retry() retries a retryable WeftError", async () => {
  let calls = 0;
  const value = await retry(() => {
    calls++;
    return calls === 1
      ? Promise.reject(new ServerError("503 Service Unavailable", { status: 503 }))
      : Promise.resolve(calls);
  }, { attempts: 5, minDelayMs: 1 });
  assert.equal(value, 2);
});

Deno.test("retry() asks a custom retryable predicate", async () => {
  let calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      return Promise.reject(new Error("400 Bad Request"));
    }, { attempts: 5, minDelayMs: 1, retryable: (e) => !String(e).includes("400") }),
    /400 Bad Request/,
  );
  assert.equal(calls, 1);
});

Deno.test("isRetryable() refuses non-retryable WeftErrors and AbortErrors only", () => {
  assert.equal(isRetryable(new Error("x")), true);
  assert.equal(isRetryable(new ServerError("down")), true);
  assert.equal(isRetryable(new WeftError("INTEGRITY", "bad", { retryable: false })), false);
  assert.equal(isRetryable(new CancelledError()), false);
  assert.equal(isRetryable(new DOMException("stop", "AbortError")), false);
  assert.equal(isRetryable(new TimeoutError(5)), true);
});

Deno.test("retry() aborts a call that passes timeoutMs with TimeoutError, then retries", async () => {
  const signals: AbortSignal[] = [];
  const retried: unknown[] = [];
  const value = await retry((signal, attempt) => {
    signals.push(signal);
    // The first call hangs and ignores its signal; the race must still end it.
    return attempt === 1 ? new Promise<string>(() => {}) : Promise.resolve("second");
  }, { attempts: 3, minDelayMs: 1, timeoutMs: 20, onRetry: (error) => retried.push(error) });
  assert.equal(value, "second");
  assert.equal(signals.length, 2);
  assert.equal(signals[0]!.aborted, true);
  assert.ok(signals[0]!.reason instanceof TimeoutError);
  assert.equal(signals[1]!.aborted, false);
  assert.equal(retried.length, 1);
  assert.ok(retried[0] instanceof TimeoutError);
  assert.equal((retried[0] as TimeoutError).message, "Cannot finish call: timed out after 20 ms");
});

Deno.test("retry() throws TimeoutError when every call hangs", async () => {
  let calls = 0;
  const started = performance.now();
  await assert.rejects(
    retry(() => {
      calls++;
      return new Promise<never>(() => {});
    }, { attempts: 2, minDelayMs: 1, timeoutMs: 10 }),
    TimeoutError,
  );
  assert.equal(calls, 2);
  assert.ok(performance.now() - started < 1000);
});

Deno.test("retry() stops waiting between tries when the signal aborts", async () => {
  const controller = new AbortController();
  const reason = new CancelledError("Cannot finish run: cancelled by test");
  let calls = 0;
  const started = performance.now();
  const promise = retry(() => {
    calls++;
    return Promise.reject(new Error("down"));
  }, { attempts: 5, minDelayMs: 60_000, jitter: 0, signal: controller.signal });
  setTimeout(() => controller.abort(reason), 10);
  await assert.rejects(promise, (error) => error === reason);
  assert.equal(calls, 1);
  assert.ok(performance.now() - started < 5_000, "waited out the backoff");
});

Deno.test("retry() never calls fn when the signal is already aborted", async () => {
  let calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      return Promise.resolve(1);
    }, { signal: AbortSignal.abort("user pressed Ctrl-C") }),
    (error) =>
      error instanceof CancelledError &&
      error.message === "Cannot finish run: cancelled (user pressed Ctrl-C)",
  );
  assert.equal(calls, 0);
});

Deno.test("retry() passes the abort signal to the call with a timeout", async () => {
  const controller = new AbortController();
  let seen: AbortSignal | undefined;
  const promise = retry((signal) => {
    seen = signal;
    return new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  }, { attempts: 3, minDelayMs: 1, timeoutMs: 60_000, signal: controller.signal });
  setTimeout(() => controller.abort(new CancelledError()), 5);
  await assert.rejects(promise, CancelledError);
  assert.equal(seen?.aborted, true);
});

Deno.test("retry() rejects an invalid number of attempts", async () => {
  await assert.rejects(retry(() => Promise.resolve(1), { attempts: 0 }), RangeError);
  await assert.rejects(retry(() => Promise.resolve(1), { attempts: 1.5 }), RangeError);
});

Deno.test("retry() without jitter waits exactly the backoff delays", async () => {
  const delays: number[] = [];
  await assert.rejects(
    retry(() => Promise.reject(new Error("x")), {
      attempts: 5,
      minDelayMs: 2,
      maxDelayMs: 10,
      jitter: 0,
      onRetry: (_e, _a, delay) => delays.push(delay),
    }),
  );
  assert.deepEqual(delays, [2, 4, 8, 10]);
});

Deno.test("retry() with full jitter draws delays between 0 and the backoff delay", async () => {
  const delays: number[] = [];
  await assert.rejects(
    retry(() => Promise.reject(new Error("x")), {
      attempts: 6,
      minDelayMs: 1,
      maxDelayMs: 4,
      onRetry: (_e, attempt, delay) =>
        delays.push(delay / backoffDelay(attempt, { minDelayMs: 1, maxDelayMs: 4 })),
    }),
  );
  assert.equal(delays.length, 5);
  for (const share of delays) assert.ok(share >= 0 && share <= 1, `delay share ${share}`);
});

Deno.test("backoffDelay() doubles from minDelayMs and is capped at maxDelayMs", () => {
  const options = { minDelayMs: 100, maxDelayMs: 1_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 20].map((n) => backoffDelay(n, options)),
    [100, 200, 400, 800, 1_000, 1_000, 1_000],
  );
  assert.deepEqual([1, 2, 3].map((n) => backoffDelay(n, { ...options, factor: 3 })), [
    100,
    300,
    900,
  ]);
  assert.equal(backoffDelay(1), 200);
  assert.equal(backoffDelay(2), 400);
  assert.equal(backoffDelay(50), 10_000);
});

Deno.test("sleep() resolves after the delay and rejects with the abort reason", async () => {
  const started = performance.now();
  await sleep(5);
  assert.ok(performance.now() - started >= 4);
  const controller = new AbortController();
  const promise = sleep(60_000, controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(promise, /stop/);
  await assert.rejects(sleep(1, AbortSignal.abort(new Error("already"))), /already/);
});

Deno.test("retry() stops at once a call that ignores its signal when the signal aborts", async () => {
  const controller = new AbortController();
  const reason = new CancelledError("Cannot finish run: cancelled by test");
  const started = performance.now();
  const promise = retry(() => new Promise<never>(() => {}), {
    attempts: 3,
    minDelayMs: 1,
    timeoutMs: 2_000,
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(reason), 5);
  await assert.rejects(promise, (error) => error === reason);
  const elapsed = performance.now() - started;
  assert.ok(
    elapsed < 1_000,
    `cancellation waited ${Math.round(elapsed)} ms for the call's timeout`,
  );
});
