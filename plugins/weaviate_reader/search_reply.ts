/**
 * Reads a gRPC `SearchReply` into objects in the shape the REST listing
 * gives ({@linkcode WeftObject}): vectors stay the reply's float32 bytes,
 * properties become the JSON values REST would have returned, as Weaviate
 * 1.39 maps them (`adapters/handlers/grpc/v1/mapping.go`).
 * @module
 */
import type { ObjectReference, Vector, WeftObject } from "../../src/messages.ts";
import { searchProtocol } from "../_shared/grpc_search.ts";
import { float32s, multiVector, VECTOR_MULTI } from "../_shared/grpc_vectors.ts";

const SearchReply = searchProtocol.lookupType("weaviate.v1.SearchReply");
/** What Go's `int64(float64)` gives for a value beyond int64 (amd64): indistinguishable from -2^63. */
const INT64_OVERFLOW = -(2 ** 63);

/** A decoded page: its objects, and whether a value could not be read exactly. */
export interface SearchPage {
  objects: WeftObject[];
  /**
   * Why some value of this page may not be exactly what REST returns (an int
   * beyond int64, which the server sends as -2^63; a geo coordinate Go builds
   * write either way): read the page over REST.
   */
  inexact?: string;
}

/** Decodes a `SearchReply` into objects shaped as the REST listing's. */
export function decodeSearchReply(bytes: Uint8Array): SearchPage {
  const reply = SearchReply.decode(bytes) as unknown as { results?: Result[] };
  const state: { inexact?: string } = {};
  const objects = (reply.results ?? []).map((r) => toObject(r, state));
  return state.inexact === undefined ? { objects } : { objects, inexact: state.inexact };
}

interface Result {
  properties?: PropertiesResult;
  metadata?: Metadata;
}
interface Metadata {
  id: string;
  creationTimeUnix: Int64;
  creationTimeUnixPresent: boolean;
  lastUpdateTimeUnix: Int64;
  lastUpdateTimeUnixPresent: boolean;
  vectorBytes: Uint8Array;
  vectors?: { name: string; vectorBytes: Uint8Array; type: number }[];
}
interface PropertiesResult {
  refProps?: { propName: string; properties?: PropertiesResult[] }[];
  targetCollection: string;
  metadata?: Metadata;
  nonRefProps?: Properties;
}
interface Properties {
  fields?: Record<string, Value>;
}
interface Value {
  kind?: string;
  [field: string]: unknown;
}
/** protobufjs gives int64 as a number, or as a Long when the `long` package loads. */
type Int64 = number | { toNumber(): number };

function toObject(result: Result, state: { inexact?: string }): WeftObject {
  const meta = result.metadata;
  if (!meta?.id) throw new Error("Cannot read a search result: it has no id");
  const properties = toProperties(result.properties?.nonRefProps, state, true);
  const references: Record<string, ObjectReference[]> = {};
  for (const ref of result.properties?.refProps ?? []) {
    const list = references[ref.propName] ??= [];
    for (const target of ref.properties ?? []) {
      const id = target.metadata?.id;
      if (!id) throw new Error(`Cannot read reference ${ref.propName} of ${meta.id}: no id`);
      list.push({
        id,
        ...(target.targetCollection ? { collection: target.targetCollection } : {}),
      });
    }
  }
  const vectors: Record<string, Vector> = {};
  // By name, as REST's JSON has them (the server sends them in map order).
  const named = [...(meta.vectors ?? [])].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  for (const v of named) {
    if (!v.vectorBytes?.length) continue;
    vectors[v.name] = v.type === VECTOR_MULTI
      ? multiVector(v.vectorBytes, `${meta.id} ${v.name}`)
      : float32s(v.vectorBytes, `${meta.id} ${v.name}`);
  }
  const created = meta.creationTimeUnixPresent ? int64(meta.creationTimeUnix) : 0;
  const updated = meta.lastUpdateTimeUnixPresent ? int64(meta.lastUpdateTimeUnix) : 0;
  return {
    id: meta.id,
    properties,
    ...(meta.vectorBytes?.length ? { vector: float32s(meta.vectorBytes, meta.id) } : {}),
    vectors,
    ...(Object.keys(references).length ? { references } : {}),
    ...(created ? { createdAt: created } : {}),
    ...(updated ? { updatedAt: updated } : {}),
  };
}

/**
 * Properties as REST's JSON has them: keys sorted (Go sorts map keys), a null
 * at the top level left out (the server sends null for a property the object
 * lacks; REST omits it), a null inside a nested object kept.
 */
function toProperties(
  props: Properties | undefined,
  state: { inexact?: string },
  topLevel: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = props?.fields ?? {};
  for (const name of Object.keys(fields).sort()) {
    const value = toValue(fields[name]!, state);
    if (value === null && topLevel) continue;
    out[name] = value;
  }
  return out;
}

function toValue(value: Value, state: { inexact?: string }): unknown {
  switch (value.kind) {
    case "numberValue":
    case "boolValue":
    case "dateValue":
    case "uuidValue":
    case "blobValue":
    case "textValue":
      return value[value.kind];
    case "intValue":
      return checkedInt(int64(value.intValue as Int64), state);
    case "nullValue":
    case undefined:
      return null;
    case "objectValue":
      return toProperties(value.objectValue as Properties, state, false);
    case "geoValue": {
      const geo = value.geoValue as { latitude: number; longitude: number };
      const latitude = float32Decimal(geo.latitude);
      const longitude = float32Decimal(geo.longitude);
      if (latitude.tie || longitude.tie) {
        state.inexact ??=
          "a geo coordinate halfway between two shortest decimals, which servers write either way";
      }
      return { latitude: latitude.value, longitude: longitude.value };
    }
    case "phoneValue":
      return phone(value.phoneValue as Record<string, unknown>);
    case "listValue":
      return toList(value.listValue as Value, state);
    default:
      throw new Error(`Cannot read a property value of kind ${value.kind}`);
  }
}

function toList(list: Value, state: { inexact?: string }): unknown[] {
  const values = (list.kind ? (list[list.kind] as { values?: unknown }).values : undefined) ??
    [];
  switch (list.kind) {
    case "numberValues":
      return float64s(values as Uint8Array);
    case "intValues":
      return int64s(values as Uint8Array).map((n) => checkedInt(n, state));
    case "objectValues":
      return (values as Properties[]).map((p) => toProperties(p, state, false));
    case "boolValues":
    case "dateValues":
    case "uuidValues":
    case "textValues":
    case undefined:
      return values as unknown[];
    default:
      throw new Error(`Cannot read a list value of kind ${list.kind}`);
  }
}

/** The phone number's fields REST shows (Go's `omitempty`: zero values left out), in its order. */
function phone(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of PHONE_FIELDS) {
    let v = p[key];
    if (typeof v === "object" && v !== null) v = (v as { toNumber(): number }).toNumber();
    if (v !== 0 && v !== "" && v !== false && v !== undefined) out[key] = v;
  }
  return out;
}
const PHONE_FIELDS = [
  "countryCode",
  "defaultCountry",
  "input",
  "internationalFormatted",
  "national",
  "nationalFormatted",
  "valid",
];

function int64(v: Int64): number {
  return typeof v === "number" ? v : v.toNumber();
}

function checkedInt(n: number, state: { inexact?: string }): number {
  if (n === INT64_OVERFLOW) {
    state.inexact ??= "an int of -2^63, which the server also sends for an int beyond int64";
  }
  return n;
}

/**
 * The number REST's JSON shows for a float32: Go writes the shortest decimal
 * that reads back as the same float32, the nearest such, which JSON then
 * reads as a double. Trying `toPrecision` instead misses decimals on the
 * narrow side of a power of two (2^-96) and rounds every tie up.
 */
export function shortestFloat32(x: number): number {
  return float32Decimal(x).value;
}

/**
 * {@linkcode shortestFloat32}, worked out exactly, and whether two shortest
 * decimals were equally near. Go builds differ in which of the two they write
 * (mostly the even one), so the caller reads such a value over REST and the
 * pick here does not reach a backup.
 */
function float32Decimal(x: number): { value: number; tie: boolean } {
  if (!Number.isFinite(x) || x === 0) return { value: x, tie: false };
  F32[0] = x;
  const biased = (U32[0]! >>> 23) & 0xff;
  const fraction = U32[0]! & 0x7fffff;
  const mantissa = BigInt(biased === 0 ? fraction : fraction | 0x800000);
  /** |x| = mantissa × 2^exponent. */
  const exponent = (biased === 0 ? 1 : biased) - 150;
  // Go's shorter interval: the float32 below a power of two is half as far.
  const shorter = fraction === 0 && biased > 0;
  // In units of 2^(exponent - 2): |x| and the bounds of the decimals that read back as x.
  const value = mantissa * 4n;
  const high = value + 2n;
  const low = value - (shorter ? 1n : 2n);
  const inclusive = mantissa % 2n === 0n;
  let e10 = Math.floor(Math.log10(Math.abs(x)));
  for (let digits = 1; digits <= 9; digits++) {
    const k = e10 - digits + 1;
    // Both sides as integers: a decimal c × 10^k against n × 2^(exponent - 2).
    const binary = 2n ** BigInt(Math.max(exponent - 2, 0)) * 10n ** BigInt(Math.max(-k, 0));
    const decimal = 10n ** BigInt(Math.max(k, 0)) * 2n ** BigInt(Math.max(2 - exponent, 0));
    const at = value * binary;
    const below = at / decimal;
    if (digits === 1 && (below < 1n || below >= 10n)) {
      // Math.log10 was one off next to a power of ten.
      e10 += below < 1n ? -1 : 1;
      digits--;
      continue;
    }
    const near = [below, below + 1n].filter((c) => {
      const scaled = c * decimal;
      return inclusive
        ? low * binary <= scaled && scaled <= high * binary
        : low * binary < scaled && scaled < high * binary;
    });
    if (near.length === 0) continue;
    let best = near[0]!;
    let tie = false;
    if (near.length === 2) {
      const down = at - below * decimal;
      const up = (below + 1n) * decimal - at;
      tie = down === up;
      if (up < down || (tie && below % 2n === 1n)) best = below + 1n;
    }
    return { value: Number(`${x < 0 ? "-" : ""}${best}e${k}`), tie };
  }
  return { value: x, tie: false };
}
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

function float64s(bytes: Uint8Array): number[] {
  if (!bytes.byteLength) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.byteLength >> 3 }, (_, i) => view.getFloat64(i * 8, true));
}

function int64s(bytes: Uint8Array): number[] {
  if (!bytes.byteLength) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from(
    { length: bytes.byteLength >> 3 },
    (_, i) => Number(view.getBigInt64(i * 8, true)),
  );
}
