/**
 * The end-to-end benchmark's datasets, made deterministically: object `i` of
 * a dataset is the same in every process (each object has its own PRNG seed),
 * so the driver, the seeder and the ingest-ceiling child all agree without
 * passing data around.
 * @module
 */
import { prng } from "../../scripts/sample_data.ts";
import type { WeftObject } from "../../src/messages.ts";

/** Dataset names of `--dataset`. */
export const DATASET_NAMES = ["articles", "tenants", "named", "big", "wide"] as const;
/** A dataset name. */
export type DatasetName = typeof DATASET_NAMES[number];
/** Vector index types of `--index`. */
export const INDEX_TYPES = ["hnsw", "flat", "dynamic"] as const;
/** A vector index type. */
export type IndexType = typeof INDEX_TYPES[number];

/** What makes a dataset: enough to rebuild it in another process. */
export interface DatasetSpec {
  name: DatasetName;
  /** Objects in all (over every tenant). */
  objects: number;
  /** Dimensions of the single vector (not used by `named`). */
  dims: number;
  index: IndexType;
}

/** An object to insert, with its tenant. */
export interface SeedObject {
  tenant?: string;
  object: WeftObject;
}

/** A dataset: its collection definition and its objects. */
export interface Dataset extends DatasetSpec {
  /** Tenant names of a multi-tenant dataset. */
  tenants: string[] | undefined;
  /** One line saying what it holds. */
  describe: string;
  /** The REST definition (`POST /v1/schema`) of a collection `name` holding it. */
  definition(name: string): Record<string, unknown>;
  /** Object `i` (0 ≤ i < objects). */
  object(i: number): SeedObject;
  /** Cases run when `--cases` is not given (undefined: all). */
  defaultCases: string[] | undefined;
  /** Cases left out unless named in `--cases`, with the reason. */
  unsupported: Record<string, string>;
}

const DEFAULTS: Record<DatasetName, { objects: number; dims: number }> = {
  articles: { objects: 100_000, dims: 768 },
  tenants: { objects: 100_000, dims: 64 },
  named: { objects: 10_000, dims: 0 },
  big: { objects: 1_000_000, dims: 128 },
  wide: { objects: 20_000, dims: 3072 },
};
const TENANTS = 100;
/** The `named` dataset's vectors: two single vectors and one multi-vector (rows × dims). */
const NAMED = { small: 384, large: 1536, colbert: { rows: 32, dims: 128 } };

const WORDS = (
  "vector index shard tenant backup restore stream batch cursor manifest checksum replica " +
  "schema property reference collection query filter segment weft graph layer memory disk"
).split(" ");
const CATEGORIES = ["news", "science", "sports", "culture", "business", "travel", "tech", "food"];

/** A spec with each dataset's defaults filled in. */
export function datasetSpec(
  name: DatasetName,
  overrides: { objects?: number | undefined; dims?: number | undefined; index?: IndexType } = {},
): DatasetSpec {
  const d = DEFAULTS[name];
  return {
    name,
    objects: overrides.objects ?? d.objects,
    dims: name === "named" ? 0 : overrides.dims ?? d.dims,
    index: overrides.index ?? "hnsw",
  };
}

/** The dataset `spec` describes. */
export function dataset(spec: DatasetSpec): Dataset {
  const { name, objects, dims, index } = spec;
  const seed = DATASET_NAMES.indexOf(name) * 1_000_003 + 17;
  const perTenant = Math.ceil(objects / TENANTS);
  const tenants = name === "tenants"
    ? Array.from({ length: Math.ceil(objects / perTenant) }, (_, t) => `tenant${t}`)
    : undefined;
  const vectorIndex = (extra: Record<string, unknown> = {}) => ({
    vectorizer: { none: {} },
    vectorIndexType: index,
    ...(Object.keys(extra).length ? { vectorIndexConfig: extra } : {}),
  });
  const vectorConfig: Record<string, unknown> = name === "named"
    ? {
      small: vectorIndex(),
      large: vectorIndex(),
      // Multi-vectors need an HNSW index, whatever --index says.
      colbert: {
        vectorizer: { none: {} },
        vectorIndexType: "hnsw",
        vectorIndexConfig: { multivector: { enabled: true } },
      },
    }
    : { default: vectorIndex() };
  const describe = name === "named"
    ? `${
      objects.toLocaleString("en-US")
    } objects × named vectors small ${NAMED.small} + large ${NAMED.large} dims + multi-vector colbert ${NAMED.colbert.rows}×${NAMED.colbert.dims}, ~0.5 KB properties, ${index}`
    : `${objects.toLocaleString("en-US")} objects × ${dims} dims, ~0.5 KB properties, ${index}${
      tenants ? `, ${tenants.length} tenants × ${perTenant.toLocaleString("en-US")}` : ""
    }`;
  return {
    ...spec,
    tenants,
    describe,
    defaultCases: name === "big" ? ["weft-backup", "weft-restore", "weft-migrate"] : undefined,
    unsupported: name === "named"
      ? {
        "raw-restore":
          "weaviate-client 3.14 insertMany cannot send multi-vectors (Weaviate: AddBatch called on multivector index)",
      }
      : {},
    definition: (collection) => ({
      class: collection,
      properties: [
        { name: "title", dataType: ["text"] },
        { name: "body", dataType: ["text"] },
        { name: "category", dataType: ["text"] },
        { name: "wordCount", dataType: ["int"] },
        { name: "rating", dataType: ["number"] },
        { name: "published", dataType: ["date"] },
      ],
      vectorConfig,
      ...(tenants ? { multiTenancyConfig: { enabled: true } } : {}),
    }),
    object(i) {
      const random = prng(seed + i * 7919);
      const words = Array.from({ length: 60 }, () => WORDS[Math.floor(random() * WORDS.length)]);
      const vector = (n: number) => {
        const v = new Float32Array(n);
        for (let k = 0; k < n; k++) v[k] = random() * 2 - 1;
        return v;
      };
      const vectors: WeftObject["vectors"] = name === "named"
        ? {
          small: vector(NAMED.small),
          large: vector(NAMED.large),
          colbert: Array.from({ length: NAMED.colbert.rows }, () => vector(NAMED.colbert.dims)),
        }
        : { default: vector(dims) };
      const object: WeftObject = {
        id: uuid(random),
        properties: {
          title: `Article ${i}: ${words.slice(0, 4).join(" ")}`,
          body: words.join(" "),
          category: CATEGORIES[i % CATEGORIES.length],
          wordCount: 100 + Math.floor(random() * 2000),
          rating: Math.round(random() * 500) / 100,
          published: new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString(),
        },
        vectors,
      };
      return tenants ? { tenant: tenants[Math.floor(i / perTenant)]!, object } : { object };
    },
  };
}

/** A version-4 UUID from `random`. */
function uuid(random: () => number): string {
  const bytes = Array.from({ length: 16 }, () => Math.floor(random() * 256));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}
