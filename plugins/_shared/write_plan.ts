/**
 * How one collection's objects are written, derived once from its (target)
 * definition: references travel inside each object's own insert (so that
 * Weaviate indexes them like any property, null state included, and an empty
 * reference list stays an empty list), and `int` values go back as integers
 * of the int64 range, so that Weaviate stores the value it returned.
 * @module
 */
import type { ObjectReference, WeftObject } from "../../src/messages.ts";
import { isReference } from "./definition.ts";
import { JsonLiteral } from "./json.ts";

/** A property as a definition describes it. */
interface PropertyDefinition {
  name: string;
  dataType: string[];
  nestedProperties?: PropertyDefinition[];
}

/** References of one object, shaped for gRPC `BatchObject.Properties`. */
export interface GrpcReferences {
  single: { propName: string; uuids: string[] }[];
  multi: { propName: string; uuids: string[]; targetCollection: string }[];
  /** Reference properties holding an empty list. */
  empty: string[];
}

/** Int-typed values, by property, down into nested objects. */
type IntShape = Map<string, "int" | "int[]" | IntShape | { array: IntShape }>;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
/** The smallest double that int64 cannot hold; Weaviate returns it for a stored 2^63 − 1. */
const TWO_POW_63 = 2 ** 63;

/** Write plan of one target collection. */
export class WritePlan {
  #refs = new Map<string, string[]>();
  #ints: IntShape;

  /**
   * `definition`: the target's definition (collection names in reference
   * data types already renamed); `renames`: source → target collection names.
   */
  constructor(
    definition: { properties?: PropertyDefinition[] },
    readonly renames: ReadonlyMap<string, string>,
  ) {
    for (const p of definition.properties ?? []) {
      if (isReference(p.dataType)) this.#refs.set(p.name, p.dataType);
    }
    this.#ints = intShape(definition.properties ?? []);
  }

  /** The target collection a reference points at. */
  #target(ref: ObjectReference, dataType: string[]): string | undefined {
    if (ref.collection) return this.renames.get(ref.collection) ?? ref.collection;
    return dataType.length === 1 ? dataType[0] : undefined;
  }

  /** References for a gRPC insert; throws for a reference whose target cannot be named. */
  grpcReferences(object: WeftObject): GrpcReferences {
    const out: GrpcReferences = { single: [], multi: [], empty: [] };
    for (const [propName, refs] of Object.entries(object.references ?? {})) {
      const dataType = this.#refs.get(propName) ?? [];
      if (refs.length === 0) {
        out.empty.push(propName);
      } else if (dataType.length === 1) {
        out.single.push({ propName, uuids: refs.map((r) => r.id) });
      } else {
        const byTarget = new Map<string, string[]>();
        for (const ref of refs) {
          const target = this.#target(ref, dataType);
          if (!target) {
            throw new Error(
              `Cannot write reference ${propName} of ${object.id}: no target collection for ${ref.id}`,
            );
          }
          byTarget.set(target, [...(byTarget.get(target) ?? []), ref.id]);
        }
        for (const [targetCollection, uuids] of byTarget) {
          out.multi.push({ propName, uuids, targetCollection });
        }
      }
    }
    return out;
  }

  /** Properties for a REST insert: references as beacons, large integers as exact literals. */
  restProperties(object: WeftObject): Record<string, unknown> {
    const properties: Record<string, unknown> = exactInts(object.properties, this.#ints);
    for (const [propName, refs] of Object.entries(object.references ?? {})) {
      const dataType = this.#refs.get(propName) ?? [];
      properties[propName] = refs.map((ref) => {
        const target = this.#target(ref, dataType);
        return { beacon: `weaviate://localhost/${target ? `${target}/` : ""}${ref.id}` };
      });
    }
    return properties;
  }

  /**
   * Whether `object` holds an `int` value gRPC cannot carry: Weaviate stores
   * 2^63 − 1 as the double 2^63, which its gRPC insert refuses for an int;
   * REST takes the exact integer literal.
   */
  needsRest(object: WeftObject): boolean {
    return this.#ints.size > 0 && hasHugeInt(object.properties, this.#ints);
  }
}

function intShape(properties: PropertyDefinition[]): IntShape {
  const shape: IntShape = new Map();
  for (const p of properties) {
    const type = p.dataType[0];
    if (type === "int" || type === "int[]") shape.set(p.name, type);
    else if ((type === "object" || type === "object[]") && p.nestedProperties) {
      const nested = intShape(p.nestedProperties);
      if (nested.size) shape.set(p.name, type === "object" ? nested : { array: nested });
    }
  }
  return shape;
}

/** An int value as JSON: exact digits, clamped to int64, when a double cannot say it exactly. */
function exactInt(value: unknown): unknown {
  if (typeof value !== "number" || Number.isSafeInteger(value) || !Number.isInteger(value)) {
    return value;
  }
  let n = BigInt(value);
  if (n > INT64_MAX) n = INT64_MAX;
  if (n < INT64_MIN) n = INT64_MIN;
  return new JsonLiteral(n.toString());
}

function exactInts(values: Record<string, unknown>, shape: IntShape): Record<string, unknown> {
  if (shape.size === 0) return { ...values };
  const out: Record<string, unknown> = { ...values };
  for (const [name, kind] of shape) {
    const value = values[name];
    if (value === null || value === undefined) continue;
    if (kind === "int") out[name] = exactInt(value);
    else if (kind === "int[]") out[name] = Array.isArray(value) ? value.map(exactInt) : value;
    else if (kind instanceof Map) out[name] = isRecord(value) ? exactInts(value, kind) : value;
    else {
      out[name] = Array.isArray(value)
        ? value.map((v) => isRecord(v) ? exactInts(v, kind.array) : v)
        : value;
    }
  }
  return out;
}

function hasHugeInt(values: Record<string, unknown>, shape: IntShape): boolean {
  for (const [name, kind] of shape) {
    const value = values[name];
    if (value === null || value === undefined) continue;
    if (kind === "int") {
      if (typeof value === "number" && Math.abs(value) >= TWO_POW_63) return true;
    } else if (kind === "int[]") {
      if (Array.isArray(value) && value.some((v) => Math.abs(v) >= TWO_POW_63)) return true;
    } else if (kind instanceof Map) {
      if (isRecord(value) && hasHugeInt(value, kind)) return true;
    } else if (
      Array.isArray(value) && value.some((v) => isRecord(v) && hasHugeInt(v, kind.array))
    ) {
      return true;
    }
  }
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
