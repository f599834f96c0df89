/**
 * Vectors on Weaviate's gRPC wire (`base.proto`'s `Vectors`), both ways:
 * the message's descriptor for the batch and search protocols, and its bytes
 * (float32 little-endian; a multi-vector's row length as uint16 LE first).
 * @module
 */

/** `weaviate.v1.Vectors`, for a protobufjs root's `nested`. */
export const VECTORS_MESSAGE = {
  fields: {
    name: { type: "string", id: 1 },
    vectorBytes: { type: "bytes", id: 3 },
    type: { type: "int32", id: 4 },
  },
};

/** `Vectors.type` of a single vector. */
export const VECTOR_SINGLE = 1;
/** `Vectors.type` of a multi-vector. */
export const VECTOR_MULTI = 2;

/** Little-endian float32 bytes (the layout of every platform Deno runs on): a view, no copy. */
export function vectorBytes(vector: Float32Array): Uint8Array {
  return new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** A multi-vector's bytes: its row length as uint16 LE, then the rows' float32 values. */
export function multiVectorBytes(name: string, rows: Float32Array[]): Uint8Array {
  const dimension = rows[0]?.length ?? 0;
  if (dimension > 0xffff || rows.some((row) => row.length !== dimension)) {
    throw new Error(
      `Cannot send multi-vector "${name}" over gRPC: rows must share one length of at most 65535; use protocol: rest`,
    );
  }
  const out = new Uint8Array(2 + rows.length * dimension * 4);
  new DataView(out.buffer).setUint16(0, dimension, true);
  rows.forEach((row, i) => out.set(vectorBytes(row), 2 + i * dimension * 4));
  return out;
}

/** Float32 little-endian bytes as a Float32Array: a view when aligned, else one copy. */
export function float32s(bytes: Uint8Array, what: string): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new Error(`Cannot read vector ${what}: ${bytes.byteLength} bytes is no float32 array`);
  }
  if (bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** A multi-vector from {@linkcode multiVectorBytes}' layout, its rows views of one copy. */
export function multiVector(bytes: Uint8Array, what: string): Float32Array[] {
  const dimension = bytes.byteLength >= 2 ? bytes[0]! | (bytes[1]! << 8) : 0;
  const body = bytes.byteLength - 2;
  if (dimension === 0 || body % (dimension * 4) !== 0) {
    throw new Error(
      `Cannot read multi-vector ${what}: ${bytes.byteLength} bytes, rows of ${dimension}`,
    );
  }
  const all = new Float32Array(body / 4);
  new Uint8Array(all.buffer).set(bytes.subarray(2));
  return Array.from(
    { length: body / 4 / dimension },
    (_, i) => all.subarray(i * dimension, (i + 1) * dimension),
  );
}
