import assert from "node:assert/strict";
import {
  CancelledError,
  IntegrityError,
  isTransientStatus,
  PipelineError,
  PluginError,
  ServerError,
  TimeoutError,
  WeftError,
} from "../../src/errors.ts";
import { TimeoutError as TimeoutErrorOfRetry } from "../../src/retry.ts";

Deno.test("isTransientStatus() accepts 408, 429, 500, 502, 503, 504 only", () => {
  const transient = [];
  for (let status = 100; status < 600; status++) {
    if (isTransientStatus(status)) transient.push(status);
  }
  assert.deepEqual(transient, [408, 429, 500, 502, 503, 504]);
});

Deno.test("ServerError is retryable without an answer or with a transient status, unless told", () => {
  assert.equal(new ServerError("Cannot GET /v1/meta: connection reset").retryable, true);
  assert.equal(new ServerError("HTTP 503", { status: 503 }).retryable, true);
  assert.equal(new ServerError("HTTP 429", { status: 429 }).retryable, true);
  assert.equal(new ServerError("HTTP 422", { status: 422 }).retryable, false);
  assert.equal(new ServerError("HTTP 404", { status: 404 }).retryable, false);
  assert.equal(new ServerError("HTTP 501", { status: 501 }).retryable, false);
  assert.equal(new ServerError("HTTP 404", { status: 404, retryable: true }).retryable, true);
  assert.equal(new ServerError("refused", { retryable: false }).retryable, false);
  assert.equal(new ServerError("HTTP 422", { status: 422 }).status, 422);
});

Deno.test("a WeftError is not retryable unless it says so", () => {
  assert.equal(new WeftError("PLUGIN_FAILED", "x").retryable, false);
  assert.equal(new WeftError("PLUGIN_FAILED", "x", { retryable: true }).retryable, true);
  assert.equal(new CancelledError(undefined, { retryable: true }).retryable, false);
  assert.equal(new IntegrityError("x", { retryable: true }).retryable, false);
  assert.equal(new PipelineError([]).retryable, false);
  assert.equal(new PluginError({ plugin: "p", step: "s" }, new ServerError("x")).retryable, false);
});

Deno.test("TimeoutError lives in errors.ts, is retryable and is the one retry.ts exports", () => {
  const error = new TimeoutError(250);
  assert.equal(TimeoutErrorOfRetry, TimeoutError);
  assert.ok(error instanceof WeftError);
  assert.equal(error.name, "TimeoutError");
  assert.equal(error.code, "SERVER_UNAVAILABLE");
  assert.equal(error.retryable, true);
  assert.equal(error.timeoutMs, 250);
  assert.equal(error.message, "Cannot finish call: timed out after 250 ms");
});

Deno.test("every error class of errors.ts names itself", () => {
  const errors: [string, Error][] = [
    ["WeftError", new WeftError("CANCELLED", "x")],
    ["CancelledError", new CancelledError()],
    ["IntegrityError", new IntegrityError("x")],
    ["PipelineError", new PipelineError([])],
    ["PluginError", new PluginError({ plugin: "p", step: "s" }, "x")],
    ["ServerError", new ServerError("x")],
    ["TimeoutError", new TimeoutError(1)],
  ];
  for (const [name, error] of errors) {
    assert.equal(error.name, name);
    assert.ok(error instanceof WeftError, name);
  }
});
