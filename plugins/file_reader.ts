/**
 * `file-reader`: reads a backup directory written by `file-writer`. Each
 * data file is read whole and its sha256 checked against the manifest
 * before any of its objects is passed on.
 * @module
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { z } from "zod";
import { IntegrityError } from "../src/errors.ts";
import type { Message } from "../src/messages.ts";
import { definePlugin, type PluginContext } from "../src/plugin.ts";
import { compilePatterns } from "./_shared/patterns.ts";
import {
  type BackupManifest,
  decodeObject,
  FORMAT_VERSION,
  MANIFEST_FILE,
} from "./_shared/backup_format.ts";

/** Options of {@linkcode fileReader}. */
export const fileReaderConfig = z.strictObject({
  path: z.string().min(1).describe("Backup directory (holding manifest.json)"),
  collections: z.array(z.string().min(1)).min(1).default(["*"])
    .describe('Collections to read: names or patterns with "*" (default: all in the backup)'),
  batchSize: z.number().int().min(1).max(10_000).default(500)
    .describe("Objects per batch passed on"),
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
    throw error;
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new IntegrityError(`Cannot read backup: ${file} is not valid JSON (${error})`);
  }
  if (manifest?.format !== "weft-backup" || !Array.isArray(manifest.files)) {
    throw new IntegrityError(`Cannot read backup: ${file} is not a weft backup manifest`);
  }
  if (manifest.formatVersion > FORMAT_VERSION) {
    throw new IntegrityError(
      `Cannot read backup: ${file} has format version ${manifest.formatVersion}; this weft reads up to ${FORMAT_VERSION}`,
    );
  }
  return manifest;
}

async function* read(config: FileReaderConfig, ctx: PluginContext): AsyncGenerator<Message> {
  const root = resolve(ctx.cwd, config.path);
  const manifest = await readManifest(root);
  const matches = compilePatterns(config.collections);
  const wanted = manifest.collections.filter((c) => matches(c.name));
  for (const pattern of config.collections) {
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
  yield {
    type: "source-info",
    ...manifest.source,
    definitions: wanted.map((c) => c.definition),
  };
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
    for (const file of manifest.files.filter((f) => f.collection === collection.name)) {
      const path = join(root, file.path);
      const bytes = await Deno.readFile(path);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (sha256 !== file.sha256 || bytes.byteLength !== file.bytes) {
        throw new IntegrityError(
          `Cannot restore ${file.path}: checksum mismatch (manifest sha256 ${file.sha256}, file ${sha256}); the file is damaged`,
        );
      }
      const lines = new TextDecoder().decode(bytes).split("\n");
      if (lines.at(-1) === "") lines.pop();
      if (lines.length !== file.objects) {
        throw new IntegrityError(
          `Cannot restore ${file.path}: ${lines.length} objects, manifest says ${file.objects}`,
        );
      }
      ctx.metrics.add("bytesRead", bytes.byteLength);
      for (let i = 0; i < lines.length; i += config.batchSize) {
        const objects = lines.slice(i, i + config.batchSize).map((line, k) => {
          try {
            return decodeObject(line);
          } catch (error) {
            throw new IntegrityError(`Cannot restore ${file.path}:${i + k + 1}: ${error}`);
          }
        });
        yield {
          type: "objects",
          collection: collection.name,
          ...(file.tenant === undefined ? {} : { tenant: file.tenant }),
          objects,
        };
      }
    }
  }
}
