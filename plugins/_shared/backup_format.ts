/**
 * The portable backup format (version 1): a directory (or prefix) with
 * `manifest.json`, written last, and data files of JSON Lines, one object a
 * line: `{"id", "properties", "vector"?, "vectors"?, "references"?,
 * "createdAt"?, "updatedAt"?}`, vectors as base64 of little-endian float32
 * (bit-exact), multi-vectors as arrays of those.
 * @module
 */
import { stringifyJson } from "./json.ts";
import type { SourceInfoMessage, TenantInfo, Vector, WeftObject } from "../../src/messages.ts";

/** Current format version. */
export const FORMAT_VERSION = 1;
/** Name of the manifest file; its presence marks a complete backup. */
export const MANIFEST_FILE = "manifest.json";
/** Name of the run summary written beside the manifest. */
export const SUMMARY_FILE = "summary.json";
/** Folder holding the data files. */
export const DATA_DIR = "data";

/** A data file as the manifest lists it. */
export interface ManifestFile {
  /** Relative to the backup root, `/`-separated. */
  path: string;
  collection: string;
  tenant?: string;
  objects: number;
  bytes: number;
  sha256: string;
}

/** A collection as the manifest records it. */
export interface ManifestCollection {
  name: string;
  /** Full definition, as `GET /v1/schema/{name}` returned it. */
  definition: Record<string, unknown>;
  objects: number;
  /** True when the backup holds the definition only (schema-only backup). */
  schemaOnly?: boolean;
  /** For multi-tenant collections: status at backup time and object count. */
  tenants?: ManifestTenant[];
  /** Aliases that pointed at the collection at backup time. */
  aliases?: string[];
  /** Index-backed filter counts the source reported (`index-stats`), for a collection without tenants. */
  indexStats?: Record<string, number>;
}

/** A tenant as the manifest records it. */
export interface ManifestTenant extends TenantInfo {
  objects: number;
  /** Index-backed filter counts the source reported for this tenant (`index-stats`). */
  indexStats?: Record<string, number>;
}

/** `manifest.json`. */
export interface BackupManifest {
  format: "weft-backup";
  formatVersion: typeof FORMAT_VERSION;
  weftVersion: string;
  pipeline: string;
  createdAt: string;
  completedAt: string;
  source: Omit<SourceInfoMessage, "type" | "definitions">;
  encoding: { records: "jsonl"; vectors: "float32-le-base64"; compression: "none" };
  collections: ManifestCollection[];
  files: ManifestFile[];
  totals: { objects: number; bytes: number; files: number };
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("Cannot encode vectors: weft expects a little-endian machine");
}

/** A data line as stored. */
interface StoredObject {
  id: string;
  properties: Record<string, unknown>;
  vector?: string;
  vectors?: Record<string, string | string[]>;
  references?: WeftObject["references"];
  createdAt?: number;
  updatedAt?: number;
}

function f32ToBase64(v: Float32Array): string {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).toBase64();
}

function base64ToF32(text: string): Float32Array {
  const bytes = Uint8Array.fromBase64(text);
  if (bytes.byteLength % 4 !== 0) throw new RangeError("vector bytes are not a multiple of 4");
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** One object as one JSON line (without the newline). */
export function encodeObject(object: WeftObject): string {
  const stored: StoredObject = { id: object.id, properties: object.properties };
  if (object.vector) stored.vector = f32ToBase64(object.vector);
  const names = Object.keys(object.vectors);
  if (names.length) {
    const vectors: Record<string, string | string[]> = {};
    for (const name of names) {
      const v = object.vectors[name]!;
      vectors[name] = Array.isArray(v) ? v.map(f32ToBase64) : f32ToBase64(v);
    }
    stored.vectors = vectors;
  }
  if (object.references && Object.keys(object.references).length) {
    stored.references = object.references;
  }
  if (object.createdAt !== undefined) stored.createdAt = object.createdAt;
  if (object.updatedAt !== undefined) stored.updatedAt = object.updatedAt;
  return stringifyJson(stored);
}

/** Parses a line written by {@linkcode encodeObject}. */
export function decodeObject(line: string): WeftObject {
  const stored = JSON.parse(line) as StoredObject;
  if (typeof stored?.id !== "string" || typeof stored.properties !== "object") {
    throw new TypeError("expected an object with id and properties");
  }
  const vectors: Record<string, Vector> = {};
  for (const [name, v] of Object.entries(stored.vectors ?? {})) {
    vectors[name] = Array.isArray(v) ? v.map(base64ToF32) : base64ToF32(v);
  }
  return {
    id: stored.id,
    properties: stored.properties,
    ...(stored.vector === undefined ? {} : { vector: base64ToF32(stored.vector) }),
    vectors,
    ...(stored.references ? { references: stored.references } : {}),
    ...(stored.createdAt === undefined ? {} : { createdAt: stored.createdAt }),
    ...(stored.updatedAt === undefined ? {} : { updatedAt: stored.updatedAt }),
  };
}
