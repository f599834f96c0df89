/** Interleaved partitions through file-writer and file-reader. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { snapshot } from "../_files.ts";
import { runSteps } from "./_run.ts";
import { fileReader, fileReaderConfig, readManifest } from "../../plugins/file_reader.ts";
import { fileWriter, fileWriterConfig } from "../../plugins/file_writer.ts";
import {
  decodeObject,
  encodeObject,
  type ManifestFile,
} from "../../plugins/_shared/backup_format.ts";
import { RunCache } from "../../src/cache.ts";
import { FlagSet, resolveFlags } from "../../src/flags.ts";
import { createLogger } from "../../src/logger.ts";
import {
  type CollectionMessage,
  type Message,
  partitionKey,
  type WeftObject,
} from "../../src/messages.ts";
import { definePlugin, type PluginContext } from "../../src/plugin.ts";
import { Counters } from "../../src/summary.ts";

const silent = createLogger({ level: "silent" });
const anyConfig = z.record(z.string(), z.unknown());
const flags = new FlagSet(resolveFlags({ "parallel-partitions": true }, {}));

const run = runSteps;

/** Runs `messages`, from an in-memory source, into the real file-writer. */
async function writeBackup(dir: string, messages: Message[], maxFileBytes = 64 * 1024 * 1024) {
  const source = definePlugin({
    name: "list-source",
    description: "Sends a fixed list of messages.",
    kind: "source",
    config: anyConfig,
    create: () => ReadableStream.from(messages),
  });
  await run(
    { id: "source", plugin: source, config: {} },
    { id: "sink", plugin: fileWriter, config: fileWriterConfig.parse({ path: dir, maxFileBytes }) },
  );
}

/** Everything the real file-reader sends for the backup in `dir` (also into `received`). */
async function readBackup(
  dir: string,
  concurrency: number,
  options: Record<string, unknown> = {},
  received: Message[] = [],
): Promise<Message[]> {
  const sink = definePlugin({
    name: "memory-sink",
    description: "Keeps messages in memory.",
    kind: "sink",
    config: anyConfig,
    create: () => new WritableStream<Message>({ write: (m) => void received.push(m) }),
  });
  await run(
    { id: "source", plugin: fileReader, config: fileReaderConfig.parse({ path: dir, ...options }) },
    { id: "sink", plugin: sink, config: {} },
    concurrency,
  );
  return received;
}

function object(i: number): WeftObject {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    properties: { i, text: `object ${i} ${"x".repeat(i % 7)}` },
    vectors: { v: new Float32Array([i, -i, 0.25]) },
  };
}

/** A small deterministic random number generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface PartitionSpec {
  collection: string;
  tenant?: string;
  objects: WeftObject[];
  /** Sent after its last batch (or, with `statsEarly`, right after its start). */
  stats?: Record<string, number>;
  statsEarly?: boolean;
  /** Whether the source sends `partition-end` (default true). */
  end?: boolean;
}

const DEFINITIONS: Record<string, CollectionMessage> = {
  A: { type: "collection", collection: "A", definition: { class: "A" } },
  B: {
    type: "collection",
    collection: "B",
    definition: { class: "B", multiTenancyConfig: { enabled: true } },
    tenants: ["t1", "t2", "t3"].map((name) => ({ name, activityStatus: "HOT" })),
  },
};

/** A: 23 objects, B/t1: 17, B/t2: 31 (never ended), B/t3: none. */
const SPECS: PartitionSpec[] = [
  {
    collection: "A",
    objects: Array.from({ length: 23 }, (_, i) => object(i)),
    stats: { "isNull(text)": 0 },
    statsEarly: true,
  },
  {
    collection: "B",
    tenant: "t1",
    objects: Array.from({ length: 17 }, (_, i) => object(1000 + i)),
    stats: { "isNull(text)": 1 },
  },
  {
    collection: "B",
    tenant: "t2",
    objects: Array.from({ length: 31 }, (_, i) => object(2000 + i)),
    stats: { "isNull(text)": 2 },
    end: false,
  },
  { collection: "B", tenant: "t3", objects: [] },
];

/**
 * The messages of a source reading `specs` at once: batches of 1–4 objects
 * of randomly chosen partitions, each partition framed, each collection
 * announced before its first partition.
 */
function interleave(
  specs: PartitionSpec[],
  seed: number,
  definitions: Record<string, CollectionMessage> = DEFINITIONS,
): Message[] {
  const next = random(seed);
  const messages: Message[] = [{ type: "source-info", system: "memory" }];
  const announced = new Set<string>();
  const state = specs.map((spec) => ({ spec, sent: 0, seq: 0, started: false }));
  let open = [...state];
  while (open.length) {
    const s = open[Math.floor(next() * open.length)]!;
    const { collection, tenant, objects } = s.spec;
    const where = {
      partition: partitionKey(collection, tenant),
      collection,
      ...(tenant === undefined ? {} : { tenant }),
    };
    const stats: Message | undefined = s.spec.stats && {
      type: "index-stats",
      collection,
      ...(tenant === undefined ? {} : { tenant }),
      counts: s.spec.stats,
    };
    if (!s.started) {
      if (!announced.has(collection)) messages.push(definitions[collection]!);
      announced.add(collection);
      messages.push({ type: "partition-start", ...where, total: objects.length });
      if (stats && s.spec.statsEarly) messages.push(stats);
      s.started = true;
    } else if (s.sent < objects.length) {
      const n = 1 + Math.floor(next() * 4);
      const batch = objects.slice(s.sent, s.sent + n);
      s.sent += batch.length;
      messages.push({ type: "objects", ...where, seq: s.seq++, objects: batch });
    } else {
      if (stats && !s.spec.statsEarly) messages.push(stats);
      if (s.spec.end !== false) {
        messages.push({ type: "partition-end", ...where, objects: objects.length });
      }
      open = open.filter((o) => o !== s);
    }
  }
  return messages;
}

/** Objects by partition, in the order they arrived. */
function byPartition(messages: Message[]): Map<string, WeftObject[]> {
  const out = new Map<string, WeftObject[]>();
  for (const m of messages) {
    if (m.type !== "objects") continue;
    const list = out.get(m.partition) ?? [];
    list.push(...m.objects);
    out.set(m.partition, list);
  }
  return out;
}

/** Whether batches of different partitions alternate somewhere in `messages`. */
function interleaved(messages: Message[]): boolean {
  const order = messages.flatMap((m) => m.type === "objects" ? [m.partition] : []);
  const done = new Set<string>();
  return order.some((p, i) => {
    if (i > 0 && order[i - 1] !== p) done.add(order[i - 1]!);
    return done.has(p);
  });
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "weft-partitions-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Bytes of the longest data line of SPECS. */
const LONGEST_LINE = Math.max(
  ...SPECS.flatMap((s) => s.objects).map((o) =>
    new TextEncoder().encode(encodeObject(o)).length + 1
  ),
);

const expected = new Map(
  SPECS.filter((s) => s.objects.length).map((
    s,
  ) => [partitionKey(s.collection, s.tenant), s.objects]),
);

Deno.test("file-writer writes interleaved partitions each to its own data file with its counts and sha256", async () => {
  const messages = interleave(SPECS, 7);
  assert.ok(interleaved(messages), "the source interleaves partitions");
  await withDir(async (dir) => {
    await writeBackup(dir, messages);
    const manifest = await readManifest(dir);
    assert.deepEqual(
      manifest.files.map((f) => [f.path, f.collection, f.tenant, f.objects]).sort(),
      [
        ["data/A/part-00001.jsonl", "A", undefined, 23],
        ["data/B/t1/part-00001.jsonl", "B", "t1", 17],
        ["data/B/t2/part-00001.jsonl", "B", "t2", 31],
      ],
    );
    const a = manifest.collections.find((c) => c.name === "A");
    const b = manifest.collections.find((c) => c.name === "B");
    assert.equal(a?.objects, 23);
    assert.deepEqual(a?.indexStats, { "isNull(text)": 0 });
    assert.equal(b?.objects, 48);
    assert.deepEqual(
      b?.tenants?.map((t) => [t.name, t.objects, t.indexStats]),
      [["t1", 17, { "isNull(text)": 1 }], ["t2", 31, { "isNull(text)": 2 }], ["t3", 0, undefined]],
    );
    const files = await snapshot(dir);
    for (const file of manifest.files) assert.equal(files.get(file.path), file.sha256, file.path);
    assert.equal(manifest.totals.objects, 71);
    assert.deepEqual(byPartition(await readBackup(dir, 1)), expected);
  });
});

Deno.test("file-writer splits interleaved partitions into parts of maxFileBytes, each partition's parts in order", async () => {
  for (const seed of [1, 2, 3]) {
    const messages = interleave(SPECS, seed);
    await withDir(async (dir) => {
      await writeBackup(dir, messages, 600);
      const manifest = await readManifest(dir);
      const files = await snapshot(dir);
      const parts = new Map<string, ManifestFile[]>();
      for (const file of manifest.files) {
        assert.equal(files.get(file.path), file.sha256, file.path);
        assert.ok(file.bytes <= 600 || file.objects === 1, `${file.path}: ${file.bytes} bytes`);
        const key = partitionKey(file.collection, file.tenant);
        parts.set(key, [...parts.get(key) ?? [], file]);
      }
      for (const [key, list] of parts) {
        assert.ok(list.length > 1, `${key} spans several files`);
        assert.deepEqual(
          list.map((f) => f.path.replace(/^.*\//, "")),
          list.map((_, i) => `part-${String(i + 1).padStart(5, "0")}.jsonl`),
          key,
        );
        // Interleaving does not cut a partition's files short: each is full but its last.
        for (const file of list.slice(0, -1)) {
          assert.ok(file.bytes > 600 - LONGEST_LINE, `${file.path} is full: ${file.bytes} bytes`);
        }
      }
      assert.deepEqual(byPartition(await readBackup(dir, 1)), expected, `seed ${seed}`);
    });
  }
});

/** A context for driving a plugin's stream directly, message by message. */
function context(cwd: string): PluginContext & { close(): Promise<void> } {
  const cleanups: (() => void | Promise<void>)[] = [];
  return {
    signal: new AbortController().signal,
    log: silent,
    step: "sink",
    pipeline: "partitions-test",
    cwd,
    metrics: new Counters(),
    cache: new RunCache(),
    flags,
    concurrency: 1,
    retry: (fn) => fn(new AbortController().signal, 1),
    onClose: (fn) => void cleanups.push(fn),
    onComplete: () => {},
    secret: () => {},
    acknowledge: () => {},
    setOutput: () => {},
    confirm: () => Promise.resolve(false),
    async close() {
      for (const fn of cleanups.reverse()) await fn();
    },
  };
}

/** Data files this process holds open under `dir`, by path relative to their staging folder. */
async function openDataFiles(dir: string): Promise<string[]> {
  const open: string[] = [];
  for await (const entry of Deno.readDir("/proc/self/fd")) {
    const target = await Deno.readLink(`/proc/self/fd/${entry.name}`).catch(() => "");
    const match = target.startsWith(dir) && /\/\.weft-partial-[^/]+\/(.*\.jsonl)$/.exec(target);
    if (match) open.push(match[1]!);
  }
  return open.sort();
}

const hasProc = await Deno.stat("/proc/self/fd").then(() => true, () => false);

Deno.test({
  name: "file-writer keeps a data file open per partition and closes each at its partition-end",
  ignore: !hasProc,
  fn: () =>
    withDir(async (dir) => {
      const ctx = context(dir);
      const sink = await fileWriter.create(fileWriterConfig.parse({ path: dir }), ctx);
      assert.ok(sink instanceof WritableStream);
      const writer = sink.getWriter();
      const objects = (partition: string, seq: number, from: number): Message => {
        const [collection, tenant] = partition.split("/") as [string, string?];
        return {
          type: "objects",
          partition,
          collection,
          ...(tenant ? { tenant } : {}),
          seq,
          objects: [object(from), object(from + 1)],
        };
      };
      const end = (partition: string): Message => {
        const [collection, tenant] = partition.split("/") as [string, string?];
        return {
          type: "partition-end",
          partition,
          collection,
          ...(tenant ? { tenant } : {}),
          objects: 4,
        };
      };
      for (const m of [DEFINITIONS.A!, DEFINITIONS.B!]) await writer.write(m);
      await writer.write(objects("A", 0, 0));
      await writer.write(objects("B/t2", 0, 2000));
      await writer.write(objects("B/t1", 0, 1000));
      await writer.write(objects("A", 1, 2));
      assert.deepEqual(await openDataFiles(dir), [
        "data/A/part-00001.jsonl",
        "data/B/t1/part-00001.jsonl",
        "data/B/t2/part-00001.jsonl",
      ]);
      await writer.write(objects("B/t1", 1, 1002));
      await writer.write(end("B/t1"));
      assert.deepEqual(await openDataFiles(dir), [
        "data/A/part-00001.jsonl",
        "data/B/t2/part-00001.jsonl",
      ]);
      await writer.write(objects("B/t2", 1, 2002));
      await writer.write(end("A"));
      assert.deepEqual(await openDataFiles(dir), ["data/B/t2/part-00001.jsonl"]);
      // B/t2 is never ended: the end of the stream closes it.
      await writer.close();
      await ctx.close();
      assert.deepEqual(await openDataFiles(dir), []);
      const manifest = await readManifest(dir);
      // In the order the tenants were announced, whatever order they came in.
      assert.deepEqual(manifest.files.map((f) => [f.path, f.objects]), [
        ["data/A/part-00001.jsonl", 4],
        ["data/B/t1/part-00001.jsonl", 4],
        ["data/B/t2/part-00001.jsonl", 4],
      ]);
      assert.deepEqual(
        manifest.collections[1]?.tenants?.map((t) => t.objects),
        [4, 4, 0],
      );
    }),
});

Deno.test({
  name: "file-writer keeps at most 64 data files open when partitions are never ended",
  ignore: !hasProc,
  fn: () =>
    withDir(async (dir) => {
      const tenants = Array.from({ length: 70 }, (_, i) => `t${i}`);
      const ctx = context(dir);
      const sink = await fileWriter.create(fileWriterConfig.parse({ path: dir }), ctx);
      assert.ok(sink instanceof WritableStream);
      const writer = sink.getWriter();
      await writer.write({
        type: "collection",
        collection: "M",
        definition: { class: "M" },
        tenants: tenants.map((name) => ({ name, activityStatus: "HOT" })),
      });
      let most = 0;
      for (const round of [0, 1]) {
        for (const [i, tenant] of tenants.entries()) {
          await writer.write({
            type: "objects",
            partition: `M/${tenant}`,
            collection: "M",
            tenant,
            seq: round,
            objects: [object(i * 10 + round)],
          });
          most = Math.max(most, (await openDataFiles(dir)).length);
        }
      }
      assert.equal(most, 64);
      await writer.close();
      await ctx.close();
      const received = await readBackup(dir, 4);
      assert.deepEqual(
        byPartition(received),
        new Map(tenants.map((t, i) => [`M/${t}`, [object(i * 10), object(i * 10 + 1)]])),
      );
    }),
});

// ---- file-reader -----------------------------------------------------------------------------

/** Checks the framing of every partition in `received`; returns the most read at once. */
async function checkFraming(dir: string, received: Message[]): Promise<number> {
  const manifest = await readManifest(dir);
  const announced = new Set<string>();
  const running = new Map<string, { seq: number; objects: number; cursor?: string }>();
  const ended = new Set<string>();
  let most = 0;
  const lines = new Map<string, string[]>();
  const lineOf = async (cursor: string) => {
    const [path, line] = cursor.split(":") as [string, string];
    if (!lines.has(path)) lines.set(path, (await Deno.readTextFile(join(dir, path))).split("\n"));
    return decodeObject(lines.get(path)![Number(line) - 1]!);
  };
  for (const m of received) {
    if (m.type === "collection") announced.add(m.collection);
    if (m.type === "partition-start") {
      assert.ok(announced.has(m.collection), `${m.partition} starts after its collection`);
      assert.ok(!running.has(m.partition) && !ended.has(m.partition), `${m.partition} once`);
      assert.equal(m.partition, partitionKey(m.collection, m.tenant));
      const c = manifest.collections.find((c) => c.name === m.collection)!;
      const total = m.tenant === undefined
        ? c.objects
        : c.tenants?.find((t) => t.name === m.tenant)?.objects;
      assert.equal(m.total, total, `${m.partition} total`);
      running.set(m.partition, { seq: 0, objects: 0 });
      most = Math.max(most, running.size);
    } else if (m.type === "objects") {
      const state = running.get(m.partition);
      assert.ok(state, `objects of ${m.partition} inside its frame`);
      assert.equal(m.seq, state.seq++, `${m.partition} seq`);
      state.objects += m.objects.length;
      assert.match(m.cursor ?? "", /^data\/.+\.jsonl:\d+$/);
      assert.deepEqual(await lineOf(m.cursor!), m.objects.at(-1), `${m.partition} cursor`);
      state.cursor = m.cursor!;
    } else if (m.type === "index-stats") {
      const key = partitionKey(m.collection, m.tenant);
      assert.ok(running.has(key), `index-stats of ${key} before its end`);
    } else if (m.type === "partition-end") {
      const state = running.get(m.partition);
      assert.ok(state, `${m.partition} ends after its start`);
      assert.equal(m.objects, state.objects, `${m.partition} objects`);
      assert.equal(m.cursor, state.cursor, `${m.partition} final cursor`);
      running.delete(m.partition);
      ended.add(m.partition);
    }
  }
  assert.deepEqual(running, new Map(), "every partition ended");
  return most;
}

/** A backup of 2 collections and 6 tenants, each partition over several data files. */
async function withSample(fn: (dir: string) => Promise<void>) {
  const tenants = ["t1", "t2", "t3", "t4", "t5", "t6"];
  const specs: PartitionSpec[] = [
    { collection: "A", objects: Array.from({ length: 40 }, (_, i) => object(i)) },
    ...tenants.map((tenant, k): PartitionSpec => ({
      collection: "B",
      tenant,
      objects: Array.from({ length: 20 + 5 * k }, (_, i) => object(1000 * (k + 1) + i)),
      stats: { "isNull(text)": k },
    })),
    { collection: "B", tenant: "t7", objects: [] },
  ];
  const definitions: Record<string, CollectionMessage> = {
    ...DEFINITIONS,
    B: {
      ...DEFINITIONS.B!,
      tenants: [...tenants, "t7"].map((name) => ({ name, activityStatus: "HOT" })),
    },
  };
  const messages = interleave(specs, 11, definitions);
  await withDir(async (dir) => {
    await writeBackup(dir, messages, 800);
    await fn(dir);
  });
}

Deno.test("file-reader with concurrency 1 and 4 sends the same objects per partition, each framed, in order", async () => {
  await withSample(async (dir) => {
    const one = await readBackup(dir, 1, { batchSize: 3 });
    const four = await readBackup(dir, 4, { batchSize: 3 });
    const sent = byPartition(one);
    assert.deepEqual([...sent.keys()].sort(), [
      "A",
      "B/t1",
      "B/t2",
      "B/t3",
      "B/t4",
      "B/t5",
      "B/t6",
    ]);
    assert.deepEqual(sent.get("B/t6")?.map((o) => o.properties.i), [
      ...Array.from({ length: 45 }, (_, i) => 6000 + i),
    ]);
    assert.deepEqual(byPartition(four), sent);
    assert.equal(await checkFraming(dir, one), 1, "concurrency 1 reads one partition at a time");
    assert.ok(!interleaved(one));
    assert.equal(await checkFraming(dir, four), 4, "concurrency 4 reads four at a time");
    assert.ok(interleaved(four), "concurrency 4 interleaves partitions");
    const empty = four.filter((m) => "partition" in m && m.partition === "B/t7");
    assert.deepEqual(empty, [
      { type: "partition-start", partition: "B/t7", collection: "B", tenant: "t7", total: 0 },
      { type: "partition-end", partition: "B/t7", collection: "B", tenant: "t7", objects: 0 },
    ]);
  });
});

Deno.test("file-reader with concurrency 4 checks every data file before its first message", async () => {
  await withSample(async (dir) => {
    const manifest = await readManifest(dir);
    const last = manifest.files.at(-1)!;
    const bytes = await Deno.readFile(join(dir, last.path));
    const middle = bytes.byteLength >> 1;
    bytes[middle] = bytes[middle]! ^ 1;
    await Deno.writeFile(join(dir, last.path), bytes);
    const received: Message[] = [];
    const error = await readBackup(dir, 4, {}, received).then(() => undefined, (e) => e);
    assert.match(String(error?.message), /checksum mismatch/);
    assert.deepEqual(received, []);
    assert.notEqual(createHash("sha256").update(bytes).digest("hex"), last.sha256);
  });
});
