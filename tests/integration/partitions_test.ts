/**
 * Parallel partitions against a real Weaviate: 100 tenants × 1,000 objects
 * read with `runtime.concurrency` 4 (interleaved, each partition framed and
 * in order) and 1, backed up, restored and verified with zero differences
 * each way, and the verifier finding differences among interleaved partitions.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { weaviateReader, weaviateReaderConfig } from "../../plugins/weaviate_reader.ts";
import { FlagSet, resolveFlags } from "../../src/flags.ts";
import { createLogger } from "../../src/logger.ts";
import type { Message } from "../../src/messages.ts";
import { runtimeSchema } from "../../src/pipeline.ts";
import { definePlugin } from "../../src/plugin.ts";
import { runPipeline } from "../../src/runner.ts";
import { useWeaviate } from "../harness/weaviate.ts";
import {
  backupTo,
  denoTask,
  insertAll,
  integration,
  rest,
  serverEnv,
  tempDir,
  tenantStatuses,
  uniqueName,
} from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

const TENANTS = 100;
const PER_TENANT = 1_000;
const COLD = ["t007", "t042"];
const tenantName = (i: number) => `t${String(i).padStart(3, "0")}`;
const vector = () => Array.from({ length: 8 }, () => Math.random() * 2 - 1);

/** The 100-tenant collection (two tenants COLD) and a small collection with index stats. */
const fixture = (async () => {
  const tenants = uniqueName("Partitioned");
  const plain = uniqueName("Plain");
  await rest(server, "POST", "/v1/schema", {
    class: tenants,
    vectorizer: "none",
    multiTenancyConfig: { enabled: true },
    properties: [{ name: "n", dataType: ["int"] }, { name: "title", dataType: ["text"] }],
  });
  await rest(server, "POST", "/v1/schema", {
    class: plain,
    vectorizer: "none",
    invertedIndexConfig: { indexNullState: true },
    properties: [{ name: "title", dataType: ["text"] }],
  });
  const names = Array.from({ length: TENANTS }, (_, i) => tenantName(i));
  for (let i = 0; i < names.length; i += 50) {
    await rest(
      server,
      "POST",
      `/v1/schema/${tenants}/tenants`,
      names.slice(i, i + 50).map((name) => ({ name })),
    );
  }
  const fill = async (tenant: string) =>
    await insertAll(
      server,
      Array.from({ length: PER_TENANT }, (_, n) => ({
        class: tenants,
        tenant,
        properties: { n, title: `${tenant} #${n}` },
        vector: vector(),
      })),
    );
  for (let i = 0; i < names.length; i += 4) await Promise.all(names.slice(i, i + 4).map(fill));
  await insertAll(
    server,
    Array.from({ length: 1_200 }, (_, n) => ({
      class: plain,
      properties: n % 3 ? { title: `#${n}` } : {},
      vector: vector(),
    })),
  );
  await rest(
    server,
    "PUT",
    `/v1/schema/${tenants}/tenants`,
    COLD.map((name) => ({ name, activityStatus: "COLD" })),
  );
  return { tenants, plain };
})();

/** What the reader sent, without the objects themselves. */
type Seen =
  | Exclude<Message, { type: "objects" }>
  | {
    type: "objects";
    partition: string;
    collection: string;
    seq: number;
    cursor?: string;
    count: number;
    lastId: string;
  };

/** Runs `weaviate-reader` on `collections` into a sink that records every message. */
async function read(
  collections: string[],
  concurrency: number,
  flags: Record<string, boolean> = {},
): Promise<{ seen: Seen[]; seconds: number }> {
  const seen: Seen[] = [];
  const recorder = definePlugin({
    name: "recorder",
    description: "Records the messages it gets.",
    kind: "sink",
    config: z.strictObject({}),
    create: () =>
      new WritableStream<Message>({
        write(m) {
          if (m.type !== "objects") return void seen.push(m);
          const { objects, tenant: _, ...rest } = m;
          seen.push({ ...rest, count: objects.length, lastId: objects.at(-1)!.id });
        },
      }),
  });
  const started = performance.now();
  await runPipeline({
    name: "read",
    source: {
      id: "source",
      plugin: weaviateReader,
      config: weaviateReaderConfig.parse({ url: server.url, grpcUrl: server.grpcUrl, collections }),
    },
    transforms: [],
    sink: { id: "sink", plugin: recorder, config: {} },
    runtime: runtimeSchema.parse({ concurrency, progressInterval: 0 }),
  }, { log: createLogger({ level: "silent" }), flags: new FlagSet(resolveFlags(flags, {})) });
  return { seen, seconds: (performance.now() - started) / 1000 };
}

/**
 * Asserts that every partition is framed — after its collection's message,
 * `partition-start` with the server's count, `objects` numbered from 0 with
 * their cursors, `partition-end` with the right count and cursor — and
 * resolves with the most partitions open at once and whether objects of
 * different partitions were interleaved.
 */
function checkFrames(seen: Seen[], expected: Map<string, number>) {
  const collections = new Set<string>();
  const open = new Map<string, { seq: number; objects: number; cursor?: string }>();
  const ended = new Set<string>();
  let mostOpen = 0;
  let interleaved = false;
  let last: string | undefined;
  for (const m of seen) {
    if (m.type === "collection") collections.add(m.collection);
    if (m.type === "partition-start") {
      assert.ok(collections.has(m.collection), `${m.partition} starts before its collection`);
      assert.ok(!open.has(m.partition) && !ended.has(m.partition), `${m.partition} starts twice`);
      assert.equal(m.total, expected.get(m.partition), `${m.partition} total`);
      open.set(m.partition, { seq: 0, objects: 0 });
      mostOpen = Math.max(mostOpen, open.size);
    } else if (m.type === "objects") {
      const p = open.get(m.partition);
      assert.ok(p, `objects of ${m.partition} outside its frame`);
      assert.equal(m.seq, p.seq++, `${m.partition} batches in order`);
      assert.equal(m.cursor, m.lastId, "the cursor is the batch's last UUID");
      assert.ok(p.cursor === undefined || m.lastId > p.cursor, "UUID order kept");
      p.objects += m.count;
      p.cursor = m.cursor!;
      if (last !== undefined && last !== m.partition && open.has(last)) interleaved = true;
      last = m.partition;
    } else if (m.type === "index-stats") {
      const key = m.tenant === undefined ? m.collection : `${m.collection}/${m.tenant}`;
      assert.ok(open.has(key), `index stats of ${key} outside its frame`);
    } else if (m.type === "partition-end") {
      const p = open.get(m.partition);
      assert.ok(p, `${m.partition} ends without starting`);
      assert.equal(m.objects, p.objects, `${m.partition} count`);
      assert.equal(m.objects, expected.get(m.partition), `${m.partition} objects`);
      assert.equal(m.cursor, p.cursor, `${m.partition} final cursor`);
      open.delete(m.partition);
      ended.add(m.partition);
    }
  }
  assert.equal(open.size, 0, "every partition ends");
  assert.deepEqual([...ended].sort(), [...expected.keys()].sort(), "every partition is read");
  return { mostOpen, interleaved };
}

Deno.test({
  name: "weaviate-reader reads up to runtime.concurrency partitions at once, each framed in order",
  ...integration,
  async fn() {
    const { tenants, plain } = await fixture;
    const expected = new Map<string, number>([[plain, 1_200]]);
    for (let i = 0; i < TENANTS; i++) expected.set(`${tenants}/${tenantName(i)}`, PER_TENANT);

    const parallel = await read([tenants, plain], 4);
    const four = checkFrames(parallel.seen, expected);
    assert.equal(four.mostOpen, 4, "four partitions read at once");
    assert.ok(four.interleaved, "objects of partitions are interleaved");
    assert.equal(parallel.seen.filter((m) => m.type === "index-stats").length, 1);

    const serial = await read([tenants, plain], 1);
    assert.deepEqual(checkFrames(serial.seen, expected), { mostOpen: 1, interleaved: false });
    const off = await read([tenants], 4, { "parallel-partitions": false });
    expected.delete(plain);
    assert.equal(checkFrames(off.seen, expected).mostOpen, 1, "the flag turns the pool off");
    console.log(
      `read ${TENANTS} tenants × ${PER_TENANT} objects: concurrency 1 ${
        serial.seconds.toFixed(1)
      } s, concurrency 4 ${parallel.seconds.toFixed(1)} s`,
    );
    assert.deepEqual(
      Object.fromEntries(COLD.map((t) => [t, "COLD"])),
      Object.fromEntries(
        Object.entries(await tenantStatuses(server, tenants)).filter(([t]) => COLD.includes(t)),
      ),
      "COLD tenants are COLD again",
    );
  },
});

function verify(source: string, collection: string, as: string, env: Record<string, string> = {}) {
  return denoTask(
    ["verify", source, "--against", server.url, "--collection", collection, "--as", as],
    env,
  );
}

const IDENTICAL = new RegExp(
  `identical \\(${TENANTS * PER_TENANT} source objects, ${TENANTS * PER_TENANT} target objects`,
);

for (
  const round of [
    { label: "runtime.concurrency 4", sets: ["runtime.concurrency=4"], env: {} },
    { label: "runtime.concurrency 1", sets: ["runtime.concurrency=1"], env: {} },
    {
      label: "parallel-partitions off",
      sets: [],
      env: { WEFT_FLAG_PARALLEL_PARTITIONS: "off" },
    },
  ]
) {
  Deno.test({
    name:
      `${TENANTS} tenants × ${PER_TENANT} objects back up, restore and verify with ${round.label}`,
    ...integration,
    async fn() {
      const { tenants } = await fixture;
      const dir = await tempDir("weft-test-partitions-");
      const started = performance.now();
      const backup = await denoTask(
        [
          "backup",
          "pipelines/backup.yaml",
          "--set",
          `source.with.collections=[${tenants}]`,
          ...round.sets.flatMap((s) => ["--set", s]),
        ],
        { ...serverEnv(server, dir), ...round.env },
      );
      const seconds = (performance.now() - started) / 1000;
      assert.equal(backup.code, 0, backup.stderr);
      console.log(`backup with ${round.label}: ${seconds.toFixed(1)} s (CLI, start-up included)`);

      const copy = uniqueName("Restored");
      const restore = await denoTask(
        [
          "restore",
          "pipelines/restore.yaml",
          "--set",
          `sink.with.collection=${copy}`,
          ...round.sets.flatMap((s) => ["--set", s]),
        ],
        { ...serverEnv(server, dir), ...round.env },
      );
      assert.equal(restore.code, 0, restore.stderr);
      const statuses = await tenantStatuses(server, copy);
      assert.equal(Object.keys(statuses).length, TENANTS);
      for (const t of COLD) assert.equal(statuses[t], "COLD", `${t} restored COLD`);

      const fromFiles = await verify(dir, tenants, copy, round.env);
      assert.equal(fromFiles.code, 0, fromFiles.stderr);
      assert.match(fromFiles.stderr, IDENTICAL);
      // The reader's partitions, interleaved unless the flag is off, straight into the verifier.
      const fromServer = await verify(server.url, tenants, copy, round.env);
      assert.equal(fromServer.code, 0, fromServer.stderr);
      assert.match(fromServer.stderr, IDENTICAL);
      await rest(server, "DELETE", `/v1/schema/${copy}`);
    },
  });
}

Deno.test({
  name: "the verifier keys its state by partition: differences among interleaved tenants",
  ...integration,
  async fn() {
    const { tenants } = await fixture;
    const copy = uniqueName("Altered");
    const dir = await backupTo(server, [tenants]);
    const restore = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", `sink.with.collection=${copy}`],
      serverEnv(server, dir),
    );
    assert.equal(restore.code, 0, restore.stderr);
    const first = async (tenant: string) =>
      (await rest<{ objects: { id: string }[] }>(
        server,
        "GET",
        `/v1/objects?class=${copy}&tenant=${tenant}&limit=1`,
      )).objects[0]!.id;
    const changed = await first("t010");
    const deleted = await first("t011");
    const moved = await first("t012");
    await rest(server, "PATCH", `/v1/objects/${copy}/${changed}?tenant=t010`, {
      class: copy,
      tenant: "t010",
      properties: { title: "edited" },
    });
    await rest(server, "DELETE", `/v1/objects/${copy}/${deleted}?tenant=t011`);
    // The same UUID in another tenant: missing from t012, unexpected in t013.
    const object = await rest<{ properties: object; vector: number[] }>(
      server,
      "GET",
      `/v1/objects/${copy}/${moved}?tenant=t012&include=vector`,
    );
    await rest(server, "DELETE", `/v1/objects/${copy}/${moved}?tenant=t012`);
    await insertAll(server, [{
      class: copy,
      tenant: "t013",
      id: moved,
      properties: object.properties,
      vector: object.vector,
    }]);

    const run = await verify(server.url, tenants, copy);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /4 differences/);
    assert.match(run.stderr, new RegExp(`different: ${changed} \\(properties\\)`));
    assert.match(run.stderr, new RegExp(`missing in target: (?=.*${deleted})(?=.*${moved})`));
    assert.match(run.stderr, new RegExp(`only in target: ${moved}`));
    await rest(server, "DELETE", `/v1/schema/${copy}`);
  },
});
