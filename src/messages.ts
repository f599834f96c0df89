/**
 * The data contract between plugins: what flows through the streams.
 *
 * A source first says where the data comes from (`source-info`), then for
 * each collection its definition (`collection`), then its objects in
 * **partitions**: one collection, or one tenant of a multi-tenant collection.
 * A partition is framed by `partition-start` and `partition-end`; its
 * `objects` batches carry the partition key, a sequence number and the
 * source's cursor. Partitions of several collections and tenants may be
 * interleaved (a source reads several at once); order inside a partition is
 * kept. Sinks and transforms key their state by partition, and pass on
 * message types they do not know.
 * @module
 */

/** A vector: one float32 array, or several for a multi-vector (ColBERT-style). */
export type Vector = Float32Array | Float32Array[];

/** A reference from one object to another. */
export interface ObjectReference {
  /** Target object UUID. */
  id: string;
  /** Target collection, when known. */
  collection?: string;
}

/** One object, independent of any client library. */
export interface WeftObject {
  /** The object's UUID. */
  id: string;
  /** Non-reference properties in Weaviate's REST JSON shape (dates as RFC 3339, blobs as base64). */
  properties: Record<string, unknown>;
  /** The collection-level unnamed vector of collections made before named vectors. */
  vector?: Float32Array;
  /** Named vectors (single or multi-vector) by name. */
  vectors: Record<string, Vector>;
  /** Cross-references by property name (not repeated in `properties`). */
  references?: Record<string, ObjectReference[]>;
  /** Creation time (Unix ms) at the source; a restore cannot keep it. */
  createdAt?: number;
  /** Last update time (Unix ms) at the source; a restore cannot keep it. */
  updatedAt?: number;
}

/** Where the data comes from; the first message of a source. */
export interface SourceInfoMessage {
  type: "source-info";
  /** System name, e.g. `weaviate`. */
  system: string;
  /** Server version, when known. */
  version?: string;
  /** Server address without credentials. */
  url?: string;
  /**
   * Every collection definition the source will send, when it knows them up
   * front, so that a sink can check them all before it writes anything.
   */
  definitions?: Record<string, unknown>[];
}

/** A tenant of a multi-tenant collection. */
export interface TenantInfo {
  name: string;
  /** Weaviate activity status as the REST API names it (`HOT`, `COLD`, `FROZEN`, …). */
  activityStatus: string;
}

/** A collection begins: its definition, sent before any of its objects. */
export interface CollectionMessage {
  type: "collection";
  /** Collection name. */
  collection: string;
  /** The full definition, as `GET /v1/schema/{name}` returns it. */
  definition: Record<string, unknown>;
  /** Tenants, for a multi-tenant collection. */
  tenants?: TenantInfo[];
  /** True when the source sends no objects of this collection (a schema-only read). */
  schemaOnly?: boolean;
  /** Aliases that pointed at this collection at the source (Weaviate 1.32+). */
  aliases?: string[];
}

/**
 * The key of the partition holding `collection` (and `tenant`): the
 * collection name, or `Collection/tenant`. Collection names cannot hold `/`,
 * so keys never collide.
 *
 * @example
 * ```ts
 * import { partitionKey } from "./messages.ts";
 * if (partitionKey("Docs", "acme") !== "Docs/acme") throw new Error("unexpected key");
 * if (partitionKey("Docs") !== "Docs") throw new Error("unexpected key");
 * ```
 */
export function partitionKey(collection: string, tenant?: string): string {
  return tenant === undefined ? collection : `${collection}/${tenant}`;
}

/** A partition begins; sent after its collection's `collection` message. */
export interface PartitionStartMessage {
  type: "partition-start";
  /** {@linkcode partitionKey} of `collection` and `tenant`. */
  partition: string;
  collection: string;
  tenant?: string;
  /** Objects the source expects to send, when it knows (for totals and ETA). */
  total?: number;
}

/** A batch of objects of one partition. */
export interface ObjectsMessage {
  type: "objects";
  /** {@linkcode partitionKey} of `collection` and `tenant`. */
  partition: string;
  collection: string;
  tenant?: string;
  /** Position of this batch in its partition, from 0. */
  seq: number;
  /** The source's cursor after this batch (e.g. the last UUID); where a resume would continue. */
  cursor?: string;
  objects: WeftObject[];
}

/** A partition is complete: the source sent all its objects. */
export interface PartitionEndMessage {
  type: "partition-end";
  partition: string;
  collection: string;
  tenant?: string;
  /** Objects the source sent in this partition. */
  objects: number;
  /** The source's final cursor. */
  cursor?: string;
}

/**
 * Counts of objects matching index-backed filters (null state, property
 * length) in one collection or tenant, taken by the source after its objects
 * were read, so that a copy's indexes can be compared with the original's.
 */
export interface IndexStatsMessage {
  type: "index-stats";
  collection: string;
  tenant?: string;
  /** Filter (e.g. `isNull(title)`, `len(tags)=0`) → number of matching objects. */
  counts: Record<string, number>;
}

/** Everything that can flow between plugins. */
export type Message =
  | SourceInfoMessage
  | CollectionMessage
  | PartitionStartMessage
  | ObjectsMessage
  | PartitionEndMessage
  | IndexStatsMessage;
