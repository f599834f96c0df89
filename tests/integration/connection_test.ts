import assert from "node:assert/strict";
import { connectWeaviate } from "../../plugins/_shared/weaviate.ts";
import { ServerError } from "../../src/errors.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { retry, type RetryOptions } from "../../src/retry.ts";
import { useWeaviate } from "../harness/weaviate.ts";
import { backupTo, denoTask, integration, readBackup, rest, uniqueName } from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

/**
 * A TCP relay to Weaviate's REST port that can stop (connections refused, open
 * ones cut) and listen again on the same port: a server restart, as the client sees it.
 * It can also answer HTTP 503 itself, as a load balancer in front of a busy server does.
 */
class Relay {
  readonly port: number;
  #listener: Deno.Listener | undefined;
  #open = new Set<Deno.Conn>();
  #unavailable = 0;

  constructor(readonly target: URL) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#serve(this.#listener);
  }

  async #serve(listener: Deno.Listener) {
    try {
      for await (const conn of listener) {
        if (this.#unavailable > 0) {
          this.#unavailable--;
          this.#answerUnavailable(conn);
          continue;
        }
        const upstream = await Deno.connect({
          hostname: this.target.hostname,
          port: Number(this.target.port),
        });
        this.#open.add(conn).add(upstream);
        const done = () => {
          for (const c of [conn, upstream]) {
            this.#open.delete(c);
            try {
              c.close();
            } catch {
              // Closed already.
            }
          }
        };
        conn.readable.pipeTo(upstream.writable).catch(() => {}).finally(done);
        upstream.readable.pipeTo(conn.writable).catch(() => {}).finally(done);
      }
    } catch {
      // The listener was closed.
    }
  }

  /** Reads a request and answers 503 with `Connection: close`. */
  async #answerUnavailable(conn: Deno.Conn) {
    try {
      await conn.read(new Uint8Array(64 * 1024));
      const body = JSON.stringify({ error: [{ message: "try again later" }] });
      await conn.write(new TextEncoder().encode(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n" +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      ));
    } finally {
      conn.close();
    }
  }

  /** Cuts open connections; the next `count` ones are answered 503 by the relay. */
  answerUnavailable(count: number) {
    this.#cutOpen();
    this.#unavailable = count;
  }

  #cutOpen() {
    for (const conn of this.#open) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    this.#open.clear();
  }

  /** Stops listening and cuts open connections; resolves once connections are refused. */
  async stop() {
    this.#listener?.close();
    this.#listener = undefined;
    this.#cutOpen();
    // Closing a listener with an accept in flight takes a moment to release the port.
    for (;;) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: this.port })).close();
        await new Promise((r) => setTimeout(r, 10));
      } catch {
        return;
      }
    }
  }

  start() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#serve(this.#listener);
  }
}

/** What connectWeaviate() uses of a plugin context, with the retries it made. */
function contextWithRetries(signal: AbortSignal, policy: RetryOptions = {}) {
  const retries: string[] = [];
  const closers: (() => void | Promise<void>)[] = [];
  const ctx = {
    signal,
    secret: () => {},
    onClose: (fn: () => void | Promise<void>) => closers.push(fn),
    retry: <T>(fn: (signal: AbortSignal, attempt: number) => Promise<T>, o: RetryOptions = {}) =>
      retry(fn, {
        attempts: 6,
        minDelayMs: 100,
        maxDelayMs: 400,
        ...policy,
        signal,
        ...o,
        onRetry: (error) => retries.push(error instanceof Error ? error.message : String(error)),
      }),
  };
  return { ctx: ctx as unknown as PluginContext, retries, closers };
}

Deno.test({
  name: "connectWeaviate() fails at once on first contact, later calls retry across a restart",
  ...integration,
  async fn() {
    const relay = new Relay(new URL(server.url));
    const url = `http://127.0.0.1:${relay.port}`;
    const config = { url, headers: {}, ...(server.apiKey ? { apiKey: server.apiKey } : {}) };
    const controller = new AbortController();
    try {
      await relay.stop();
      const first = contextWithRetries(controller.signal);
      const started = performance.now();
      await assert.rejects(
        connectWeaviate(config, first.ctx),
        (error: Error) => error.message === `Cannot GET ${url}/v1/meta: connection refused`,
      );
      assert.deepEqual(first.retries, []);
      assert.ok(performance.now() - started < 500);

      relay.start();
      // No jitter: the backoff (100 + 200 + 400 + … ms) outlasts the 300 ms restart for sure.
      const later = contextWithRetries(controller.signal, { jitter: 0 });
      const conn = await connectWeaviate(config, later.ctx);
      assert.match(conn.version, /^\d+\.\d+/);
      await relay.stop();
      const restarted = setTimeout(() => relay.start(), 300);
      try {
        const meta = await later.ctx.retry(() => conn.rest<{ version: string }>("GET", "/v1/meta"));
        assert.equal(meta.version, conn.version);
      } finally {
        clearTimeout(restarted);
      }
      assert.ok(later.retries.length >= 1, "the call was not retried");
      assert.ok(
        later.retries.some((m) => m === `Cannot GET ${url}/v1/meta: connection refused`),
        later.retries.join("\n"),
      );
    } finally {
      controller.abort();
      await relay.stop();
    }
  },
});

Deno.test({
  name: "connectWeaviate() retries HTTP 503 and tries HTTP 422 once",
  ...integration,
  async fn() {
    const relay = new Relay(new URL(server.url));
    const url = `http://127.0.0.1:${relay.port}`;
    const config = { url, headers: {}, ...(server.apiKey ? { apiKey: server.apiKey } : {}) };
    const controller = new AbortController();
    try {
      const { ctx, retries } = contextWithRetries(controller.signal);
      const conn = await connectWeaviate(config, ctx);
      relay.answerUnavailable(2);
      const meta = await ctx.retry(() => conn.rest<{ version: string }>("GET", "/v1/meta"));
      assert.equal(meta.version, conn.version);
      const unavailable = `Cannot GET ${url}/v1/meta: HTTP 503 try again later`;
      assert.equal(retries.filter((m) => m === unavailable).length, 2, retries.join("\n"));

      retries.length = 0;
      const invalid = { class: "not a class name!", vectorizer: "none" };
      await assert.rejects(
        ctx.retry(() => conn.rest("POST", "/v1/schema", invalid)),
        (error) =>
          error instanceof ServerError && error.status === 422 && !error.retryable &&
          error.message.startsWith(`Cannot POST ${url}/v1/schema: HTTP 422 `),
      );
      assert.deepEqual(retries, []);
    } finally {
      controller.abort();
      await relay.stop();
    }
  },
});

Deno.test({
  name: "connectWeaviate() tries a call with a body JSON cannot hold once, as the TypeError it is",
  ...integration,
  async fn() {
    const config = {
      url: server.url,
      headers: {},
      ...(server.apiKey ? { apiKey: server.apiKey } : {}),
    };
    const controller = new AbortController();
    try {
      const { ctx, retries } = contextWithRetries(controller.signal);
      const conn = await connectWeaviate(config, ctx);
      const circular: Record<string, unknown> = { class: uniqueName("Circular") };
      circular.self = circular;
      await assert.rejects(
        ctx.retry(() => conn.rest("POST", "/v1/schema", circular)),
        (error) => error instanceof TypeError && /circular/i.test(error.message),
      );
      assert.deepEqual(retries, []);
    } finally {
      controller.abort();
    }
  },
});

Deno.test({
  name: "connectWeaviate() reports a gRPC port that does not answer as a ServerError naming it",
  ...integration,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closed = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const config = {
      url: server.url,
      grpcUrl: `http://127.0.0.1:${closed}`,
      headers: {},
      ...(server.apiKey ? { apiKey: server.apiKey } : {}),
    };
    const controller = new AbortController();
    const { ctx, retries } = contextWithRetries(controller.signal, { attempts: 2, minDelayMs: 1 });
    const warn = console.warn;
    console.warn = () => {}; // weaviate-client warns on each health check it retries.
    try {
      const conn = await connectWeaviate(config, ctx);
      await assert.rejects(
        conn.client(),
        (error) =>
          error instanceof ServerError &&
          error.message.startsWith(
            `Cannot connect weaviate-client to ${server.url.replace(/\/+$/, "")} ` +
              `(gRPC 127.0.0.1:${closed}): `,
          ) && /UNAVAILABLE/.test(error.message),
      );
      // UNAVAILABLE is transient: a restarting server answers it too.
      assert.equal(retries.length, 1, retries.join("\n"));
      // The failure is not kept: the next call connects again.
      await assert.rejects(conn.client(), ServerError);
      assert.equal(retries.length, 2, retries.join("\n"));
    } finally {
      console.warn = warn;
      controller.abort();
    }
  },
});

Deno.test({
  name: "weft restores through a gRPC address written as host:port",
  ...integration,
  async fn() {
    const name = uniqueName("HostPort");
    await rest(server, "POST", "/v1/schema", {
      class: name,
      vectorizer: "none",
      properties: [{ name: "title", dataType: ["text"] }],
    });
    try {
      const objects = Array.from({ length: 3 }, (_, i) => ({
        class: name,
        properties: { title: `t${i}` },
        vector: [i, 1, 2],
      }));
      await rest(server, "POST", "/v1/batch/objects", { objects });
      const dir = await backupTo(server, [name]);
      assert.equal((await readBackup(dir)).objects.size, 3);

      const grpc = new URL(server.grpcUrl);
      const restored = uniqueName("HostPortCopy");
      const run = await denoTask(
        ["restore", "pipelines/restore.yaml", "--set", `sink.with.collection=${restored}`],
        {
          WEAVIATE_URL: server.url,
          WEAVIATE_GRPC_URL: `localhost:${grpc.port}`,
          ...(server.apiKey ? { WEAVIATE_API_KEY: server.apiKey } : {}),
          BACKUP_PATH: dir,
        },
      );
      assert.equal(run.code, 0, run.stderr);
      const listed = await rest<{ objects: unknown[] }>(
        server,
        "GET",
        `/v1/objects?class=${restored}&limit=10`,
      );
      assert.equal(listed.objects.length, 3);
      await rest(server, "DELETE", `/v1/schema/${restored}`);
    } finally {
      await rest(server, "DELETE", `/v1/schema/${name}`);
    }
  },
});
