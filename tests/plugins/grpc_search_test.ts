import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { encodeSearchRequest, searchProtocol } from "../../plugins/_shared/grpc_search.ts";
import { decodeSearchReply, shortestFloat32 } from "../../plugins/weaviate_reader/search_reply.ts";
import {
  GRPC_COUNTER,
  GrpcListing,
  grpcUnsupported,
  searchPlan,
} from "../../plugins/weaviate_reader/grpc_listing.ts";
import type { ClassDefinition } from "../../plugins/_shared/weaviate_objects.ts";
import type { WeaviateConnection } from "../../plugins/_shared/weaviate.ts";
import { createLogger } from "../../src/logger.ts";
import type { Message, ObjectsMessage } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";

const SearchReply = searchProtocol.lookupType("weaviate.v1.SearchReply");
const SearchRequest = searchProtocol.lookupType("weaviate.v1.SearchRequest");
const ID = "00000000-0000-4000-8000-000000000001";

function f32(...values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
function f64(...values: number[]): Uint8Array {
  return new Uint8Array(Float64Array.from(values).buffer);
}
function i64(...values: bigint[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values).buffer);
}
function multi(rows: number[][]): Uint8Array {
  const out = new Uint8Array(2 + rows.length * rows[0]!.length * 4);
  new DataView(out.buffer).setUint16(0, rows[0]!.length, true);
  out.set(f32(...rows.flat()), 2);
  return out;
}
function reply(results: unknown[]): Uint8Array {
  return SearchReply.encode(SearchReply.fromObject({ results })).finish();
}
function result(fields: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return {
    properties: { nonRefProps: { fields } },
    metadata: { id: ID, ...metadata },
  };
}

Deno.test("decodeSearchReply() gives every value type in the REST listing's JSON shape", () => {
  const phone = {
    countryCode: 49,
    defaultCountry: "DE",
    input: "030 1234567",
    internationalFormatted: "+49 30 1234567",
    national: 301234567,
    nationalFormatted: "030 1234567",
    valid: true,
  };
  const [object] = decodeSearchReply(reply([result({
    text: { textValue: "Grüße ✓" },
    int: { intValue: -42 },
    num: { numberValue: -0 },
    bool: { boolValue: false },
    date: { dateValue: "2024-01-02T03:04:05.123456789+05:30" },
    uuid: { uuidValue: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d" },
    blob: { blobValue: "aGVsbG8=" },
    geo: { geoValue: { latitude: Math.fround(52.52), longitude: Math.fround(13.405) } },
    phone: { phoneValue: phone },
    invalidPhone: { phoneValue: { input: "12", defaultCountry: "DE" } },
    texts: { listValue: { textValues: { values: ["a", ""] } } },
    ints: { listValue: { intValues: { values: i64(1n, -2n, 2n ** 53n) } } },
    nums: { listValue: { numberValues: { values: f64(1e308, -0, 5e-324) } } },
    bools: { listValue: { boolValues: { values: [true, false] } } },
    dates: { listValue: { dateValues: { values: ["2020-02-29T00:00:00Z"] } } },
    uuids: { listValue: { uuidValues: { values: [ID] } } },
    emptyInts: { listValue: { intValues: { values: new Uint8Array() } } },
    emptyNums: { listValue: { numberValues: {} } },
    emptyTexts: { listValue: { textValues: {} } },
    emptyObjects: { listValue: { objectValues: {} } },
    obj: {
      objectValue: {
        fields: {
          z: { nullValue: 0 },
          a: { objectValue: { fields: { n: { intValue: 3 } } } },
          tags: { listValue: { textValues: { values: [""] } } },
        },
      },
    },
    objs: {
      listValue: {
        objectValues: { values: [{ fields: { k: { textValue: "x" } } }, { fields: {} }] },
      },
    },
    absent: { nullValue: 0 },
  })])).objects;
  assert.ok(object);
  const props = object.properties;
  assert.deepEqual(props, {
    blob: "aGVsbG8=",
    bool: false,
    bools: [true, false],
    date: "2024-01-02T03:04:05.123456789+05:30",
    dates: ["2020-02-29T00:00:00Z"],
    emptyInts: [],
    emptyNums: [],
    emptyObjects: [],
    emptyTexts: [],
    geo: { latitude: 52.52, longitude: 13.405 },
    int: -42,
    ints: [1, -2, 2 ** 53],
    invalidPhone: { defaultCountry: "DE", input: "12" },
    num: -0,
    nums: [1e308, -0, 5e-324],
    obj: { a: { n: 3 }, tags: [""], z: null },
    objs: [{ k: "x" }, {}],
    phone,
    text: "Grüße ✓",
    texts: ["a", ""],
    uuid: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    uuids: [ID],
  });
  assert.ok(Object.is(props.num, -0), "negative zero kept");
  assert.ok(Object.is((props.nums as number[])[1], -0), "negative zero kept in a list");
  assert.deepEqual(Object.keys(props), Object.keys(props).sort(), "keys sorted like Go's JSON");
  assert.deepEqual(Object.keys(props.obj as object), ["a", "tags", "z"]);
  assert.deepEqual(Object.keys(props.phone as object), Object.keys(phone), "REST's field order");
});

Deno.test("decodeSearchReply() gives vectors as float32 arrays: unnamed, named by name, multi", () => {
  const bytes = reply([result({}, {
    vectorBytes: f32(0.5, -1.25, NaN),
    vectors: [
      { name: "small", vectorBytes: f32(0.1, 0.2), type: 1 },
      { name: "colbert", vectorBytes: multi([[1, 2], [3, 4], [5, 6]]), type: 2 },
      { name: "empty", vectorBytes: new Uint8Array(), type: 1 },
    ],
    creationTimeUnix: 1795632507112,
    creationTimeUnixPresent: true,
    lastUpdateTimeUnix: 1795632507999,
    lastUpdateTimeUnixPresent: true,
  })]);
  // Shifted by one byte, every vector lands at another offset modulo 4.
  const shifted = new Uint8Array(bytes.byteLength + 1);
  shifted.set(bytes, 1);
  for (const input of [bytes, shifted.subarray(1)]) {
    const [object] = decodeSearchReply(input).objects;
    assert.ok(object);
    assert.deepEqual(object.vector, Float32Array.of(0.5, -1.25, NaN));
    assert.deepEqual(Object.keys(object.vectors), ["colbert", "small"], "sorted, empty left out");
    assert.deepEqual(object.vectors.small, Float32Array.of(0.1, 0.2));
    assert.deepEqual(object.vectors.colbert, [
      Float32Array.of(1, 2),
      Float32Array.of(3, 4),
      Float32Array.of(5, 6),
    ]);
    assert.equal(object.createdAt, 1795632507112);
    assert.equal(object.updatedAt, 1795632507999);
    for (const v of [object.vector!, object.vectors.small as Float32Array]) {
      assert.equal(v.byteOffset % 4, 0);
    }
  }
  const [aligned] = decodeSearchReply(bytes).objects;
  if ((bytes.byteOffset + bytes.indexOf(f32(0.5)[0]!)) % 4 === 0) {
    assert.equal(aligned!.vector!.buffer, bytes.buffer, "an aligned vector is a view");
  }
});

Deno.test("decodeSearchReply() leaves out what the object lacks and reads references", () => {
  const [object] = decodeSearchReply(reply([{
    properties: {
      refProps: [
        {
          propName: "related",
          properties: [
            { targetCollection: "Authors", metadata: { id: ID } },
            { targetCollection: "Things", metadata: { id: ID } },
          ],
        },
        { propName: "related", properties: [{ targetCollection: "Other", metadata: { id: ID } }] },
      ],
    },
    metadata: { id: ID },
  }])).objects;
  assert.deepEqual(object, {
    id: ID,
    properties: {},
    vectors: {},
    references: {
      related: [
        { id: ID, collection: "Authors" },
        { id: ID, collection: "Things" },
        { id: ID, collection: "Other" },
      ],
    },
  });
});

Deno.test("decodeSearchReply() marks a page holding -2^63 as inexact (Go's int64 overflow)", () => {
  const page = decodeSearchReply(reply([result({
    obj: {
      objectValue: { fields: { ns: { listValue: { intValues: { values: i64(-(2n ** 63n)) } } } } },
    },
  })]));
  assert.match(page.inexact ?? "", /-2\^63/);
  assert.equal(
    decodeSearchReply(reply([result({ n: { intValue: -(2 ** 53) } })])).inexact,
    undefined,
  );
});

Deno.test("decodeSearchReply() refuses a vector whose bytes are no float32 array", () => {
  assert.throws(
    () => decodeSearchReply(reply([result({}, { vectorBytes: new Uint8Array(7) })])),
    /no float32 array/,
  );
  assert.throws(
    () =>
      decodeSearchReply(reply([result({}, {
        vectors: [{ name: "m", vectorBytes: new Uint8Array([3, 0, 1, 2, 3, 4]), type: 2 }],
      })])),
    /multi-vector/,
  );
});

Deno.test("shortestFloat32() gives the number Go's JSON writes for a float32", () => {
  for (const x of [52.52, 13.405, -90, 180, 0.1, 1.0000001, -33.333332]) {
    assert.equal(shortestFloat32(Math.fround(x)), x);
  }
  assert.equal(shortestFloat32(0), 0);
  assert.ok(Object.is(shortestFloat32(-0), -0));
  // As Go 1.26 writes them: the narrow side of a power of two, and ties to the even digit.
  assert.equal(shortestFloat32(2 ** -96), 1.2621775e-29);
  assert.equal(shortestFloat32(42.3515625), 42.351562);
  assert.equal(shortestFloat32(-168.640625), -168.64062);
});

const definition: ClassDefinition = {
  class: "Things",
  properties: [
    { name: "title", dataType: ["text"] },
    { name: "data", dataType: ["blob"] },
    { name: "author", dataType: ["Authors"] },
    { name: "related", dataType: ["Authors", "Things"] },
    {
      name: "meta",
      dataType: ["object"],
      nestedProperties: [
        { name: "label", dataType: ["text"] },
        {
          name: "inner",
          dataType: ["object[]"],
          nestedProperties: [{ name: "n", dataType: ["number"] }],
        },
      ],
    } as { name: string; dataType: string[] },
  ],
  vectorConfig: { small: {}, colbert: {} },
};

Deno.test("searchPlan() names every property (blobs and nested ones too) and every named vector", () => {
  const plan = searchPlan(definition, true);
  const request = SearchRequest.toObject(
    SearchRequest.decode(encodeSearchRequest(plan, { after: ID, limit: 500, tenant: "t1" })),
  );
  assert.deepEqual(request, {
    collection: "Things",
    tenant: "t1",
    properties: {
      nonRefProperties: ["title", "data"],
      objectProperties: [{
        propName: "meta",
        primitiveProperties: ["label"],
        objectProperties: [{ propName: "inner", primitiveProperties: ["n"] }],
      }],
    },
    metadata: {
      uuid: true,
      vector: true,
      creationTimeUnix: true,
      lastUpdateTimeUnix: true,
      vectors: ["small", "colbert"],
    },
    limit: 500,
    after: ID,
    uses127Api: true,
  });
  const bare = SearchRequest.toObject(
    SearchRequest.decode(encodeSearchRequest(searchPlan(definition, false), { limit: 1 })),
  );
  assert.deepEqual(bare.metadata, {
    uuid: true,
    vector: false,
    creationTimeUnix: true,
    lastUpdateTimeUnix: true,
  });
  assert.equal(bare.after, undefined);
});

Deno.test("grpcUnsupported() names a type not checked against REST, at any depth", () => {
  assert.equal(grpcUnsupported(definition), undefined);
  assert.match(
    grpcUnsupported({ class: "C", properties: [{ name: "h", dataType: ["blobHash"] }] })!,
    /property h has type blobHash/,
  );
  const nested = {
    class: "C",
    properties: [{
      name: "o",
      dataType: ["object"],
      nestedProperties: [{ name: "x", dataType: ["someNewType"] }],
    }],
  };
  assert.match(grpcUnsupported(nested)!, /property o\.x has type someNewType/);
});

/** A context that logs into `logs` and never retries. */
function context(logs: string[]): PluginContext & { closes: (() => unknown)[] } {
  const counters = new Map<string, number>();
  const closes: (() => unknown)[] = [];
  const log = createLogger({ level: "debug", write: (line: string) => logs.push(line) });
  return {
    signal: new AbortController().signal,
    log,
    metrics: {
      add: (name: string, n = 1) => counters.set(name, (counters.get(name) ?? 0) + n),
      get: (name: string) => counters.get(name) ?? 0,
    },
    retry: (fn: (signal: AbortSignal, attempt: number) => unknown) =>
      fn(new AbortController().signal, 1),
    onClose: (fn: () => unknown) => closes.push(fn),
    closes,
  } as unknown as PluginContext & { closes: (() => unknown)[] };
}

/** A connection whose REST listing serves `objects` (sorted by id). */
function restConnection(grpcAddress: string, ids: string[]): WeaviateConnection {
  return {
    version: "1.39.0",
    url: "http://rest",
    grpcAddress: new URL(grpcAddress),
    client: () => Promise.reject(new Error("no client")),
    rest: <T>(_method: string, path: string) => {
      const q = new URL(path, "http://x").searchParams;
      const after = q.get("after");
      const page = ids.filter((id) => after === null || id > after)
        .slice(0, Number(q.get("limit")))
        .map((id) => ({ id, properties: { n: 1 } }));
      return Promise.resolve({ objects: page } as T);
    },
  };
}

const ids = Array.from({ length: 5 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
const plain: ClassDefinition = { class: "Plain", properties: [{ name: "n", dataType: ["int"] }] };

async function collect(listing: GrpcListing): Promise<ObjectsMessage[]> {
  const out: Message[] = [];
  for await (const m of listing.list(plain, undefined, { pageSize: 2, includeVectors: true })) {
    out.push(m);
  }
  return out as ObjectsMessage[];
}

Deno.test("GrpcListing lists over REST when nothing answers on the gRPC port", async () => {
  const logs: string[] = [];
  const ctx = context(logs);
  // Port 1 refuses connections.
  const listing = new GrpcListing(restConnection("http://127.0.0.1:1", ids), { headers: {} }, ctx);
  try {
    const pages = await collect(listing);
    assert.deepEqual(pages.map((p) => [p.seq, p.objects.map((o) => o.id)]), [
      [0, ids.slice(0, 2)],
      [1, ids.slice(2, 4)],
      [2, ids.slice(4)],
    ]);
    assert.equal(ctx.metrics.get(GRPC_COUNTER), 0);
    assert.ok(logs.some((l) => /no gRPC listing at 127\.0\.0\.1:1/.test(l)), logs.join("\n"));
    assert.ok(logs.some((l) => /listing objects over REST \(gRPC unavailable\)/.test(l)));
  } finally {
    for (const close of ctx.closes.reverse()) await close();
  }
});

/** A gRPC server whose Search answers with `answer(request)`. */
async function searchServer(
  answer: (request: Record<string, unknown>) => Uint8Array | grpc.ServiceError,
): Promise<{ address: string; stop(): void }> {
  const server = new grpc.Server();
  server.addService({
    Search: {
      path: "/weaviate.v1.Weaviate/Search",
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Uint8Array) => b as Buffer,
      requestDeserialize: (b: Buffer) => SearchRequest.toObject(SearchRequest.decode(b)),
      responseSerialize: (b: Uint8Array) => b as Buffer,
      responseDeserialize: (b: Buffer) => b,
    },
  }, {
    Search: (
      call: grpc.ServerUnaryCall<Record<string, unknown>, Uint8Array>,
      done: grpc.sendUnaryData<Uint8Array>,
    ) => {
      const out = answer(call.request);
      if (out instanceof Uint8Array) done(null, out);
      else done(out);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (e, p) => e ? reject(e) : resolve(p),
    )
  );
  return { address: `http://127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

Deno.test("GrpcListing pages over gRPC and reads a page holding -2^63 over REST", async () => {
  const requests: Record<string, unknown>[] = [];
  const server = await searchServer((request) => {
    requests.push(request);
    const after = request.after as string | undefined;
    const page = ids.filter((id) => after === undefined || id > after).slice(0, 2);
    // The second page holds an int that may be an overflow.
    const n = page[0] === ids[2] ? { intValue: "-9223372036854775808" } : { intValue: 7 };
    return reply(page.map((id) => ({
      properties: { nonRefProps: { fields: { n } } },
      metadata: { id, vectorBytes: f32(1, 2) },
    })));
  });
  const logs: string[] = [];
  const ctx = context(logs);
  const listing = new GrpcListing(restConnection(server.address, ids), { headers: {} }, ctx);
  try {
    const pages = await collect(listing);
    assert.deepEqual(pages.map((p) => p.objects.map((o) => o.id)), [
      ids.slice(0, 2),
      ids.slice(2, 4),
      ids.slice(4),
    ]);
    assert.deepEqual(pages[0]!.objects[0]!.properties, { n: 7 });
    assert.deepEqual(pages[1]!.objects[0]!.properties, { n: 1 }, "the REST page's values");
    assert.equal(ctx.metrics.get(GRPC_COUNTER), 3);
    assert.deepEqual(requests.map((r) => r.after), [undefined, ids[1], ids[3]]);
    assert.ok(logs.some((l) => /listing objects over gRPC/.test(l)));
  } finally {
    for (const close of ctx.closes.reverse()) await close();
    server.stop();
  }
});

Deno.test("GrpcListing falls back to REST at the cursor when Search is UNIMPLEMENTED", async () => {
  const server = await searchServer(() =>
    Object.assign(new Error("unimplemented"), {
      code: grpc.status.UNIMPLEMENTED,
      details: "unknown service weaviate.v1.Weaviate",
      metadata: new grpc.Metadata(),
    })
  );
  const logs: string[] = [];
  const ctx = context(logs);
  const listing = new GrpcListing(restConnection(server.address, ids), { headers: {} }, ctx);
  try {
    const pages = await collect(listing);
    assert.equal(pages.flatMap((p) => p.objects).length, 5);
    assert.ok(logs.some((l) => /no gRPC listing/.test(l)), logs.join("\n"));
  } finally {
    for (const close of ctx.closes.reverse()) await close();
    server.stop();
  }
});

Deno.test('GrpcListing rides out a restart\'s "could not find class" and stays on gRPC', async () => {
  let calls = 0;
  const server = await searchServer((request) => {
    if (calls++ === 1) {
      return Object.assign(new Error("not loaded"), {
        code: grpc.status.UNKNOWN,
        details: "could not find class Plain in schema",
        metadata: new grpc.Metadata(),
      });
    }
    const after = request.after as string | undefined;
    const page = ids.filter((id) => after === undefined || id > after).slice(0, 2);
    return reply(page.map((id) => ({ metadata: { id } })));
  });
  const logs: string[] = [];
  const ctx = context(logs);
  const listing = new GrpcListing(restConnection(server.address, ids), { headers: {} }, ctx);
  try {
    const pages = await collect(listing);
    assert.equal(pages.flatMap((p) => p.objects).length, 5);
    assert.equal(ctx.metrics.get(GRPC_COUNTER), 5, "every page over gRPC");
    assert.equal(calls, 4);
  } finally {
    for (const close of ctx.closes.reverse()) await close();
    server.stop();
  }
});
