import assert from "node:assert/strict";
import { snapshot } from "../_files.ts";
import { join } from "node:path";
import { z } from "zod";
import { fileWriter, fileWriterConfig } from "../../plugins/file_writer.ts";
import type { BackupManifest } from "../../plugins/_shared/backup_format.ts";
import { createLogger } from "../../src/logger.ts";
import { type Message, partitionKey, type WeftObject } from "../../src/messages.ts";
import { runtimeSchema } from "../../src/pipeline.ts";
import { definePlugin } from "../../src/plugin.ts";
import { RunError, runPipeline } from "../../src/runner.ts";
import type { RunSummary } from "../../src/summary.ts";

const silent = createLogger({ level: "silent" });

/** A source that sends `messages`, then fails with `failWith` if given. */
function listSource(messages: Message[], failWith?: Error) {
  return definePlugin({
    name: "list-source",
    description: "Sends a fixed list of messages.",
    kind: "source",
    config: z.record(z.string(), z.unknown()),
    create: () =>
      new ReadableStream<Message>({
        start(controller) {
          for (const message of messages) controller.enqueue(message);
          if (failWith) controller.error(failWith);
          else controller.close();
        },
      }),
  });
}

/** Runs `messages` into the real file-writer with `options`. */
function backup(
  messages: Message[],
  options: Record<string, unknown>,
  failWith?: Error,
): Promise<RunSummary> {
  return runPipeline({
    name: "writer-test",
    source: { id: "source", plugin: listSource(messages, failWith), config: {} },
    transforms: [],
    sink: { id: "sink", plugin: fileWriter, config: fileWriterConfig.parse(options) },
    runtime: runtimeSchema.parse({
      retry: { attempts: 1, minDelay: 1, maxDelay: 1, timeout: 10_000 },
      progressInterval: 0,
    }),
  }, { log: silent });
}

function object(i: number, text = ""): WeftObject {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    properties: { i, text },
    vectors: { v: new Float32Array([i, -i, 0.5]) },
  };
}

function collection(name: string, objects: number, tenants?: string[]): Message[] {
  const definition = { class: name, description: "x" };
  if (!tenants) {
    return [
      { type: "collection", collection: name, definition },
      {
        type: "objects",
        partition: name,
        collection: name,
        seq: 0,
        objects: Array.from({ length: objects }, (_, i) => object(i)),
      },
    ];
  }
  return [
    {
      type: "collection",
      collection: name,
      definition,
      tenants: tenants.map((t) => ({ name: t, activityStatus: "HOT" })),
    },
    ...tenants.map((tenant): Message => ({
      type: "objects",
      partition: partitionKey(name, tenant),
      collection: name,
      tenant,
      seq: 0,
      objects: Array.from({ length: objects }, (_, i) => object(i)),
    })),
  ];
}

async function rejected(promise: Promise<unknown>): Promise<RunError> {
  const error = await promise.then(() => undefined, (e) => e);
  assert.ok(error instanceof RunError, `expected the run to fail, got ${error}`);
  return error;
}

const sourceDown = () => new Error("Cannot connect to Weaviate: connection refused");

Deno.test("file-writer ifExists: overwrite keeps the previous backup byte for byte when the run fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-writer-" });
  try {
    await backup([{ type: "source-info", system: "memory" }, ...collection("A", 5, ["t1", "t2"])], {
      path: dir,
    });
    const before = await snapshot(dir);
    assert.ok(before.has("manifest.json"));
    // Unreachable source: nothing read at all.
    await rejected(backup([], { path: dir, ifExists: "overwrite" }, sourceDown()));
    assert.deepEqual(await snapshot(dir), before);
    // A source failing midway, after data files were begun.
    await rejected(
      backup(
        [{ type: "source-info", system: "memory" }, ...collection("B", 50, ["t1", "t2", "t3"])],
        { path: dir, ifExists: "overwrite", maxFileBytes: 200 },
        sourceDown(),
      ),
    );
    assert.deepEqual(await snapshot(dir), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file-writer ifExists: overwrite replaces the previous backup once the new one is complete", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-writer-" });
  try {
    await backup([{ type: "source-info", system: "memory" }, ...collection("A", 5, ["t1", "t2"])], {
      path: dir,
    });
    await Deno.writeTextFile(join(dir, "notes.txt"), "mine");
    await backup([{ type: "source-info", system: "memory" }, ...collection("B", 3)], {
      path: dir,
      ifExists: "overwrite",
    });
    const after = await snapshot(dir);
    assert.deepEqual([...after.keys()].sort(), [
      "data/",
      "data/B/",
      "data/B/part-00001.jsonl",
      "manifest.json",
      "notes.txt",
      "summary.json",
    ]);
    const manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
    assert.deepEqual(manifest.collections.map((c: { name: string }) => c.name), ["B"]);
    assert.equal(manifest.totals.objects, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file-writer leaves no directory it created when the run fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-writer-" });
  try {
    const path = join(dir, "backups/nightly/weaviate-{timestamp}");
    await rejected(backup([], { path }, sourceDown()));
    await rejected(
      backup(
        [{ type: "source-info", system: "memory" }, ...collection("A", 3)],
        { path },
        sourceDown(),
      ),
    );
    assert.deepEqual(await snapshot(dir), new Map());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file-writer leaves a directory made beforehand as it was when the run fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-writer-" });
  try {
    await rejected(
      backup(
        [{ type: "source-info", system: "memory" }, ...collection("A", 3)],
        { path: dir },
        sourceDown(),
      ),
    );
    assert.deepEqual(await snapshot(dir), new Map());
    assert.ok((await Deno.stat(dir)).isDirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file-writer refuses a directory that holds a backup and leaves it untouched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-writer-" });
  try {
    await backup([{ type: "source-info", system: "memory" }, ...collection("A", 2)], { path: dir });
    const before = await snapshot(dir);
    const error = await rejected(backup([], { path: dir }));
    assert.match(error.message, /already holds a backup/);
    assert.deepEqual(await snapshot(dir), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file-writer with ifExists: overwrite never touches a directory that holds no backup", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-writer-" });
  try {
    await Deno.mkdir(join(dir, "data"));
    await Deno.writeTextFile(join(dir, "data", "mine.csv"), "a,b\n");
    await Deno.writeTextFile(join(dir, "notes.txt"), "mine");
    const before = await snapshot(dir);
    const error = await rejected(
      backup([{ type: "source-info", system: "memory" }, ...collection("A", 2)], {
        path: dir,
        ifExists: "overwrite",
      }),
    );
    assert.match(error.message, /is not empty and holds no weft backup \(data, notes.txt\)/);
    assert.deepEqual(await snapshot(dir), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file-writer records index-stats per collection and tenant and passes over unknown messages", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-writer-" });
  try {
    await backup([
      { type: "source-info", system: "memory" },
      ...collection("A", 2),
      { type: "index-stats", collection: "A", counts: { "isNull(text)": 0, "len(text)=0": 2 } },
      { type: "something-new", collection: "A" } as unknown as Message,
      ...collection("T", 1, ["t1", "t2"]),
      { type: "index-stats", collection: "T", tenant: "t2", counts: { "isNull(text)": 1 } },
    ], { path: dir });
    const manifest = JSON.parse(
      await Deno.readTextFile(join(dir, "manifest.json")),
    ) as BackupManifest;
    const [a, t] = manifest.collections;
    assert.deepEqual(a?.indexStats, { "isNull(text)": 0, "len(text)=0": 2 });
    assert.equal(t?.indexStats, undefined);
    assert.deepEqual(t?.tenants?.map((x) => x.indexStats), [undefined, { "isNull(text)": 1 }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- A nearly full disk -------------------------------------------------------------------------

/** What a child run (this file run with `deno run`) writes into the small disk. */
function workload(kind: string): Message[] {
  if (kind === "manifest") {
    // No data at all, but a manifest of about 1.2 MB: 200 definitions of 6 KB.
    return [
      { type: "source-info", system: "memory" },
      ...Array.from({ length: 200 }, (_, i): Message => ({
        type: "collection",
        collection: `C${i}`,
        definition: { class: `C${i}`, description: "d".repeat(6000) },
        schemaOnly: true,
      })),
    ];
  }
  // One data file of about 1.2 MB.
  return [
    { type: "source-info", system: "memory" },
    { type: "collection", collection: "Big", definition: { class: "Big" } },
    ...Array.from({ length: 30 }, (_, b): Message => ({
      type: "objects",
      partition: "Big",
      collection: "Big",
      seq: b,
      objects: Array.from({ length: 10 }, (_, i) => object(b * 10 + i, "x".repeat(4000))),
    })),
  ];
}

if (import.meta.main) {
  const [dir = "", kind = ""] = Deno.args;
  if (kind === "probe") {
    // The limit must bite, or the tests below could not fail.
    await Deno.writeFile(join(dir, "probe"), new Uint8Array(1024 * 1024));
    Deno.exit(0);
  }
  try {
    await backup(workload(kind), { path: join(dir, "backup") });
    Deno.exit(0);
  } catch (error) {
    console.error(error instanceof RunError ? error.summary.error : String(error));
    Deno.exit(1);
  }
}

/** A directory where at most 512 KiB can be written: a tmpfs, else a file-size limit. */
interface SmallDisk {
  dir: string;
  how: "tmpfs" | "ulimit -f";
  run(args: string[]): Promise<{ code: number; stderr: string }>;
  dispose(): Promise<void>;
}

async function smallDisk(): Promise<SmallDisk> {
  const dir = await Deno.makeTempDir({ prefix: "weft-small-disk-" });
  const wanted = Deno.env.get("WEFT_TEST_SMALL_DISK");
  const mounted = wanted !== "ulimit" &&
    (await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=512k", "tmpfs", dir],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => ({ success: false }))).success;
  const self = new URL(import.meta.url).pathname;
  const deno = [Deno.execPath(), "run", "--allow-all", "--no-code-cache", self];
  // A file-size limit kills with SIGXFSZ unless the signal is ignored; then writes fail with EFBIG.
  const command = mounted
    ? deno
    : ["bash", "-c", `trap '' XFSZ; ulimit -f 512; exec "$@"`, "bash", ...deno];
  return {
    dir,
    how: mounted ? "tmpfs" : "ulimit -f",
    async run(args) {
      const out = await new Deno.Command(command[0]!, {
        args: [...command.slice(1), dir, ...args],
        stdout: "null",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    },
    async dispose() {
      if (mounted) await new Deno.Command("umount", { args: [dir] }).output();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

for (const kind of ["manifest", "data"]) {
  Deno.test(`file-writer fails the run and leaves no backup when the ${kind} does not fit on the disk`, async () => {
    const disk = await smallDisk();
    try {
      const probe = await disk.run(["probe"]);
      assert.notEqual(probe.code, 0, `${disk.how} did not limit writes: ${probe.stderr}`);
      await Deno.remove(join(disk.dir, "probe"));
      const run = await disk.run([kind]);
      assert.equal(run.code, 1, `the run did not fail (${disk.how}): ${run.stderr}`);
      const file = kind === "manifest" ? "manifest.json" : "data/Big/part-00001.jsonl";
      assert.match(
        run.stderr.trim(),
        new RegExp(`^\\[file-writer\\] step "sink": Cannot write \\S*${file}: `),
        run.stderr,
      );
      assert.deepEqual(await snapshot(disk.dir), new Map(), `left behind (${disk.how})`);
    } finally {
      await disk.dispose();
    }
  });
}

Deno.test("file-writer writes lines shorter and longer than its 1 MiB buffer, split by maxFileBytes, byte for byte", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-test-lines-" });
  try {
    // Non-ASCII text (2-, 3- and 4-byte UTF-8) from a few bytes to ~2.4 MB a line.
    const texts = [10, 200_000, 10, 400_000, 5, 600_000, 3].map((n, i) =>
      "é€😀x".repeat(n).slice(0, n * (i % 3 + 1))
    );
    const objects = texts.map((text, i) => object(i, text));
    await backup([
      { type: "collection", collection: "Lines", definition: { class: "Lines" } },
      { type: "objects", partition: "Lines", collection: "Lines", seq: 0, objects },
    ], { path: `${dir}/backup`, maxFileBytes: 1_500_000 });
    const manifest: BackupManifest = JSON.parse(
      await Deno.readTextFile(`${dir}/backup/manifest.json`),
    );
    const read: string[] = [];
    for (const file of manifest.files) {
      const bytes = await Deno.readFile(`${dir}/backup/${file.path}`);
      assert.equal(bytes.byteLength, file.bytes, file.path);
      const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      assert.equal(Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join(""), file.sha256);
      const lines = new TextDecoder().decode(bytes).split("\n").slice(0, -1);
      assert.equal(lines.length, file.objects, file.path);
      // A file over the limit holds one line only.
      if (file.bytes > 1_500_000) assert.equal(file.objects, 1, file.path);
      read.push(...lines.map((l) => JSON.parse(l).properties.text));
    }
    assert.deepEqual(read, texts);
    assert.ok(manifest.files.length >= 4, `${manifest.files.length} files`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
