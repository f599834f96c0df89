import assert from "node:assert/strict";
import { isRestarting } from "../../plugins/_shared/restart.ts";
import { ServerError } from "../../src/errors.ts";

Deno.test("isRestarting() takes a refused connection, 404 and 503 as a restarting Weaviate", () => {
  assert.equal(isRestarting(new Deno.errors.ConnectionRefused("connection refused")), true);
  assert.equal(
    isRestarting(new ServerError("Cannot GET /v1/objects: HTTP 404", { status: 404 })),
    true,
  );
  assert.equal(
    isRestarting(new ServerError("Cannot GET /v1/objects: HTTP 503", { status: 503 })),
    true,
  );
});

Deno.test("isRestarting() does not take a refusal or a bug for a restart", () => {
  assert.equal(
    isRestarting(new ServerError("Cannot GET /v1/objects: HTTP 422", { status: 422 })),
    false,
  );
  assert.equal(isRestarting(new TypeError("undefined is not a function")), false);
  assert.equal(isRestarting(new SyntaxError("Unexpected end of JSON input")), false);
});
