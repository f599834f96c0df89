import assert from "node:assert/strict";
import protobuf from "protobufjs";
import { GrpcBatcher } from "../../plugins/_shared/grpc_batch.ts";
import type { WeftObject } from "../../src/messages.ts";

function object(i: number, vectors: WeftObject["vectors"] = {}): WeftObject {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    properties: { title: `t${i}`, body: "x".repeat(1000), nested: { a: null, b: [1, 2.5] } },
    vectors,
  };
}

/** The BatchObject payloads of a request (field 1, length-delimited). */
function objectsOf(body: Uint8Array): Uint8Array[] {
  const reader = protobuf.Reader.create(body);
  const out: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    assert.equal(reader.uint32(), (1 << 3) | 2);
    out.push(reader.bytes());
  }
  return out;
}

/** Field `number`'s length-delimited values in a message. */
function bytesFields(message: Uint8Array, number: number): Uint8Array[] {
  const reader = protobuf.Reader.create(message);
  const out: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === number && (tag & 7) === 2) out.push(reader.bytes());
    else reader.skipType(tag & 7);
  }
  return out;
}

Deno.test("GrpcBatcher splits requests below the server's message limit, keeping every object once", () => {
  const batcher = new GrpcBatcher(new URL("http://127.0.0.1:1"), { headers: {} }, 12_000);
  try {
    const items = Array.from({ length: 40 }, (_, i) => ({
      collection: "C",
      object: object(i),
      withVectors: true,
    }));
    const requests = batcher.encode(items);
    assert.ok(requests.length > 1, `split into ${requests.length}`);
    for (const r of requests) {
      assert.ok(r.body.byteLength <= 12_000 * 0.9, `${r.body.byteLength} bytes`);
      assert.equal(objectsOf(r.body).length, r.ids.length);
      // Each object is whole, in order: its uuid (field 1) is the id listed for it.
      const uuids = objectsOf(r.body).map((o) => new TextDecoder().decode(bytesFields(o, 1)[0]));
      assert.deepEqual(uuids, r.ids);
    }
    assert.deepEqual(requests.flatMap((r) => r.ids), items.map((i) => i.object.id));
  } finally {
    batcher.close();
  }
});

Deno.test("GrpcBatcher sends a multi-vector as uint16 row length + float32 rows and leaves out empty ones", () => {
  const batcher = new GrpcBatcher(new URL("http://127.0.0.1:1"), { headers: {} });
  try {
    const rows = [Float32Array.of(1, 2, 3), Float32Array.of(-1, 0.5, 7)];
    const [request] = batcher.encode([{
      collection: "C",
      object: object(1, { colbert: rows, empty: [], single: Float32Array.of(0.25, 4) }),
      withVectors: true,
    }]);
    const [encoded] = objectsOf(request!.body);
    const vectors = bytesFields(encoded!, 23).map((v) => ({
      name: new TextDecoder().decode(bytesFields(v, 1)[0]),
      bytes: bytesFields(v, 3)[0]!,
    }));
    assert.deepEqual(vectors.map((v) => v.name).sort(), ["colbert", "single"]);
    const colbert = vectors.find((v) => v.name === "colbert")!.bytes;
    const view = new DataView(colbert.buffer, colbert.byteOffset, colbert.byteLength);
    assert.equal(view.getUint16(0, true), 3);
    assert.deepEqual(
      Array.from({ length: 6 }, (_, i) => view.getFloat32(2 + i * 4, true)),
      [1, 2, 3, -1, 0.5, 7],
    );
    const single = vectors.find((v) => v.name === "single")!.bytes;
    assert.deepEqual([...new Float32Array(new Uint8Array(single).buffer)], [0.25, 4]);

    const [without] = batcher.encode([{
      collection: "C",
      object: object(2, { single: Float32Array.of(1) }),
      withVectors: false,
    }]);
    assert.equal(bytesFields(objectsOf(without!.body)[0]!, 23).length, 0, "skipVectors sends none");
  } finally {
    batcher.close();
  }
});

Deno.test("GrpcBatcher takes 4 MiB per request, or 90 % of a smaller server limit", () => {
  for (
    const [server, expected] of [
      [undefined, 4 * 1024 * 1024],
      [104_858_000, 4 * 1024 * 1024], // Weaviate's default GRPC_MAX_MESSAGE_SIZE
      [2 * 1024 * 1024, Math.floor(2 * 1024 * 1024 * 0.9)],
    ] as const
  ) {
    const batcher = new GrpcBatcher(new URL("http://127.0.0.1:1"), { headers: {} }, server);
    try {
      assert.equal(batcher.maxBytes, expected);
    } finally {
      batcher.close();
    }
  }
});
