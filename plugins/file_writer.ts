/**
 * `file-writer`: writes a backup directory — data files of bounded size,
 * each with its sha256, then `manifest.json` last.
 *
 * Each partition (a collection, or one tenant of it) has its own data files,
 * so partitions may arrive interleaved; a partition's file is closed at its
 * `partition-end` (or when the stream ends).
 *
 * Everything is written into a staging folder `.weft-partial-<random>` inside
 * the backup directory, synced, and moved into place only once the manifest
 * is complete; a previous backup there is moved aside at that moment and then
 * removed. A failed run removes the staging folder and every directory it
 * created, so the directory is left as it was found.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { messageOf } from "../src/errors.ts";
import {
  type IndexStatsMessage,
  type Message,
  type ObjectsMessage,
  partitionKey,
  type SourceInfoMessage,
} from "../src/messages.ts";
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
  type ManifestTenant,
  SUMMARY_FILE,
} from "./_shared/backup_format.ts";

/** Options of {@linkcode fileWriter}. */
export const fileWriterConfig = z.strictObject({
  path: z.string().min(1)
    .describe("Backup directory; {timestamp} becomes the UTC start time, e.g. 20261125T054000Z"),
  maxFileBytes: byteSize().default(64 * 1024 * 1024)
    .describe('Size at which a data file is closed and the next begun, e.g. "64MiB"'),
  ifExists: z.enum(["fail", "overwrite"]).default("fail")
    .describe(
      "When the directory already holds a backup: fail, or replace it once the new one is complete",
    ),
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
    const target = await prepareTarget(root, config.ifExists);
    ctx.setOutput(root);
    const writer = new BackupWriter(target, config, ctx);
    // The sink is not aborted when its own write fails: clean up when the run ends.
    ctx.onClose(() => writer.discard());
    ctx.onComplete((summary) =>
      Deno.writeTextFile(join(root, SUMMARY_FILE), JSON.stringify(summary, null, 2) + "\n")
    );
    return new WritableStream<Message>({
      write: (message) => writer.write(message),
      close: () => writer.finish(),
      abort: () => writer.discard(),
    });
  },
});

/** Replaces `{timestamp}` in `path`. */
export function expandPath(path: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return path.replaceAll("{timestamp}", stamp);
}

/** What a previous backup in the directory consists of; moved aside as a whole when replaced. */
const BACKUP_ENTRIES = [MANIFEST_FILE, `${MANIFEST_FILE}.tmp`, SUMMARY_FILE, DATA_DIR];

/** Where a run writes. */
interface Target {
  root: string;
  /** Folder inside `root` that receives everything until the backup is complete. */
  staging: string;
  /** Directories this run created (deepest first), removed again if it fails. */
  created: string[];
}

async function prepareTarget(root: string, ifExists: "fail" | "overwrite"): Promise<Target> {
  const entries = await listDir(root);
  const created = entries ? [] : await makeDirs(root);
  // Leftovers of a killed run are weft's own; anything else is someone's data.
  const others = (entries ?? []).filter((name) => !/^\.weft-(partial|old)-/.test(name));
  if (others.length && !(await isWeftBackup(root, others))) {
    throw new Error(
      `Cannot write backup: ${root} is not empty and holds no weft backup (${
        others.slice(0, 3).join(", ")
      }${others.length > 3 ? ", …" : ""}); choose an empty or new directory`,
    );
  }
  if (others.length && ifExists === "fail") {
    throw new Error(
      `Cannot write backup: ${root} already holds a backup (set ifExists: overwrite to replace it)`,
    );
  }
  const staging = join(root, `.weft-partial-${crypto.randomUUID().slice(0, 8)}`);
  try {
    await Deno.mkdir(staging);
  } catch (error) {
    await removeEmpty(created);
    throw new Error(`Cannot write backup: cannot create ${staging} (${messageOf(error)})`);
  }
  return { root, staging, created };
}

/**
 * Whether `root` holds a weft backup (a weft manifest): only then may
 * `ifExists: overwrite` replace what is there (its manifest, summary and
 * `data/`; other files stay).
 */
async function isWeftBackup(root: string, names: string[]): Promise<boolean> {
  if (!names.includes(MANIFEST_FILE)) return false;
  try {
    const manifest = JSON.parse(await Deno.readTextFile(join(root, MANIFEST_FILE)));
    return manifest?.format === "weft-backup";
  } catch {
    return false;
  }
}

/** The names in `dir`, or `undefined` when it does not exist. */
async function listDir(dir: string): Promise<string[] | undefined> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof Deno.errors.NotADirectory) {
      throw new Error(`Cannot write backup: ${dir} is a file, not a directory`);
    }
    throw new Error(`Cannot write backup: cannot read ${dir} (${messageOf(error)})`);
  }
  return names;
}

/** Creates `dir` and its missing parents; returns the ones created, deepest first. */
async function makeDirs(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let d = dir; d !== dirname(d) && !(await exists(d)); d = dirname(d)) missing.push(d);
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new Error(`Cannot write backup: cannot create ${dir} (${messageOf(error)})`);
  }
  return missing;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Removes `dirs` in order, each only if empty; stops at the first that is not. */
async function removeEmpty(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    try {
      await Deno.remove(dir);
    } catch {
      return;
    }
  }
}

/** Makes the entries of `dir` durable (file creations, renames). */
async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    using handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch (error) {
    throw new Error(`Cannot sync ${dir}: ${messageOf(error)}`);
  }
}

/** Writes all of `data`; a short write is continued, a failed one names the file. */
async function writeAll(file: Deno.FsFile, data: Uint8Array, path: string): Promise<void> {
  try {
    let written = 0;
    while (written < data.byteLength) {
      const n = await file.write(data.subarray(written));
      if (n <= 0) throw new Error("the file system accepted no bytes");
      written += n;
    }
  } catch (error) {
    throw new Error(`Cannot write ${path}: ${messageOf(error)}`);
  }
}

interface OpenFile {
  file: Deno.FsFile;
  /** Absolute path, for errors. */
  path: string;
  hash: Hash;
  entry: ManifestFile;
}

/** What the writer keeps per partition (a collection, or one tenant of it). */
interface Partition {
  key: string;
  collection: ManifestCollection;
  tenant: string | undefined;
  /** The tenant's record in `collection`, which counts its objects. */
  tenantRecord: ManifestTenant | undefined;
  /** Data files begun so far, the open one included. */
  parts: number;
  /** Closed data files, in order. */
  files: ManifestFile[];
  open: OpenFile | undefined;
}

/**
 * Most data files open at once. A source that frames its partitions keeps
 * about `runtime.concurrency` open; one that never ends them (or interleaves
 * thousands) gets the least recently written file closed, and that partition
 * continues in its next part.
 */
const MAX_OPEN_FILES = 64;

const encoder = new TextEncoder();
/** Bytes of lines gathered before a write. */
const STAGE_BYTES = 1 << 20;

class BackupWriter {
  #source: Omit<SourceInfoMessage, "type"> = { system: "unknown" };
  #collections = new Map<string, ManifestCollection>();
  /** By partition key, in the order first seen. */
  #partitions = new Map<string, Partition>();
  /** Partitions with an open data file, least recently written first. */
  #open = new Map<string, Partition>();
  #dirs = new Set<string>();
  #createdAt = new Date().toISOString();
  #state: "writing" | "done" | "discarded" | "kept" = "writing";
  /** Where lines are encoded before they are written. */
  readonly #stage = new Uint8Array(STAGE_BYTES);

  constructor(
    readonly target: Target,
    readonly config: FileWriterConfig,
    readonly ctx: PluginContext,
  ) {}

  async write(message: Message): Promise<void> {
    if (message.type === "source-info") {
      // The definitions are recorded per collection, as they arrive.
      const { type: _, definitions: __, ...source } = message;
      this.#source = source;
    } else if (message.type === "collection") {
      this.#collections.set(message.collection, {
        name: message.collection,
        definition: message.definition,
        objects: 0,
        ...(message.schemaOnly ? { schemaOnly: true } : {}),
        ...(message.tenants ? { tenants: message.tenants.map((t) => ({ ...t, objects: 0 })) } : {}),
        ...(message.aliases?.length ? { aliases: message.aliases } : {}),
      });
    } else if (message.type === "partition-start") {
      this.#partitionOf(message, "write partition");
    } else if (message.type === "objects") {
      await this.#writeObjects(message);
    } else if (message.type === "partition-end") {
      await this.#close(this.#partitionOf(message, "end partition"));
    } else if (message.type === "index-stats") {
      this.#recordStats(message);
    }
  }

  #recordStats(message: IndexStatsMessage): void {
    const collection = this.#collections.get(message.collection);
    if (!collection) {
      throw new Error(
        `Cannot record index stats of "${message.collection}": its definition did not come first`,
      );
    }
    if (message.tenant === undefined) {
      collection.indexStats = { ...message.counts };
      return;
    }
    const tenant = collection.tenants?.find((t) => t.name === message.tenant);
    if (tenant) tenant.indexStats = { ...message.counts };
    else {
      this.ctx.log.warn("index stats of a tenant the source did not announce: not recorded", {
        collection: message.collection,
        tenant: message.tenant,
      });
    }
  }

  /** The state of the partition `message` belongs to; its collection must have been announced. */
  #partitionOf(
    message: { partition?: string; collection: string; tenant?: string },
    action: string,
  ): Partition {
    const collection = this.#collections.get(message.collection);
    if (!collection) {
      throw new Error(
        `Cannot ${action} of "${message.collection}": its definition did not come first`,
      );
    }
    // A source that predates partitions sends no key: derive it.
    const key = message.partition ?? partitionKey(message.collection, message.tenant);
    let partition = this.#partitions.get(key);
    if (!partition) {
      partition = {
        key,
        collection,
        tenant: message.tenant,
        tenantRecord: undefined,
        parts: 0,
        files: [],
        open: undefined,
      };
      this.#partitions.set(key, partition);
    } else if (partition.collection === collection) return partition;
    // New, or its collection was announced again: count into the current record.
    partition.collection = collection;
    partition.tenantRecord = message.tenant === undefined
      ? undefined
      : collection.tenants?.find((t) => t.name === message.tenant);
    return partition;
  }

  async #writeObjects(message: ObjectsMessage): Promise<void> {
    const partition = this.#partitionOf(message, "write objects");
    let file = await this.#fileOf(partition);
    // Lines are encoded into one reused buffer: no bytes made per object, none left for the GC.
    let used = 0;
    let pending = 0;
    for (const object of message.objects) {
      const line = encodeObject(object) + "\n";
      // UTF-8 takes at most 3 bytes per UTF-16 code unit.
      const long = line.length * 3 > STAGE_BYTES;
      if (long || used + line.length * 3 > STAGE_BYTES) {
        await this.#append(file, this.#stage.subarray(0, used));
        used = 0;
      }
      // A line longer than the buffer (a large blob) is encoded on its own, at its size.
      const bytes = long ? encoder.encode(line) : undefined;
      const n = bytes
        ? bytes.byteLength
        : encoder.encodeInto(line, this.#stage.subarray(used)).written;
      if (file.entry.objects > 0 && file.entry.bytes + n > this.config.maxFileBytes) {
        await this.#append(file, this.#stage.subarray(0, used));
        this.#stage.copyWithin(0, used, used + (bytes ? 0 : n));
        used = 0;
        await this.#close(partition);
        file = await this.#fileOf(partition);
      }
      if (bytes) await this.#append(file, bytes);
      else used += n;
      file.entry.bytes += n;
      file.entry.objects++;
      pending += n;
    }
    await this.#append(file, this.#stage.subarray(0, used));
    partition.collection.objects += message.objects.length;
    if (partition.tenantRecord) partition.tenantRecord.objects += message.objects.length;
    this.ctx.metrics.add("bytesWritten", pending);
  }

  async #append(file: OpenFile, data: Uint8Array): Promise<void> {
    if (data.byteLength === 0) return;
    file.hash.update(data);
    await writeAll(file.file, data, file.path);
  }

  /** The open data file of `partition`, or its next part, begun now. */
  async #fileOf(partition: Partition): Promise<OpenFile> {
    // Re-inserted, so that the map stays in order of last use.
    this.#open.delete(partition.key);
    if (partition.open) {
      this.#open.set(partition.key, partition);
      return partition.open;
    }
    const [oldest] = this.#open.values();
    if (oldest && this.#open.size >= MAX_OPEN_FILES) await this.#close(oldest);
    const { collection: { name: collection }, tenant } = partition;
    const part = ++partition.parts;
    const segments = [DATA_DIR, collection, ...(tenant === undefined ? [] : [tenant])];
    const relative = `${segments.join("/")}/part-${String(part).padStart(5, "0")}.jsonl`;
    const path = join(this.target.staging, relative);
    let file: Deno.FsFile;
    try {
      await Deno.mkdir(dirname(path), { recursive: true });
      file = await Deno.open(path, { write: true, createNew: true });
    } catch (error) {
      throw new Error(`Cannot write ${path}: ${messageOf(error)}`);
    }
    for (let i = 0; i <= segments.length; i++) {
      this.#dirs.add(join(this.target.staging, ...segments.slice(0, i)));
    }
    partition.open = {
      file,
      path,
      hash: createHash("sha256"),
      entry: {
        path: relative,
        collection,
        ...(tenant === undefined ? {} : { tenant }),
        objects: 0,
        bytes: 0,
        sha256: "",
      },
    };
    this.#open.set(partition.key, partition);
    return partition.open;
  }

  /** Flushes and closes the open data file of `partition`, if any; its sha256 is then final. */
  async #close(partition: Partition): Promise<void> {
    const open = partition.open;
    if (!open) return;
    partition.open = undefined;
    this.#open.delete(partition.key);
    try {
      await open.file.sync();
    } catch (error) {
      throw new Error(`Cannot write ${open.path}: ${messageOf(error)}`);
    } finally {
      open.file.close();
    }
    open.entry.sha256 = open.hash.digest("hex");
    partition.files.push(open.entry);
  }

  async finish(): Promise<void> {
    try {
      // Partitions the source did not end are complete now.
      for (const partition of [...this.#open.values()]) await this.#close(partition);
      const manifest = this.#manifest();
      // Data files and their folders are durable before a manifest names them.
      for (const dir of this.#dirs) await syncDir(dir);
      const path = join(this.target.staging, MANIFEST_FILE);
      const bytes = encoder.encode(JSON.stringify(manifest, null, 2) + "\n");
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { write: true, createNew: true });
      } catch (error) {
        throw new Error(`Cannot write ${path}: ${messageOf(error)}`);
      }
      try {
        await writeAll(file, bytes, path);
        await file.sync().catch((error) => {
          throw new Error(`Cannot write ${path}: ${messageOf(error)}`);
        });
      } finally {
        file.close();
      }
      await syncDir(this.target.staging);
      await this.#publish();
      this.#state = "done";
      this.ctx.log.info("backup complete", {
        path: this.target.root,
        collections: manifest.collections.length,
        objects: manifest.totals.objects,
        files: manifest.totals.files,
      });
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  #manifest(): BackupManifest {
    const collections = [...this.#collections.values()];
    // In the order of collections, then of their tenants as announced (partitions
    // may arrive in any order; tenants not announced last), then of parts.
    const partitions = Map.groupBy(this.#partitions.values(), (p) => p.collection.name);
    const files = collections.flatMap((c) => {
      const rank = new Map(c.tenants?.map((t, i) => [t.name, i]));
      const at = (p: Partition) =>
        (p.tenant === undefined ? undefined : rank.get(p.tenant)) ?? rank.size;
      return (partitions.get(c.name) ?? []).sort((a, b) => at(a) - at(b)).flatMap((p) => p.files);
    });
    return {
      format: "weft-backup",
      formatVersion: FORMAT_VERSION,
      weftVersion: VERSION,
      pipeline: this.ctx.pipeline,
      createdAt: this.#createdAt,
      completedAt: new Date().toISOString(),
      source: this.#source,
      encoding: { records: "jsonl", vectors: "float32-le-base64", compression: "none" },
      collections,
      files,
      totals: {
        objects: collections.reduce((n, c) => n + c.objects, 0),
        bytes: files.reduce((n, f) => n + f.bytes, 0),
        files: files.length,
      },
    };
  }

  /**
   * Moves the complete backup from staging into the directory: a previous
   * backup's entries go aside first (its manifest first, so the directory never
   * shows an old manifest over new data), then the new data, the new manifest
   * last. A failed step undoes the moves before it.
   */
  async #publish(): Promise<void> {
    const { root, staging } = this.target;
    const previous: string[] = [];
    for (const name of BACKUP_ENTRIES) if (await exists(join(root, name))) previous.push(name);
    if (previous.length && this.config.ifExists === "fail") {
      throw new Error(`Cannot write backup: ${root} gained a backup while this one was written`);
    }
    const aside = join(root, `.weft-old-${crypto.randomUUID().slice(0, 8)}`);
    const moves: [string, string][] = [];
    const move = async (from: string, to: string) => {
      await Deno.rename(from, to);
      moves.push([from, to]);
    };
    try {
      if (previous.length) {
        await Deno.mkdir(aside);
        for (const name of previous) await move(join(root, name), join(aside, name));
        await syncDir(aside);
      }
      if (await exists(join(staging, DATA_DIR))) {
        await move(join(staging, DATA_DIR), join(root, DATA_DIR));
      }
      await syncDir(root);
      await move(join(staging, MANIFEST_FILE), join(root, MANIFEST_FILE));
      await syncDir(root);
    } catch (error) {
      await this.#undo(moves, error, aside);
      throw new Error(`Cannot move the backup into ${root}: ${messageOf(error)}`);
    }
    await Deno.remove(staging);
    if (previous.length) {
      this.ctx.log.warn("replaced the previous backup in the output directory", { path: root });
      await Deno.remove(aside, { recursive: true }).catch((error) =>
        this.ctx.log.warn(`cannot remove the previous backup: ${messageOf(error)}`, { path: aside })
      );
    }
    await syncDir(root);
  }

  async #undo(moves: [string, string][], cause: unknown, aside: string): Promise<void> {
    try {
      for (const [from, to] of moves.reverse()) await Deno.rename(to, from);
      await Deno.remove(aside).catch(() => {});
    } catch (error) {
      this.#state = "kept";
      throw new Error(
        `Cannot move the backup into ${this.target.root}: ${messageOf(cause)}; nor move back (${
          messageOf(error)
        }): the previous backup is in ${aside}, the new one in ${this.target.staging}`,
      );
    }
  }

  /** Closes the open files and removes what the run wrote; the target is left as it was found. */
  async discard(): Promise<void> {
    if (this.#state !== "writing") return;
    this.#state = "discarded";
    for (const partition of this.#open.values()) {
      partition.open?.file.close();
      partition.open = undefined;
    }
    this.#open.clear();
    try {
      await Deno.remove(this.target.staging, { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        this.ctx.log.warn(`cannot remove the incomplete backup: ${messageOf(error)}`, {
          path: this.target.staging,
        });
      }
    }
    await removeEmpty(this.target.created);
    const kept = await exists(join(this.target.root, MANIFEST_FILE));
    this.ctx.log.warn(
      `backup incomplete: no manifest written; ${
        kept ? "the previous backup there is unchanged" : "nothing was left behind"
      }`,
      { path: this.target.root },
    );
  }
}
