/**
 * Reading a 20 MB data file of backup lines (about 4,400 articles of 768
 * dims): `readLines` (`plugins/_shared/lines.ts`, text split), the byte-level
 * split `file-reader` does on 1 MiB chunks, with and without its sha256 and
 * `decodeObject`, and the real `file-reader` plugin end to end (check pass,
 * then read, hash and decode) into a sink that drops everything.
 *
 *   deno bench -A bench/micro/line_reader.bench.ts
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { decodeObject, encodeObject } from "../../plugins/_shared/backup_format.ts";
import { readLines } from "../../plugins/_shared/lines.ts";
import { fileReader, fileReaderConfig, readManifest } from "../../plugins/file_reader.ts";
import { fileWriter, fileWriterConfig } from "../../plugins/file_writer.ts";
import { createLogger } from "../../src/logger.ts";
import type { Message, WeftObject } from "../../src/messages.ts";
import { definePlugin } from "../../src/plugin.ts";
import { type ResolvedStep, runtimeSchema } from "../../src/pipeline.ts";
import { runPipeline } from "../../src/runner.ts";
import { article } from "./_fixtures.ts";

const TARGET_BYTES = 20 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

const scratch = Deno.makeTempDirSync({ prefix: "weft-micro-lines-" });
addEventListener("unload", () => Deno.removeSync(scratch, { recursive: true }));

// Objects differ only in id and vector seed beyond the first 64: cheap to make, same shape.
const templates = Array.from({ length: 64 }, (_, i) => article(i));
const perLine = encodeObject(templates[0]!).length + 1;
const count = Math.ceil(TARGET_BYTES / perLine);
const objects: WeftObject[] = Array.from({ length: count }, (_, i) => ({
  ...templates[i % templates.length]!,
  id: `7b3c1f2a-4d5e-4f60-8a7b-${i.toString(16).padStart(12, "0")}`,
}));

// The data file, written by the real file-writer (a manifest with its sha256 beside it).
const silent = createLogger({ level: "silent" });
const anyConfig = z.record(z.string(), z.unknown());
const runtime = runtimeSchema.parse({ progressInterval: 0 });
const run = (source: ResolvedStep, sink: ResolvedStep) =>
  runPipeline({ name: "micro", source, transforms: [], sink, runtime }, { log: silent });
const backup = join(scratch, "backup");
await run(
  {
    id: "source",
    plugin: definePlugin({
      name: "list-source",
      description: "Sends the articles.",
      kind: "source",
      config: anyConfig,
      create: () =>
        ReadableStream.from<Message>([
          { type: "source-info", system: "memory" },
          { type: "collection", collection: "Articles", definition: { class: "Articles" } },
          { type: "objects", partition: "Articles", collection: "Articles", seq: 0, objects },
        ]),
    }),
    config: {},
  },
  {
    id: "sink",
    plugin: fileWriter,
    config: fileWriterConfig.parse({ path: backup, maxFileBytes: 1 << 30 }),
  },
);
const manifest = await readManifest(backup);
if (manifest.files.length !== 1) throw new Error(`expected one data file, got ${manifest.files}`);
const path = join(backup, manifest.files[0]!.path);
const { size } = await Deno.stat(path);
const label = `${(size / 1e6).toFixed(1)} MB, ${count} lines`;

/** The byte-level split of file-reader's `readObjects`: one callback per line. */
async function splitBytes(take: (line: Uint8Array) => void, hash?: ReturnType<typeof createHash>) {
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(CHUNK_BYTES);
  let carried: Uint8Array[] = [];
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    const chunk = buffer.subarray(0, n);
    hash?.update(chunk);
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end);
      take(carried.length ? join2([...carried, piece]) : piece);
      carried = [];
      start = end + 1;
    }
    if (start < chunk.byteLength) carried.push(chunk.slice(start));
  }
  if (carried.length) take(join2(carried));
}

function join2(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function expect(lines: number): void {
  if (lines !== count) throw new Error(`read ${lines} lines, wrote ${count}`);
}

const group = `read ${label}`;
const opts = { group, n: 10, warmup: 2 } as const;

Deno.bench({
  ...opts,
  name: "readLines (TextDecoderStream + split)",
  baseline: true,
  async fn() {
    let lines = 0;
    for await (const _ of readLines(path)) lines++;
    expect(lines);
  },
});
Deno.bench({
  ...opts,
  name: "file-reader split: 1 MiB chunks, indexOf, TextDecoder per line",
  async fn() {
    const decoder = new TextDecoder();
    let lines = 0;
    await splitBytes((line) => void (lines += decoder.decode(line).length > 0 ? 1 : 0));
    expect(lines);
  },
});
Deno.bench({
  ...opts,
  name: "file-reader split + sha256",
  async fn() {
    const decoder = new TextDecoder();
    const hash = createHash("sha256");
    let lines = 0;
    await splitBytes((line) => void (lines += decoder.decode(line).length > 0 ? 1 : 0), hash);
    hash.digest("hex");
    expect(lines);
  },
});
Deno.bench({
  ...opts,
  name: "readLines + decodeObject",
  async fn() {
    let lines = 0;
    for await (const line of readLines(path)) lines += decodeObject(line).id ? 1 : 0;
    expect(lines);
  },
});
Deno.bench({
  ...opts,
  name: "file-reader split + sha256 + decodeObject",
  async fn() {
    const decoder = new TextDecoder();
    const hash = createHash("sha256");
    let lines = 0;
    await splitBytes((line) => void (lines += decodeObject(decoder.decode(line)).id ? 1 : 0), hash);
    hash.digest("hex");
    expect(lines);
  },
});

const dropSink = (counted: { objects: number }) =>
  definePlugin({
    name: "drop-sink",
    description: "Counts objects and drops them.",
    kind: "sink",
    config: anyConfig,
    create: () =>
      new WritableStream<Message>({
        write(message) {
          if (message.type === "objects") counted.objects += message.objects.length;
        },
      }),
  });
Deno.bench({
  ...opts,
  name: "file-reader plugin end to end (check pass + read + decode)",
  async fn() {
    const counted = { objects: 0 };
    await run(
      { id: "source", plugin: fileReader, config: fileReaderConfig.parse({ path: backup }) },
      { id: "sink", plugin: dropSink(counted), config: {} },
    );
    expect(counted.objects);
  },
});
