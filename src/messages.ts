/**
 * The data contract between plugins: what flows through the streams.
 *
 * A source first says where the data comes from, then for each collection
 * its definition, then its objects in batches (grouped by tenant). Sinks and
 * transforms must pass on message types they do not know.
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

/** A batch of objects of one collection (and tenant). */
export interface ObjectsMessage {
  type: "objects";
  collection: string;
  tenant?: string;
  objects: WeftObject[];
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
export type Message = SourceInfoMessage | CollectionMessage | ObjectsMessage | IndexStatsMessage;
