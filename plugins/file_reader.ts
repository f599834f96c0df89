/**
 * `file-reader`: reads a backup directory written by `file-writer`. By
 * default every selected data file's size, line count and sha256 are checked
 * in a streaming pass before the first message is passed on, so a damaged
 * backup restores nothing; the files are then streamed line by line and
 * checked again as they are read.
 *
 * Each partition (a collection, or one tenant of it) is framed by
 * `partition-start` and `partition-end`; up to `runtime.concurrency`
 * partitions are read at once, each in its own order.
 * @module
 */
import { concat } from "./_shared/bytes.ts";
import { type Definition, referencesFirst } from "./_shared/definition.ts";
import { createHash } from "node:crypto";
import { isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import { IntegrityError, messageOf } from "../src/errors.ts";
import { partitionKey } from "../src/messages.ts";
import type { Message, WeftObject } from "../src/messages.ts";
import { mergePartitions, type PartitionReader } from "../src/partitions.ts";
import { definePlugin, type PluginContext } from "../src/plugin.ts";
import { compilePatterns } from "./_shared/patterns.ts";
import { isDeadLetterFile, readDeadLetter } from "./_shared/dead_letter_source.ts";
import {
  type BackupManifest,
  decodeObject,
  FORMAT_VERSION,
  MANIFEST_FILE,
  type ManifestCollection,
  type ManifestFile,
} from "./_shared/backup_format.ts";

/** Options of {@linkcode fileReader}. */
export const fileReaderConfig = z.strictObject({
  path: z.string().min(1)
    .describe("Backup directory (holding manifest.json), or a dead-letter file to write again"),
  collections: z.array(z.string().min(1)).min(1).default(["*"])
    .describe('Collections to read: names or patterns with "*" (default: all in the backup)'),
  batchSize: z.number().int().min(1).max(10_000).default(500)
    .describe("Objects per batch passed on"),
  checkFirst: z.boolean().default(true).describe(
    "Check every selected data file's size and sha256 before passing anything on, so a damaged " +
      "backup restores nothing (reads the data twice); false: check each file as it is read, " +
      "after objects of a damaged file may already have been passed on",
  ),
});

/** Parsed options of {@linkcode fileReader}. */
export type FileReaderConfig = z.output<typeof fileReaderConfig>;

/** The `file-reader` source plugin. */
export const fileReader = definePlugin({
  name: "file-reader",
  description: "Reads a backup directory, checking every data file's sha256 before use.",
  kind: "source",
  config: fileReaderConfig,
  create(config, ctx) {
    return ReadableStream.from(read(config, ctx));
  },
});

const count = z.number().int().min(0);
const counts = z.record(z.string(), count);
const relativePath = z.string().min(1).refine(
  (p) => !isAbsolute(p) && !p.split(/[\\/]/).includes(".."),
  "must be a relative path inside the backup",
);

/** The shape a manifest must have to be read; unknown fields are allowed (newer writers). */
const manifestShape = z.looseObject({
  formatVersion: z.number().int().min(1),
  source: z.looseObject({ system: z.string() }),
  collections: z.array(z.looseObject({
    name: z.string().min(1),
    definition: z.record(z.string(), z.unknown()),
    objects: count,
    schemaOnly: z.boolean().optional(),
    tenants: z.array(z.looseObject({
      name: z.string().min(1),
      activityStatus: z.string(),
      objects: count,
      indexStats: counts.optional(),
    })).optional(),
    aliases: z.array(z.string()).optional(),
    indexStats: counts.optional(),
  })),
  files: z.array(z.looseObject({
    path: relativePath,
    collection: z.string().min(1),
    tenant: z.string().optional(),
    objects: count,
    bytes: count,
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
  })),
});

/** Reads and checks `manifest.json` of the backup at `root`. */
export async function readManifest(root: string): Promise<BackupManifest> {
  const file = join(root, MANIFEST_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new IntegrityError(
        `Cannot read backup: ${file} not found (not a backup, or an incomplete one)`,
      );
    }
    throw new IntegrityError(`Cannot read backup: ${file}: ${messageOf(error)}`);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new IntegrityError(`Cannot read backup: ${file} is not valid JSON (${error})`);
  }
  const format = (manifest as { format?: unknown } | null)?.format;
  if (format !== "weft-backup") {
    throw new IntegrityError(`Cannot read backup: ${file} is not a weft backup manifest`);
  }
  const version = (manifest as { formatVersion?: unknown }).formatVersion;
  if (typeof version === "number" && version > FORMAT_VERSION) {
    throw new IntegrityError(
      `Cannot read backup: ${file} has format version ${version}; this weft reads up to ${FORMAT_VERSION}`,
    );
  }
  const checked = manifestShape.safeParse(manifest);
  if (!checked.success) {
    const [first, ...rest] = checked.error.issues;
    const more = rest.length ? ` (and ${rest.length} more problems)` : "";
    throw new IntegrityError(`Cannot read backup: ${file}: ${describeIssue(first!)}${more}`);
  }
  return manifest as BackupManifest;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.reduce<string>(
    (out, key) =>
      typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key),
    "",
  );
  const missing = issue.code === "invalid_type" && /received undefined$/.test(issue.message);
  return `${path || "(top level)"}: ${missing ? "missing" : issue.message}`;
}

async function* read(config: FileReaderConfig, ctx: PluginContext): AsyncGenerator<Message> {
  const root = resolve(ctx.cwd, config.path);
  if ((await Deno.stat(root).catch(() => undefined))?.isFile && await isDeadLetterFile(root)) {
    // Objects a restore gave up on, with their definitions: fed back as a small backup.
    yield* readDeadLetter(root, config.batchSize, compilePatterns(config.collections));
    return;
  }
  const manifest = await readManifest(root);
  // Referenced collections first: their objects then exist when references to them are written.
  const wanted = referencesFirst(
    selectCollections(manifest, config.collections),
    (c) => c.definition as Definition,
  );
  const names = new Set(wanted.map((c) => c.name));
  const files = manifest.files.filter((f) => names.has(f.collection));
  if (config.checkFirst) await checkAll(root, files, ctx);
  yield {
    type: "source-info",
    ...manifest.source,
    definitions: wanted.map((c) => c.definition),
  };
  yield* mergePartitions(plan(root, wanted, files, config.batchSize, ctx), ctx.concurrency);
}

/** Each collection's `collection` message, then a reader for each of its partitions. */
function* plan(
  root: string,
  wanted: ManifestCollection[],
  files: ManifestFile[],
  batchSize: number,
  ctx: PluginContext,
): Generator<Message | PartitionReader> {
  for (const collection of wanted) {
    yield {
      type: "collection",
      collection: collection.name,
      definition: collection.definition,
      ...(collection.tenants
        ? {
          tenants: collection.tenants.map(({ name, activityStatus }) => ({ name, activityStatus })),
        }
        : {}),
      ...(collection.schemaOnly ? { schemaOnly: true } : {}),
      ...(collection.aliases?.length ? { aliases: collection.aliases } : {}),
    };
    const partitions = partitionsOf(collection, files);
    for (const partition of partitions) yield () => readPartition(root, partition, batchSize, ctx);
    // Stats of no partition (schema-only, or collection-wide with tenants) follow the readers.
    if (collection.indexStats && !partitions.some((p) => p.tenant === undefined)) {
      yield { type: "index-stats", collection: collection.name, counts: collection.indexStats };
    }
  }
}

/** One partition of the backup: a collection, or one tenant of it. */
interface PartitionPlan {
  collection: string;
  tenant: string | undefined;
  /** Objects the manifest counts for it. */
  total: number;
  /** Its data files, in order. */
  files: ManifestFile[];
  indexStats: Record<string, number> | undefined;
}

/**
 * The partitions of `collection`: each tenant (or the collection), with the
 * manifest's counts, and the data files of each.
 */
function partitionsOf(collection: ManifestCollection, files: ManifestFile[]): PartitionPlan[] {
  const plans = new Map<string, PartitionPlan>();
  const add = (tenant: string | undefined, total: number, indexStats?: Record<string, number>) => {
    const plan = { collection: collection.name, tenant, total, files: [], indexStats };
    plans.set(partitionKey(collection.name, tenant), plan);
    return plan;
  };
  if (!collection.schemaOnly) {
    if (collection.tenants) {
      for (const tenant of collection.tenants) add(tenant.name, tenant.objects, tenant.indexStats);
    } else add(undefined, collection.objects, collection.indexStats);
  }
  for (const file of files) {
    if (file.collection !== collection.name) continue;
    // A file of a partition the manifest does not count: its own files count it.
    const plan = plans.get(partitionKey(collection.name, file.tenant)) ??
      add(file.tenant, files.reduce((n, f) => n + (samePartition(f, file) ? f.objects : 0), 0));
    plan.files.push(file);
  }
  return [...plans.values()];
}

function samePartition(a: ManifestFile, b: ManifestFile): boolean {
  return a.collection === b.collection && a.tenant === b.tenant;
}

/**
 * Reads one partition: `partition-start`, its objects in batches (the cursor
 * is `<data file>:<line>` of the batch's last object), its index stats, and
 * `partition-end`.
 */
async function* readPartition(
  root: string,
  plan: PartitionPlan,
  batchSize: number,
  ctx: PluginContext,
): AsyncGenerator<Message> {
  const { collection, tenant } = plan;
  const where = {
    partition: partitionKey(collection, tenant),
    collection,
    ...(tenant === undefined ? {} : { tenant }),
  };
  yield { type: "partition-start", ...where, total: plan.total };
  let seq = 0;
  let sent = 0;
  let cursor: string | undefined;
  for (const file of plan.files) {
    for await (const { objects, line } of readObjects(root, file, batchSize, ctx)) {
      cursor = `${file.path}:${line}`;
      sent += objects.length;
      yield { type: "objects", ...where, seq: seq++, cursor, objects };
    }
  }
  if (plan.indexStats) {
    yield {
      type: "index-stats",
      collection,
      ...(tenant === undefined ? {} : { tenant }),
      counts: plan.indexStats,
    };
  }
  yield { type: "partition-end", ...where, objects: sent, ...(cursor ? { cursor } : {}) };
}

function selectCollections(manifest: BackupManifest, patterns: string[]): ManifestCollection[] {
  const matches = compilePatterns(patterns);
  const wanted = manifest.collections.filter((c) => matches(c.name));
  for (const pattern of patterns) {
    if (
      !pattern.includes("*") && !wanted.some((c) => c.name.toLowerCase() === pattern.toLowerCase())
    ) {
      throw new Error(
        `Cannot read collection "${pattern}": not in the backup (has: ${
          manifest.collections.map((c) => c.name).join(", ") || "none"
        })`,
      );
    }
  }
  return wanted;
}

const CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

/** The chunks of a data file, read into one reused buffer (valid until the next chunk). */
async function* chunksOf(root: string, entry: ManifestFile): AsyncGenerator<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(root, entry.path), { read: true });
  } catch (error) {
    throw new IntegrityError(
      `Cannot read backup file ${entry.path}: ${
        error instanceof Deno.errors.NotFound ? "the file is missing" : messageOf(error)
      }`,
    );
  }
  try {
    const buffer = new Uint8Array(CHUNK_BYTES);
    for (;;) {
      const n = await file.read(buffer);
      if (n === null) return;
      yield buffer.subarray(0, n);
    }
  } finally {
    file.close();
  }
}

interface Found {
  sha256: string;
  bytes: number;
  lines: number;
}

/** Throws an {@linkcode IntegrityError} naming the file unless `found` is what the manifest says. */
function expectAsListed(entry: ManifestFile, found: Found): void {
  if (found.sha256 !== entry.sha256 || found.bytes !== entry.bytes) {
    throw new IntegrityError(
      `Cannot read backup file ${entry.path}: checksum mismatch (manifest: ${entry.bytes} bytes, sha256 ${entry.sha256}; file: ${found.bytes} bytes, sha256 ${found.sha256}); the file is damaged`,
    );
  }
  if (found.lines !== entry.objects) {
    throw new IntegrityError(
      `Cannot read backup file ${entry.path}: ${found.lines} objects, manifest says ${entry.objects}`,
    );
  }
}

/** The streaming check pass: every file hashed in chunks before anything is passed on. */
async function checkAll(root: string, files: ManifestFile[], ctx: PluginContext): Promise<void> {
  const total = files.reduce((n, f) => n + f.bytes, 0);
  const started = performance.now();
  for (const entry of files) {
    const hash = createHash("sha256");
    const found = { sha256: "", bytes: 0, lines: 0 };
    let last = NEWLINE;
    for await (const chunk of chunksOf(root, entry)) {
      hash.update(chunk);
      found.bytes += chunk.byteLength;
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) {
        found.lines++;
      }
      last = chunk[chunk.byteLength - 1]!;
    }
    if (last !== NEWLINE) found.lines++;
    found.sha256 = hash.digest("hex");
    expectAsListed(entry, found);
    ctx.metrics.add("bytesChecked", found.bytes);
  }
  const seconds = (performance.now() - started) / 1000;
  ctx.log.info("checked every data file before reading", {
    files: files.length,
    bytes: total,
    seconds: Number(seconds.toFixed(2)),
  });
}

/**
 * The objects of one data file, `batchSize` at a time, read line by line,
 * each batch with the line number of its last object. The file is hashed as
 * it is read and checked before its last batch is passed on: a file that
 * changed since the check pass stops the run.
 */
async function* readObjects(
  root: string,
  entry: ManifestFile,
  batchSize: number,
  ctx: PluginContext,
): AsyncGenerator<{ objects: WeftObject[]; line: number }> {
  const hash = createHash("sha256");
  const decoder = new TextDecoder();
  let bytes = 0;
  let lines = 0;
  let carried: Uint8Array[] = [];
  let batch: WeftObject[] = [];
  // After a line that cannot be decoded, the rest is only hashed: a damaged
  // file is then reported as such rather than by its first bad line.
  let broken: IntegrityError | undefined;
  const take = (line: Uint8Array) => {
    lines++;
    if (broken) return;
    try {
      batch.push(decodeObject(decoder.decode(line)));
    } catch (error) {
      broken = new IntegrityError(
        `Cannot read backup file ${entry.path}:${lines}: ${messageOf(error)}`,
      );
    }
  };
  for await (const chunk of chunksOf(root, entry)) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end);
      take(carried.length ? concat([...carried, piece]) : piece);
      carried = [];
      start = end + 1;
      if (batch.length === batchSize && !broken) {
        yield { objects: batch, line: lines };
        batch = [];
      }
    }
    // The buffer is reused for the next chunk: keep a copy of a line cut in two.
    if (start < chunk.byteLength) carried.push(chunk.slice(start));
  }
  if (carried.length) take(concat(carried));
  expectAsListed(entry, { sha256: hash.digest("hex"), bytes, lines });
  if (broken) throw broken;
  ctx.metrics.add("bytesRead", bytes);
  if (batch.length) yield { objects: batch, line: lines };
}
