/**
 * Lists a collection's objects (optionally of one tenant) over REST, paged by
 * UUID cursor, as client-independent {@linkcode WeftObject}s.
 * @module
 */
import type { Message, ObjectReference, Vector, WeftObject } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import type { WeaviateConnection } from "./weaviate.ts";

/** A collection definition, as far as reading objects needs it. */
export interface ClassDefinition {
  class: string;
  properties?: { name: string; dataType: string[] }[];
  multiTenancyConfig?: { enabled?: boolean };
  [key: string]: unknown;
}

/** Yields one `objects` message per page of `definition`'s objects. */
export async function* listObjects(
  conn: WeaviateConnection,
  definition: ClassDefinition,
  tenant: string | undefined,
  config: { pageSize: number; includeVectors: boolean },
  ctx: PluginContext,
): AsyncGenerator<Message> {
  const refProps = new Set(
    (definition.properties ?? []).filter((p) => isReference(p.dataType)).map((p) => p.name),
  );
  const query = new URLSearchParams({ class: definition.class, limit: String(config.pageSize) });
  if (config.includeVectors) query.set("include", "vector");
  if (tenant !== undefined) query.set("tenant", tenant);
  for (;;) {
    const page = await ctx.retry(() =>
      conn.rest<{ objects?: RestObject[] }>("GET", `/v1/objects?${query}`)
    );
    const found = page.objects ?? [];
    if (found.length === 0) return;
    const objects = found.map((o) => toWeftObject(o, refProps));
    yield {
      type: "objects",
      collection: definition.class,
      ...(tenant === undefined ? {} : { tenant }),
      objects,
    };
    if (found.length < config.pageSize) return;
    query.set("after", objects[objects.length - 1]!.id);
  }
}

/** An object as `GET /v1/objects` lists it. */
interface RestObject {
  id: string;
  properties?: Record<string, unknown>;
  vector?: number[];
  vectors?: Record<string, number[] | number[][]>;
  creationTimeUnix?: number;
  lastUpdateTimeUnix?: number;
}

const BEACON = /^weaviate:\/\/[^/]+\/(?:([^/]+)\/)?([0-9a-f-]{36})$/i;

export function toWeftObject(o: RestObject, refProps: Set<string>): WeftObject {
  const properties: Record<string, unknown> = {};
  const references: Record<string, ObjectReference[]> = {};
  for (const [name, value] of Object.entries(o.properties ?? {})) {
    if (!refProps.has(name)) {
      properties[name] = value;
      continue;
    }
    references[name] = ((value ?? []) as { beacon: string }[]).map(({ beacon }) => {
      const match = BEACON.exec(beacon);
      if (!match) throw new Error(`Cannot read reference ${name} of ${o.id}: beacon "${beacon}"`);
      return { id: match[2]!.toLowerCase(), ...(match[1] ? { collection: match[1] } : {}) };
    });
  }
  const vectors: Record<string, Vector> = {};
  for (const [name, value] of Object.entries(o.vectors ?? {})) {
    if (!Array.isArray(value) || value.length === 0) continue;
    vectors[name] = Array.isArray(value[0])
      ? (value as number[][]).map((v) => Float32Array.from(v))
      : Float32Array.from(value as number[]);
  }
  return {
    id: o.id,
    properties,
    ...(o.vector?.length ? { vector: Float32Array.from(o.vector) } : {}),
    vectors,
    ...(Object.keys(references).length ? { references } : {}),
    ...(o.creationTimeUnix ? { createdAt: o.creationTimeUnix } : {}),
    ...(o.lastUpdateTimeUnix ? { updatedAt: o.lastUpdateTimeUnix } : {}),
  };
}

export function isReference(dataType: string[]): boolean {
  const first = dataType[0] ?? "";
  return first.length > 0 && first[0] === first[0]!.toUpperCase() &&
    first[0] !== first[0]!.toLowerCase();
}
