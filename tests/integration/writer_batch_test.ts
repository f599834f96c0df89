/**
 * The writer as a core-batched sink against a real Weaviate: per-object
 * outcomes, interleaved partitions, a schema request retried after a lost
 * answer, and `mode: replace` asking before it drops anything.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { weaviateWriter, weaviateWriterConfig } from "../../plugins/weaviate_writer.ts";
import { Schema } from "../../plugins/weaviate_writer/schema.ts";
import { GrpcBatcher } from "../../plugins/_shared/grpc_batch.ts";
import { spillLimits } from "../../plugins/_shared/spill.ts";
import { connectWeaviate, type WeaviateConnection } from "../../plugins/_shared/weaviate.ts";
import { RunCache } from "../../src/cache.ts";
import { TimeoutError } from "../../src/errors.ts";
import { FlagSet, resolveFlags } from "../../src/flags.ts";
import { createLogger } from "../../src/logger.ts";
import {
  type CollectionMessage,
  type Message,
  partitionKey,
  type WeftObject,
} from "../../src/messages.ts";
import type { ResolvedPipeline } from "../../src/pipeline.ts";
import { definePlugin, type PluginContext } from "../../src/plugin.ts";
import { retry } from "../../src/retry.ts";
import { RunError, runPipeline } from "../../src/runner.ts";
import { Counters, type RunSummary } from "../../src/summary.ts";
import { useWeaviate } from "../harness/weaviate.ts";
import { integration, listAll, rest, tempDir, tenantStatuses, uniqueName } from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

/** A source that sends `messages`, then ends. */
function listSource(messages: Message[]) {
  return definePlugin({
    name: "list-source",
    description: "Sends a fixed list of messages.",
    kind: "source",
    config: z.strictObject({}),
    create: () => ReadableStream.from(messages),
  });
}

/** Runs `messages` into the writer with small batches; resolves with the summary and the log. */
async function write(
  messages: Message[],
  sink: Record<string, unknown>,
  options: { confirm?: boolean; deadLetter?: string } = {},
): Promise<{ summary?: RunSummary; error?: RunError; log: string }> {
  const lines: string[] = [];
  const pipeline: ResolvedPipeline = {
    name: "writer-batch-test",
    source: { id: "source", plugin: listSource(messages), config: {} },
    transforms: [],
    sink: {
      id: "sink",
      plugin: weaviateWriter,
      config: weaviateWriterConfig.parse({
        url: server.url,
        grpcUrl: server.grpcUrl,
        ...(server.apiKey ? { apiKey: server.apiKey } : {}),
        ...sink,
      }),
    },
    runtime: {
      retry: { attempts: 3, minDelay: 10, maxDelay: 50, timeout: 30_000 },
      progressInterval: 0,
      concurrency: 4,
      // Small batches: several in flight, and good objects in the same batch as bad ones.
      batch: { size: 7, concurrency: 3 },
      ...(options.deadLetter ? { deadLetter: options.deadLetter } : {}),
    },
  };
  const run = {
    log: createLogger({ level: "info", write: (line) => lines.push(line) }),
    confirm: () => Promise.resolve(options.confirm ?? false),
    cwd: await tempDir("weft-writer-batch-"),
  };
  try {
    return { summary: await runPipeline(pipeline, run), log: lines.join("\n") };
  } catch (error) {
    assert.ok(error instanceof RunError, String(error));
    return { error, log: lines.join("\n") };
  }
}

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

function collection(
  name: string,
  properties: { name: string; dataType: string[] }[],
  tenants?: CollectionMessage["tenants"],
): CollectionMessage {
  const definition = {
    class: name,
    vectorizer: "none",
    properties,
    ...(tenants ? { multiTenancyConfig: { enabled: true } } : {}),
  };
  return { type: "collection", collection: name, definition, ...(tenants ? { tenants } : {}) };
}

/** One partition's messages: start, its objects in batches of `per`, end. */
function partition(collection: string, objects: WeftObject[], per: number, tenant?: string) {
  const key = partitionKey(collection, tenant);
  const at = tenant === undefined ? { collection } : { collection, tenant };
  const batches: Message[] = [];
  for (let i = 0; i < objects.length; i += per) {
    const slice = objects.slice(i, i + per);
    batches.push({ type: "objects", partition: key, ...at, seq: i / per, objects: slice });
  }
  return {
    start: { type: "partition-start", partition: key, ...at } as Message,
    batches,
    end: { type: "partition-end", partition: key, ...at, objects: objects.length } as Message,
  };
}

Deno.test({
  name: "objects of the wrong type fail alone: the rest of their batches is written",
  ...integration,
  async fn(t) {
    for (const protocol of ["grpc", "rest"]) {
      await t.step(protocol, async () => {
        const name = uniqueName("Typed");
        const bad = new Set([3, 11]);
        const objects = Array.from({ length: 20 }, (_, i) => ({
          id: uuid(i),
          properties: { n: bad.has(i) ? "not a number" : i, t: `o${i}` },
          vectors: {},
        }));
        const p = partition(name, objects, 10);
        const deadLetter = `${await tempDir("weft-dead-letter-")}/dead.jsonl`;
        const run = await write(
          [
            collection(name, [{ name: "n", dataType: ["int"] }, { name: "t", dataType: ["text"] }]),
            p.start,
            ...p.batches,
            p.end,
          ],
          { protocol },
          { deadLetter },
        );
        assert.ok(run.error, "the run fails");
        assert.match(run.error.message, /Cannot write 2 object\(s\)/);
        assert.equal(run.error.summary.objects, 18, "the summary counts what was written");
        const stored = await listAll(server, name);
        assert.deepEqual(
          [...stored.keys()].sort(),
          objects.filter((_, i) => !bad.has(i)).map((o) => o.id),
        );
        const lines = (await Deno.readTextFile(deadLetter)).trim().split("\n").map((l) =>
          JSON.parse(l)
        );
        const refused = lines.filter((l) => l.type === "object");
        assert.deepEqual(refused.map((l) => l.object.id).sort(), [uuid(3), uuid(11)]);
        for (const line of refused) {
          assert.match(line.error, /invalid (integer|int)/i);
          assert.equal(line.attempts, 1, "a wrong type is not retried");
        }
      });
    }
  },
});

Deno.test({
  name:
    "interleaved partitions of two collections and two tenants, with forward references and spilled state, are restored and checked",
  ...integration,
  async fn() {
    const docs = uniqueName("Docs");
    const notes = uniqueName("Notes");
    const saved = { ...spillLimits };
    // Spill after a handful: hashes and set-aside objects go through their files.
    Object.assign(spillLimits, { lines: 2, entries: 5 });
    try {
      // Each Docs object points at the next one, written later: all but the last wait.
      const docObjects = Array.from({ length: 12 }, (_, i) => ({
        id: uuid(0x100 + i),
        properties: { title: `d${i}` },
        vectors: {},
        references: i < 11 ? { next: [{ id: uuid(0x100 + i + 1), collection: docs }] } : {},
      }));
      const noteObjects = (tenant: string, n: number) =>
        Array.from({ length: n }, (_, i) => ({
          id: uuid(0x200 + i + (tenant === "t1" ? 0 : 0x50)),
          properties: { body: `${tenant}-${i}` },
          vectors: {},
        }));
      const a = partition(docs, docObjects, 3);
      const b = partition(notes, noteObjects("t1", 9), 2, "t1");
      const c = partition(notes, noteObjects("t2", 5), 2, "t2");
      const messages: Message[] = [
        collection(docs, [{ name: "title", dataType: ["text"] }, {
          name: "next",
          dataType: [docs],
        }]),
        collection(notes, [{ name: "body", dataType: ["text"] }], [
          { name: "t1", activityStatus: "HOT" },
          { name: "t2", activityStatus: "COLD" },
        ]),
        a.start,
        b.start,
        c.start,
      ];
      for (let i = 0; i < 5; i++) {
        for (const p of [a, b, c]) if (p.batches[i]) messages.push(p.batches[i]!);
        if (i === 2) messages.push(c.end);
      }
      messages.push(a.end, b.end);

      const run = await write(messages, { check: "content" });
      assert.equal(run.error, undefined, run.log);
      assert.equal(run.summary!.objects, 26);
      assert.equal(run.summary!.collections[notes]?.tenants?.t2, 5);
      assert.match(run.log, /writing 11 objects whose references point at objects written after/);
      assert.equal(run.log.match(/content identical/g)?.length, 2, run.log);

      const stored = await listAll(server, docs);
      assert.equal(stored.size, 12);
      for (const [i, o] of docObjects.entries()) {
        const next = stored.get(o.id)!.properties.next as { beacon: string }[] | undefined;
        assert.deepEqual(
          next?.map((r) => r.beacon) ?? [],
          i < 11 ? [`weaviate://localhost/${docs}/${uuid(0x100 + i + 1)}`] : [],
        );
      }
      assert.equal((await listAll(server, notes, "t1")).size, 9);
      assert.deepEqual(await tenantStatuses(server, notes), { t1: "HOT", t2: "COLD" });
      await rest(server, "PUT", `/v1/schema/${notes}/tenants`, [
        { name: "t2", activityStatus: "HOT" },
      ]);
      assert.equal((await listAll(server, notes, "t2")).size, 5);
    } finally {
      Object.assign(spillLimits, saved);
    }
  },
});

/** A context for driving the writer's modules directly, with the run's retries. */
function context(): PluginContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    signal: new AbortController().signal,
    log: createLogger({ level: "info", write: (line) => lines.push(line) }),
    step: "sink",
    pipeline: "writer-batch-test",
    cwd: Deno.cwd(),
    metrics: new Counters(),
    cache: new RunCache(),
    flags: new FlagSet(resolveFlags({}, {})),
    concurrency: 1,
    retry: (fn) => retry(fn, { attempts: 3, minDelayMs: 10, maxDelayMs: 20 }),
    onClose: () => {},
    onComplete: () => {},
    secret: () => {},
    acknowledge: () => {},
    setOutput: () => {},
    confirm: () => Promise.resolve(false),
  };
}

/**
 * The server's connection, whose first `POST /v1/schema` reaches the server
 * (with `firstBody`, when given) but whose answer is lost.
 */
function losingFirstAnswer(conn: WeaviateConnection, firstBody?: unknown): WeaviateConnection {
  let lost = false;
  return {
    ...conn,
    rest: async (method, path, body, options) => {
      if (method !== "POST" || path !== "/v1/schema" || lost) {
        return await conn.rest(method, path, body, options);
      }
      lost = true;
      await conn.rest(method, path, firstBody ?? body, options);
      throw new TimeoutError(1000);
    },
  };
}

Deno.test({
  name:
    "a collection created by a POST whose answer was lost is accepted when it is what was sent, refused when not",
  ...integration,
  async fn() {
    const ctx = context();
    const conn = await connectWeaviate({ url: server.url, headers: {} }, ctx);
    const facts = { modules: new Set<string>(), nodes: 1 };
    const options = { mode: "fail" as const, overrides: {}, forceSchema: false };
    const properties = [{ name: "title", dataType: ["text"] }, { name: "n", dataType: ["int"] }];

    const same = uniqueName("Lost");
    const schema = new Schema(losingFirstAnswer(conn), facts, options, ctx);
    const prepared = await schema.collection(collection(same, properties));
    assert.equal(prepared.exists, false);
    assert.match(ctx.lines.join("\n"), /was created by an earlier attempt whose answer was lost/);
    const created = await rest<{ properties: { name: string }[] }>(
      server,
      "GET",
      `/v1/schema/${same}`,
    );
    assert.deepEqual(created.properties.map((p) => p.name), ["title", "n"]);

    const other = uniqueName("Lost");
    const changed = { ...collection(other, properties).definition };
    changed.properties = [{ name: "title", dataType: ["int"] }, properties[1]!];
    const refusing = new Schema(losingFirstAnswer(conn, changed), facts, options, ctx);
    await assert.rejects(
      refusing.collection(collection(other, properties)),
      new RegExp(
        `Cannot create collection "${other}": a retried request found it already there, but different from what was sent \\(properties\\.title\\.dataType\\)`,
      ),
    );
  },
});

Deno.test({
  name: "mode: replace asks first: declined, nothing is dropped or written; confirmed, it replaces",
  ...integration,
  async fn() {
    const name = uniqueName("Replaced");
    const properties = [{ name: "title", dataType: ["text"] }];
    await rest(server, "POST", "/v1/schema", { class: name, vectorizer: "none", properties });
    const old = crypto.randomUUID();
    await rest(server, "POST", "/v1/objects", {
      class: name,
      id: old,
      properties: { title: "old" },
    });
    const objects = [0, 1, 2].map((i) => ({ id: uuid(0x300 + i), properties: {}, vectors: {} }));
    const p = partition(name, objects, 2);
    const definition = collection(name, properties);
    const messages: Message[] = [
      { type: "source-info", system: "test", definitions: [definition.definition] },
      definition,
      p.start,
      ...p.batches,
      p.end,
    ];

    const declined = await write(messages, { mode: "replace" });
    assert.ok(declined.error);
    assert.match(declined.log, new RegExp(`dry run: would drop "${name}" with its 1 objects`));
    assert.match(declined.error.message, /nothing was written: mode replace .* not confirmed/);
    assert.deepEqual([...(await listAll(server, name)).keys()], [old]);

    const confirmed = await write(messages, { mode: "replace" }, { confirm: true });
    assert.equal(confirmed.error, undefined, confirmed.log);
    assert.deepEqual([...(await listAll(server, name)).keys()].sort(), objects.map((o) => o.id));
  },
});

Deno.test({
  name: "GrpcBatcher's requests split by size reach the server whole (a joined request included)",
  ...integration,
  async fn() {
    const name = uniqueName("Split");
    await rest(server, "POST", "/v1/schema", {
      class: name,
      properties: [{ name: "n", dataType: ["int"] }],
      vectorConfig: { default: { vectorizer: { none: {} }, vectorIndexType: "flat" } },
    });
    // 3,072 dims: 12 KiB a vector, so a 1 MiB server limit splits 200 objects into many requests.
    const batcher = new GrpcBatcher(new URL(server.grpcUrl), { headers: {} }, 1024 * 1024);
    try {
      const items = Array.from({ length: 200 }, (_, i) => ({
        collection: name,
        object: {
          id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
          properties: { n: i },
          vectors: { default: new Float32Array(3_072).fill(i / 200) },
        },
        withVectors: true,
      }));
      const requests = batcher.encode(items);
      assert.ok(requests.length > 2, `${requests.length} requests`);
      for (const request of requests) {
        assert.deepEqual(await batcher.send(request, new AbortController().signal), []);
      }
      const stored = await listAll(server, name);
      assert.equal(stored.size, 200);
    } finally {
      batcher.close();
    }
  },
});
