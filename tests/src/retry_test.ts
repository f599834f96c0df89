import * as grpc from "@grpc/grpc-js";
import assert from "node:assert/strict";
import {
  CancelledError,
  IntegrityError,
  PipelineError,
  PluginError,
  ServerError,
  WeftError,
} from "../../src/errors.ts";
import {
  backoffDelay,
  isOverload,
  isRetryable,
  isTransient,
  retry,
  sleep,
  TimeoutError,
} from "../../src/retry.ts";

/** A transient failure, as a dropped connection surfaces in Deno. */
const dropped = (message: string) => new Deno.errors.ConnectionReset(message);

Deno.test("retry() returns the first success after failures", async () => {
  const attempts: number[] = [];
  const retries: [string, number][] = [];
  const value = await retry((_signal, attempt) => {
    attempts.push(attempt);
    return attempt < 3 ? Promise.reject(dropped(`flaky ${attempt}`)) : Promise.resolve("done");
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
      const error = dropped(`failure ${++calls}`);
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
      return Promise.reject(dropped("once"));
    }, { attempts: 1, onRetry: () => retried = true }),
    /^ConnectionReset: once$/,
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
      return Promise.reject(dropped("400 Bad Request"));
    }, { attempts: 5, minDelayMs: 1, retryable: (e) => !String(e).includes("400") }),
    /400 Bad Request/,
  );
  assert.equal(calls, 1);
});

Deno.test("retry() tries a TypeError from a bug once, not `attempts` times", async () => {
  let calls = 0;
  const retried: unknown[] = [];
  await assert.rejects(
    retry(() => {
      calls++;
      const config = JSON.parse("null") as { url: string };
      return Promise.resolve(config.url.length);
    }, { attempts: 6, minDelayMs: 1, onRetry: (error) => retried.push(error) }),
    TypeError,
  );
  assert.equal(calls, 1);
  assert.deepEqual(retried, []);
});

Deno.test("retry() gives up at once on errors not known to be transient", async () => {
  const errors: [string, unknown][] = [
    ["Error", new Error("something unexpected")],
    ["RangeError", new RangeError("Invalid array length")],
    [
      "SyntaxError",
      (() => {
        try {
          JSON.parse("<html>");
        } catch (error) {
          return error;
        }
      })(),
    ],
    ["AbortError", new DOMException("The signal has been aborted", "AbortError")],
    ["IntegrityError", new IntegrityError("checksum mismatch")],
    ["WeftError without retryable", new WeftError("PLUGIN_FAILED", "bad")],
    ["a thrown string", "down"],
  ];
  for (const [what, error] of errors) {
    let calls = 0;
    await assert.rejects(
      retry(() => {
        calls++;
        return Promise.reject(error);
      }, { attempts: 6, minDelayMs: 1 }),
      (thrown) => thrown === error,
    );
    assert.equal(calls, 1, `${what} was tried ${calls} times`);
  }
});

/** A local port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("retry() retries fetch to a closed port, then throws fetch's TypeError", async () => {
  const url = `http://127.0.0.1:${closedPort()}/v1/meta`;
  let calls = 0;
  const retried: unknown[] = [];
  const error = await retry(async (signal) => {
    calls++;
    return await fetch(url, { signal });
  }, { attempts: 3, minDelayMs: 1, onRetry: (e) => retried.push(e) }).then(
    () => assert.fail("fetch to a closed port succeeded"),
    (e: unknown) => e,
  );
  assert.equal(calls, 3);
  assert.equal(retried.length, 2);
  // Deno 2.9: `TypeError: fetch failed`, the reason in its cause.
  assert.ok(error instanceof TypeError, String(error));
  assert.match(String((error as Error).cause), /Connection refused/i);
  assert.equal(isTransient(error), true);
  assert.equal(isOverload(error), false, "a refused connection is no overload");
});

Deno.test("isTransient() accepts fetch's network failures, not its other TypeErrors", async () => {
  const refused = await fetch(`http://127.0.0.1:${closedPort()}/`).catch((e) => e);
  assert.equal(isTransient(refused), true);
  const blocked = await fetch("http://127.0.0.1:6000/").catch((e) => e);
  assert.match(String(blocked), /blocked/);
  assert.equal(isTransient(blocked), false);
  const invalid = await fetch("not a url").catch((e) => e);
  assert.ok(invalid instanceof TypeError);
  assert.equal(isTransient(invalid), false);
  const tls = new TypeError("fetch failed", {
    cause: new Error(
      "error sending request for url (https://127.0.0.1:1/): client error (Connect): invalid peer certificate: UnknownIssuer",
    ),
  });
  assert.equal(isTransient(tls), false);
  assert.equal(isTransient(new TypeError("error reading a body from connection")), true);
  assert.equal(isTransient(new TypeError("fetch failed")), false, "no reason, no retry");
});

Deno.test("isTransient() accepts Deno's network errors and their node: codes", async () => {
  const refused = await Deno.connect({ hostname: "127.0.0.1", port: closedPort() })
    .catch((e) => e);
  assert.ok(refused instanceof Deno.errors.ConnectionRefused);
  assert.equal(isTransient(refused), true);
  for (
    const type of [
      Deno.errors.ConnectionReset,
      Deno.errors.ConnectionAborted,
      Deno.errors.BrokenPipe,
      Deno.errors.TimedOut,
      Deno.errors.Interrupted,
      Deno.errors.UnexpectedEof,
      Deno.errors.NotConnected,
    ]
  ) {
    assert.equal(isTransient(new type("x")), true, type.name);
  }
  assert.equal(isTransient(new Deno.errors.NotFound("x")), false);
  assert.equal(isTransient(new Deno.errors.PermissionDenied("x")), false);
  const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
  assert.equal(isTransient(reset), true);
  const missing = Object.assign(new Error("no such file"), { code: "ENOENT" });
  assert.equal(isTransient(missing), false);
});

/** A grpc-js `ServiceError` (`Object.assign(new Error(…), status)`), as a call rejects. */
function grpcError(code: grpc.status, details: string) {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), {
    code,
    details,
    metadata: new grpc.Metadata(),
  });
}

Deno.test("retry() retries a gRPC UNAVAILABLE (14) and not an INVALID_ARGUMENT (3)", async () => {
  for (const [code, expected] of [[14, 4], [3, 1]] as const) {
    let calls = 0;
    const error = grpcError(code, "x");
    await assert.rejects(
      retry(() => {
        calls++;
        return Promise.reject(error);
      }, { attempts: 4, minDelayMs: 1 }),
      (thrown) => thrown === error,
    );
    assert.equal(calls, expected, `gRPC code ${code}`);
  }
});

Deno.test("isTransient() and isOverload() read gRPC codes", () => {
  const transient = [4, 8, 10, 14];
  const overload = [4, 8, 14];
  for (let code = 0; code <= 16; code++) {
    const error = grpcError(code, "x");
    assert.equal(isTransient(error), transient.includes(code), `isTransient, code ${code}`);
    assert.equal(isOverload(error), overload.includes(code), `isOverload, code ${code}`);
  }
  // nice-grpc's ClientError: numeric code, message `/path STATUS: details`.
  const clientError = Object.assign(
    new Error("/weaviate.v1.Weaviate/Search UNAVAILABLE: No connection established"),
    { name: "ClientError", path: "/weaviate.v1.Weaviate/Search", code: 14, details: "x" },
  );
  assert.equal(isTransient(clientError), true);
  // weaviate-client keeps only the message of nice-grpc's error.
  const wrapped = (status: string) =>
    new Error(
      `Query call with protocol gRPC failed with message: /weaviate.v1.Weaviate/Search ${status}: busy`,
    );
  assert.equal(isTransient(wrapped("UNAVAILABLE")), true);
  assert.equal(isOverload(wrapped("RESOURCE_EXHAUSTED")), true);
  assert.equal(isTransient(wrapped("INVALID_ARGUMENT")), false);
  assert.equal(isTransient(wrapped("ABORTED")), true);
  assert.equal(isOverload(wrapped("ABORTED")), false);
  assert.equal(isTransient(new Error("Weaviate request timed out with message: 30000ms")), true);
  // An HTTP status in `code` (weaviate-client's WeaviateUnexpectedStatusCodeError) is no gRPC code.
  assert.equal(isTransient(Object.assign(new Error("failed"), { code: 404 })), false);
  // DOMException's legacy codes are no gRPC codes either (NOT_FOUND_ERR = 8).
  assert.equal(isTransient(new DOMException("gone", "NotFoundError")), false);
});

Deno.test("isTransient() accepts what a grpc-js call to a closed port rejects with", async () => {
  const client = new grpc.Client(`127.0.0.1:${closedPort()}`, grpc.credentials.createInsecure());
  try {
    const error = await new Promise<grpc.ServiceError>((resolve, reject) => {
      client.makeUnaryRequest<Uint8Array, Uint8Array>(
        "/weaviate.v1.Weaviate/BatchObjects",
        (body) => Buffer.from(body),
        (reply) => reply,
        new Uint8Array(),
        new grpc.Metadata(),
        { deadline: Date.now() + 5_000 },
        (e) => e ? resolve(e) : reject(new Error("a closed port answered")),
      );
    });
    assert.equal(error.code, grpc.status.UNAVAILABLE, error.message);
    assert.equal(isTransient(error), true);
    assert.equal(isOverload(error), true);
  } finally {
    client.close();
  }
});

Deno.test("retry() retries HTTP 503 and not 422", async () => {
  for (const [status, expected] of [[503, 3], [422, 1]] as const) {
    let calls = 0;
    await assert.rejects(
      retry(() => {
        calls++;
        return Promise.reject(
          new ServerError(`Cannot POST /v1/batch/objects: HTTP ${status}`, {
            status,
          }),
        );
      }, { attempts: 3, minDelayMs: 1 }),
      ServerError,
    );
    assert.equal(calls, expected, `HTTP ${status}`);
  }
});

Deno.test("isOverload() is a timeout, 408, 429, 502, 503, 504; not a 500 or a refused connection", () => {
  const http = (status: number) => new ServerError(`HTTP ${status}`, { status });
  for (const status of [408, 429, 502, 503, 504]) assert.equal(isOverload(http(status)), true);
  for (const status of [500, 404, 422]) assert.equal(isOverload(http(status)), false);
  assert.equal(isOverload(new TimeoutError(5)), true);
  assert.equal(isOverload(new DOMException("timed out", "TimeoutError")), true);
  assert.equal(isOverload(new Deno.errors.TimedOut("x")), true);
  assert.equal(isOverload(new Deno.errors.ConnectionRefused("x")), false);
  // weaviate.ts says "timed out" and keeps the TimeoutError as cause.
  const timedOut = new ServerError("Cannot GET http://h/v1/meta: timed out", {
    cause: new TimeoutError(5),
  });
  assert.equal(isOverload(timedOut), true);
  // The cause is read only when the outer error is transient.
  const refused = new ServerError("no", { retryable: false, cause: new TimeoutError(5) });
  assert.equal(isOverload(refused), false);
  const grpcWrapped = new ServerError("Cannot insert over gRPC: x", {
    cause: grpcError(8, "x"),
  });
  assert.equal(isOverload(grpcWrapped), true);
});

Deno.test("isRetryable() accepts retryable WeftErrors and refuses the rest of weft's errors", () => {
  assert.equal(isRetryable(new ServerError("down")), true);
  assert.equal(isRetryable(new TimeoutError(5)), true);
  assert.equal(isRetryable(new WeftError("INTEGRITY", "bad", { retryable: true })), true);
  assert.equal(isRetryable(new WeftError("INTEGRITY", "bad", { retryable: false })), false);
  assert.equal(isRetryable(new ServerError("refused", { retryable: false })), false);
  assert.equal(isRetryable(new CancelledError()), false);
  assert.equal(isRetryable(new IntegrityError("bad")), false);
  assert.equal(isRetryable(new PipelineError([])), false);
  const tag = { plugin: "p", step: "sink" };
  assert.equal(isRetryable(new PluginError(tag, new ServerError("down"))), false);
  assert.equal(isRetryable(new DOMException("stop", "AbortError")), false);
  assert.equal(isRetryable(new Error("x")), false);
  // A wrapper is judged by its cause, unless it is weft's own or a built-in error.
  assert.equal(isRetryable(new Error("x", { cause: new Deno.errors.ConnectionReset("r") })), true);
  assert.equal(isRetryable(new RangeError("x", { cause: new ServerError("down") })), false);
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
    return Promise.reject(dropped("down"));
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
    retry(() => Promise.reject(dropped("x")), {
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
    retry(() => Promise.reject(dropped("x")), {
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
