/**
 * `file-writer`: writes a backup directory — data files of bounded size,
 * each with its sha256, then `manifest.json` last and atomically, so a
 * directory without a manifest is never taken for a complete backup.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { join, resolve } from "node:path";
import { z } from "zod";
import type { Message, SourceInfoMessage } from "../src/messages.ts";
import { definePlugin, type PluginContext } from "../src/plugin.ts";
import { byteSize } from "../src/units.ts";
import { VERSION } from "../src/version.ts";
import {
  type BackupManifest,
  DATA_DIR,
  encodeObject,
  FORMAT_VERSION,
  MANIFEST_FILE,
  type ManifestCollection,
  type ManifestFile,
  SUMMARY_FILE,
} from "./_shared/backup_format.ts";

/** Options of {@linkcode fileWriter}. */
export const fileWriterConfig = z.strictObject({
  path: z.string().min(1)
    .describe("Backup directory; {timestamp} becomes the UTC start time, e.g. 20261125T054000Z"),
  maxFileBytes: byteSize().default(64 * 1024 * 1024)
    .describe('Size at which a data file is closed and the next begun, e.g. "64MiB"'),
  ifExists: z.enum(["fail", "overwrite"]).default("fail")
    .describe("When the directory already holds a backup: fail, or replace it"),
});

/** Parsed options of {@linkcode fileWriter}. */
export type FileWriterConfig = z.output<typeof fileWriterConfig>;

/** The `file-writer` sink plugin. */
export const fileWriter = definePlugin({
  name: "file-writer",
  description:
    "Writes a backup directory: JSONL data files with sha256 and a manifest written last.",
  kind: "sink",
  config: fileWriterConfig,
  async create(config, ctx) {
    const root = resolve(ctx.cwd, expandPath(config.path, new Date()));
    await prepareDirectory(root, config.ifExists, ctx);
    ctx.setOutput(root);
    const writer = new BackupWriter(root, config, ctx);
    ctx.onComplete((summary) =>
      Deno.writeTextFile(join(root, SUMMARY_FILE), JSON.stringify(summary, null, 2) + "\n")
    );
    return new WritableStream<Message>({
      write: (message) => writer.write(message),
      close: () => writer.finish(),
      abort: async (reason) => {
        await writer.discard();
        ctx.log.warn("backup incomplete: no manifest written", {
          path: root,
          reason: String(reason),
        });
      },
    });
  },
});

/** Replaces `{timestamp}` in `path`. */
export function expandPath(path: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return path.replaceAll("{timestamp}", stamp);
}

async function prepareDirectory(root: string, ifExists: "fail" | "overwrite", ctx: PluginContext) {
  const entries: string[] = [];
  try {
    for await (const entry of Deno.readDir(root)) entries.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      await Deno.mkdir(root, { recursive: true });
      return;
    }
    if (error instanceof Deno.errors.NotADirectory) {
      throw new Error(`Cannot write backup: ${root} is a file, not a directory`);
    }
    throw error;
  }
  if (entries.length === 0) return;
  const hasManifest = entries.includes(MANIFEST_FILE);
  if (ifExists === "fail") {
    throw new Error(
      hasManifest
        ? `Cannot write backup: ${root} already holds a backup (set ifExists: overwrite to replace it)`
        : `Cannot write backup: ${root} is not empty (set ifExists: overwrite to reuse it)`,
    );
  }
  ctx.log.warn("replacing the backup in the output directory", { path: root });
  // The manifest goes first: a crash midway must not leave an old manifest over new files.
  for (const name of [MANIFEST_FILE, `${MANIFEST_FILE}.tmp`, SUMMARY_FILE, DATA_DIR]) {
    await Deno.remove(join(root, name), { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}

interface OpenFile {
  file: Deno.FsFile;
  hash: Hash;
  entry: ManifestFile;
}

const encoder = new TextEncoder();

class BackupWriter {
  #source: Omit<SourceInfoMessage, "type"> = { system: "unknown" };
  #collections = new Map<string, ManifestCollection>();
  #files: ManifestFile[] = [];
  #parts = new Map<string, number>();
  #open: OpenFile | undefined;
  #createdAt = new Date().toISOString();

  constructor(
    readonly root: string,
    readonly config: FileWriterConfig,
    readonly ctx: PluginContext,
  ) {}

  async write(message: Message): Promise<void> {
    if (message.type === "source-info") {
      // The definitions are recorded per collection, as they arrive.
      const { type: _, definitions: __, ...source } = message;
      this.#source = source;
    } else if (message.type === "collection") {
      await this.#close();
      this.#collections.set(message.collection, {
        name: message.collection,
        definition: message.definition,
        objects: 0,
        ...(message.schemaOnly ? { schemaOnly: true } : {}),
        ...(message.tenants ? { tenants: message.tenants.map((t) => ({ ...t, objects: 0 })) } : {}),
        ...(message.aliases?.length ? { aliases: message.aliases } : {}),
      });
    } else if (message.type === "objects") {
      await this.#writeObjects(message);
    }
  }

  async #writeObjects(message: Extract<Message, { type: "objects" }>): Promise<void> {
    const collection = this.#collections.get(message.collection);
    if (!collection) {
      throw new Error(
        `Cannot write objects of "${message.collection}": its definition did not come first`,
      );
    }
    let chunks: Uint8Array[] = [];
    let file = await this.#fileFor(message.collection, message.tenant);
    let pending = 0;
    for (const object of message.objects) {
      const line = encoder.encode(encodeObject(object) + "\n");
      if (file.entry.objects > 0 && file.entry.bytes + line.byteLength > this.config.maxFileBytes) {
        await this.#append(file, chunks);
        chunks = [];
        await this.#close();
        file = await this.#fileFor(message.collection, message.tenant);
      }
      chunks.push(line);
      file.entry.bytes += line.byteLength;
      file.entry.objects++;
      pending += line.byteLength;
    }
    await this.#append(file, chunks);
    collection.objects += message.objects.length;
    if (message.tenant !== undefined) {
      const tenant = collection.tenants?.find((t) => t.name === message.tenant);
      if (tenant) tenant.objects += message.objects.length;
    }
    this.ctx.metrics.add("bytesWritten", pending);
  }

  async #append(file: OpenFile, chunks: Uint8Array[]): Promise<void> {
    if (chunks.length === 0) return;
    const data = chunks.length === 1 ? chunks[0]! : concat(chunks);
    file.hash.update(data);
    let written = 0;
    while (written < data.byteLength) written += await file.file.write(data.subarray(written));
  }

  async #fileFor(collection: string, tenant: string | undefined): Promise<OpenFile> {
    const open = this.#open;
    if (open && open.entry.collection === collection && open.entry.tenant === tenant) return open;
    await this.#close();
    const key = `${collection}\u0000${tenant ?? ""}`;
    const part = (this.#parts.get(key) ?? 0) + 1;
    this.#parts.set(key, part);
    const dir = [DATA_DIR, collection, ...(tenant === undefined ? [] : [tenant])].join("/");
    const path = `${dir}/part-${String(part).padStart(5, "0")}.jsonl`;
    await Deno.mkdir(join(this.root, dir), { recursive: true });
    const file = await Deno.open(join(this.root, path), {
      write: true,
      create: true,
      truncate: true,
    });
    this.#open = {
      file,
      hash: createHash("sha256"),
      entry: {
        path,
        collection,
        ...(tenant === undefined ? {} : { tenant }),
        objects: 0,
        bytes: 0,
        sha256: "",
      },
    };
    return this.#open;
  }

  async #close(): Promise<void> {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    try {
      await open.file.sync();
    } finally {
      open.file.close();
    }
    open.entry.sha256 = open.hash.digest("hex");
    this.#files.push(open.entry);
  }

  async finish(): Promise<void> {
    await this.#close();
    const collections = [...this.#collections.values()];
    const manifest: BackupManifest = {
      format: "weft-backup",
      formatVersion: FORMAT_VERSION,
      weftVersion: VERSION,
      pipeline: this.ctx.pipeline,
      createdAt: this.#createdAt,
      completedAt: new Date().toISOString(),
      source: this.#source,
      encoding: { records: "jsonl", vectors: "float32-le-base64", compression: "none" },
      collections,
      files: this.#files,
      totals: {
        objects: collections.reduce((n, c) => n + c.objects, 0),
        bytes: this.#files.reduce((n, f) => n + f.bytes, 0),
        files: this.#files.length,
      },
    };
    const tmp = join(this.root, `${MANIFEST_FILE}.tmp`);
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      await file.write(encoder.encode(JSON.stringify(manifest, null, 2) + "\n"));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, join(this.root, MANIFEST_FILE));
    this.ctx.log.info("backup complete", {
      path: this.root,
      collections: collections.length,
      objects: manifest.totals.objects,
      files: manifest.totals.files,
    });
  }

  async discard(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    open?.file.close();
    await Promise.resolve();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
