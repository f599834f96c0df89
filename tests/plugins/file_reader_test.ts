import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { runSteps } from "./_run.ts";
import { fileReader, fileReaderConfig, readManifest } from "../../plugins/file_reader.ts";
import { fileWriter, fileWriterConfig } from "../../plugins/file_writer.ts";
import { IntegrityError } from "../../src/errors.ts";
import { type Message, partitionKey, type WeftObject } from "../../src/messages.ts";
import { definePlugin } from "../../src/plugin.ts";
import { RunError } from "../../src/runner.ts";

const anyConfig = z.record(z.string(), z.unknown());

const run = runSteps;

/** Writes `messages` with the real file-writer into `dir`. */
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
    {
      id: "sink",
      plugin: fileWriter,
      config: fileWriterConfig.parse({ path: dir, maxFileBytes }),
    },
  );
}

/** Reads the backup in `dir` with the real file-reader; returns what arrived and the error. */
async function readBackup(
  dir: string,
  options: Record<string, unknown> = {},
  onMessage?: (message: Message) => void | Promise<void>,
): Promise<{ received: Message[]; error?: string }> {
  const received: Message[] = [];
  const sink = definePlugin({
    name: "memory-sink",
    description: "Keeps messages in memory.",
    kind: "sink",
    config: anyConfig,
    create: () =>
      new WritableStream<Message>({
        async write(message) {
          await onMessage?.(message);
          received.push(message);
        },
      }),
  });
  try {
    await run(
      {
        id: "source",
        plugin: fileReader,
        config: fileReaderConfig.parse({ path: dir, ...options }),
      },
      { id: "sink", plugin: sink, config: {} },
    );
    return { received };
  } catch (error) {
    assert.ok(error instanceof RunError, String(error));
    return { received, error: error.message };
  }
}

function object(i: number, text = `object ${i}`): WeftObject {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    properties: { i, text },
    vectors: { v: new Float32Array([i, -i, 0.25]) },
  };
}

function objects(from: number, n: number, text?: (i: number) => string): WeftObject[] {
  return Array.from({ length: n }, (_, k) => object(from + k, text?.(from + k)));
}

/** Collection A (no tenants) and T with tenants t1..t3, several files each. */
const SAMPLE: Message[] = [
  { type: "source-info", system: "memory", version: "1.39.0" },
  { type: "collection", collection: "A", definition: { class: "A" } },
  { type: "objects", partition: "A", collection: "A", seq: 0, objects: objects(0, 30) },
  { type: "index-stats", collection: "A", counts: { "isNull(text)": 0, "len(text)>0": 30 } },
  { type: "collection-is-new-here", note: "unknown types are passed over" } as unknown as Message,
  {
    type: "collection",
    collection: "T",
    definition: { class: "T", multiTenancyConfig: { enabled: true } },
    tenants: [
      { name: "t1", activityStatus: "HOT" },
      { name: "t2", activityStatus: "COLD" },
      { name: "t3", activityStatus: "HOT" },
    ],
  },
  {
    type: "objects",
    partition: "T/t1",
    collection: "T",
    tenant: "t1",
    seq: 0,
    objects: objects(100, 20),
  },
  { type: "index-stats", collection: "T", tenant: "t1", counts: { "isNull(text)": 1 } },
  {
    type: "objects",
    partition: "T/t2",
    collection: "T",
    tenant: "t2",
    seq: 0,
    objects: objects(200, 20),
  },
  {
    type: "objects",
    partition: "T/t3",
    collection: "T",
    tenant: "t3",
    seq: 0,
    objects: objects(300, 20),
  },
  { type: "index-stats", collection: "T", tenant: "t3", counts: { "isNull(text)": 3 } },
];

async function withBackup(fn: (dir: string) => Promise<void>, messages = SAMPLE) {
  const dir = await Deno.makeTempDir({ prefix: "weft-reader-" });
  try {
    await writeBackup(dir, messages, 1000);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function manifestOf(dir: string) {
  return await readManifest(dir);
}

/** Flips one byte in the middle of `path`, keeping its size. */
async function damage(path: string) {
  const bytes = await Deno.readFile(path);
  const at = bytes.indexOf("o".charCodeAt(0), bytes.byteLength >> 1);
  bytes[at] = "0".charCodeAt(0);
  await Deno.writeFile(path, bytes);
}

function objectsOf(received: Message[]) {
  return received.flatMap((m) => m.type === "objects" ? m.objects : []);
}

Deno.test("file-reader gives back what file-writer wrote, each partition framed with its index-stats before its end", async () => {
  await withBackup(async (dir) => {
    const { received, error } = await readBackup(dir, { batchSize: 7 });
    assert.equal(error, undefined);
    const sent = SAMPLE.filter((m) => m.type === "objects").flatMap((m) => m.objects);
    assert.deepEqual(objectsOf(received), sent);
    assert.ok(received.every((m) => m.type !== "objects" || m.objects.length <= 7));
    const kinds = received.map((m) =>
      m.type === "objects"
        ? "objects"
        : `${m.type}:${
          "collection" in m ? partitionKey(m.collection, "tenant" in m ? m.tenant : undefined) : ""
        }`
    ).filter((k, i, all) => k !== "objects" || all[i - 1] !== "objects");
    assert.deepEqual(kinds, [
      "source-info:",
      "collection:A",
      "partition-start:A",
      "objects",
      "index-stats:A",
      "partition-end:A",
      "collection:T",
      "partition-start:T/t1",
      "objects",
      "index-stats:T/t1",
      "partition-end:T/t1",
      "partition-start:T/t2",
      "objects",
      "partition-end:T/t2",
      "partition-start:T/t3",
      "objects",
      "index-stats:T/t3",
      "partition-end:T/t3",
    ]);
    const stats = received.filter((m) => m.type === "index-stats");
    assert.deepEqual(stats, [
      { type: "index-stats", collection: "A", counts: { "isNull(text)": 0, "len(text)>0": 30 } },
      { type: "index-stats", collection: "T", tenant: "t1", counts: { "isNull(text)": 1 } },
      { type: "index-stats", collection: "T", tenant: "t3", counts: { "isNull(text)": 3 } },
    ]);
  });
});

Deno.test("file-reader checks every data file before passing anything on: a damaged last file restores nothing", async () => {
  await withBackup(async (dir) => {
    const manifest = await manifestOf(dir);
    const last = manifest.files.at(-1)!;
    assert.equal(last.tenant, "t3");
    assert.ok(manifest.files.length > 4, "the backup spans several files");
    await damage(join(dir, last.path));
    const { received, error } = await readBackup(dir);
    assert.match(
      error ?? "",
      new RegExp(`Cannot read backup file ${last.path}: checksum mismatch`),
    );
    assert.ok(!error?.includes("\n"), "one line");
    assert.deepEqual(received, []);
  });
});

Deno.test("file-reader reports a missing data file before passing anything on", async () => {
  await withBackup(async (dir) => {
    const last = (await manifestOf(dir)).files.at(-1)!;
    await Deno.remove(join(dir, last.path));
    const { received, error } = await readBackup(dir);
    assert.match(
      error ?? "",
      new RegExp(`Cannot read backup file ${last.path}: the file is missing`),
    );
    assert.deepEqual(received, []);
  });
});

Deno.test("file-reader checkFirst: false checks each file as it reads it", async () => {
  await withBackup(async (dir) => {
    const last = (await manifestOf(dir)).files.at(-1)!;
    await damage(join(dir, last.path));
    const { received, error } = await readBackup(dir, { checkFirst: false });
    assert.match(
      error ?? "",
      new RegExp(`Cannot read backup file ${last.path}: checksum mismatch`),
    );
    assert.ok(objectsOf(received).length >= 60, "files before the damaged one were passed on");
  });
});

Deno.test("file-reader still catches a data file changed after the first check", async () => {
  await withBackup(async (dir) => {
    const last = (await manifestOf(dir)).files.at(-1)!;
    const { received, error } = await readBackup(dir, {}, async (message) => {
      if (message.type === "source-info") await damage(join(dir, last.path));
    });
    assert.match(
      error ?? "",
      new RegExp(`Cannot read backup file ${last.path}: checksum mismatch`),
    );
    assert.ok(objectsOf(received).length > 0);
  });
});

Deno.test("file-reader streams lines longer than its read buffer and many short ones", async () => {
  const big = (i: number) => (i % 3 === 0 ? "ü".repeat(1_300_000 + i) : `short ${i}`);
  const messages: Message[] = [
    { type: "source-info", system: "memory" },
    { type: "collection", collection: "Big", definition: { class: "Big" } },
    { type: "objects", partition: "Big", collection: "Big", seq: 0, objects: objects(0, 7, big) },
    { type: "objects", partition: "Big", collection: "Big", seq: 1, objects: objects(7, 5000) },
  ];
  const dir = await Deno.makeTempDir({ prefix: "weft-reader-" });
  try {
    await writeBackup(dir, messages);
    const { received, error } = await readBackup(dir, { batchSize: 500 });
    assert.equal(error, undefined);
    const got = objectsOf(received);
    assert.equal(got.length, 5007);
    assert.deepEqual(got, [...objects(0, 7, big), ...objects(7, 5000)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readManifest() reports a manifest of the wrong shape in one line naming the file", async () => {
  await withBackup(async (dir) => {
    const file = join(dir, "manifest.json");
    const good = JSON.parse(await Deno.readTextFile(file));
    const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
      ["no collections", (m) => delete m.collections, /collections: missing/],
      ["collections not a list", (m) => m.collections = {}, /collections: .*array/],
      ["no files", (m) => delete m.files, /files: missing/],
      [
        "a file without sha256",
        (m) => delete (m.files as Record<string, unknown>[])[2]!.sha256,
        /files\[2\]\.sha256: missing/,
      ],
      [
        "a file with a negative size",
        (m) => (m.files as Record<string, unknown>[])[0]!.bytes = -1,
        /files\[0\]\.bytes: /,
      ],
      [
        "a path outside the backup",
        (m) => (m.files as Record<string, unknown>[])[1]!.path = "../../etc/passwd",
        /files\[1\]\.path: .*inside the backup/,
      ],
      ["no formatVersion", (m) => delete m.formatVersion, /formatVersion: missing/],
      ["not a weft manifest", (m) => m.format = "other", /not a weft backup manifest/],
      ["not an object", (m) => Object.keys(m).forEach((k) => delete m[k]), /not a weft backup/],
    ];
    for (const [what, change, expected] of cases) {
      const manifest = structuredClone(good);
      change(manifest);
      await Deno.writeTextFile(file, JSON.stringify(manifest));
      const error = await readManifest(dir).then(() => undefined, (e) => e);
      assert.ok(error instanceof IntegrityError, `${what}: ${error}`);
      assert.ok(error.message.startsWith(`Cannot read backup: ${file}`), error.message);
      assert.match(error.message, expected, what);
      assert.ok(!error.message.includes("\n"), `${what}: one line`);
    }
  });
});
