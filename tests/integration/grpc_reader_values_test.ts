/**
 * The gRPC listing of `weaviate-reader` (flag `grpc-reader`) against the REST
 * listing on a real Weaviate, value by value: adversarial text, ints and
 * numbers at their limits, dates of every precision and zone, uuids, geo
 * coordinates, phone numbers, blobs, nested objects three levels deep, nulls
 * against empty arrays, odd property names, objects with and without their
 * vectors, tenants, and objects Weaviate itself reads back as something else.
 * Both backups must be the same bytes.
 *
 * Values Weaviate refuses on insert (so no source can hold them) are listed
 * in `REFUSED` and checked to stay refused.
 */
import assert from "node:assert/strict";
import { GRPC_COUNTER } from "../../plugins/weaviate_reader/grpc_listing.ts";
import { JsonLiteral } from "../../plugins/_shared/json.ts";
import { useWeaviate } from "../harness/weaviate.ts";
import { assertSameBackups, backupWithFlag } from "./_listings.ts";
import { insertAll, insertObjects, integration, rest, uniqueName } from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

const backup = (collections: string[], flag: "on" | "off", extra: string[] = []) =>
  backupWithFlag(server, collections, flag, extra);

/** An id whose order is that of `n` (pages of a given size hold known cases). */
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
/** A number written into the request as these digits. */
const digits = (text: string) => new JsonLiteral(text);

/** 100 KB and more: ASCII, a 3-byte and a 4-byte character. */
const LONG = "ab€😀".repeat(12_000);

/** Every nested type, with nested objects three levels deep. */
const NESTED = [
  { name: "text", dataType: ["text"] },
  { name: "texts", dataType: ["text[]"] },
  { name: "int", dataType: ["int"] },
  { name: "ints", dataType: ["int[]"] },
  { name: "num", dataType: ["number"] },
  { name: "nums", dataType: ["number[]"] },
  { name: "bool", dataType: ["boolean"] },
  { name: "bools", dataType: ["boolean[]"] },
  { name: "date", dataType: ["date"] },
  { name: "dates", dataType: ["date[]"] },
  { name: "uuid", dataType: ["uuid"] },
  { name: "uuids", dataType: ["uuid[]"] },
  { name: "blob", dataType: ["blob"] },
  { name: "camelCase", dataType: ["text"] },
  { name: "snake_Case_2", dataType: ["int"] },
  { name: "__proto__", dataType: ["text"] },
  {
    name: "child",
    dataType: ["object"],
    nestedProperties: [
      { name: "label", dataType: ["text"] },
      { name: "ints", dataType: ["int[]"] },
      {
        name: "leaves",
        dataType: ["object[]"],
        nestedProperties: [
          { name: "x", dataType: ["number"] },
          { name: "at", dataType: ["date"] },
          { name: "tags", dataType: ["text[]"] },
        ],
      },
    ],
  },
  {
    name: "children",
    dataType: ["object[]"],
    nestedProperties: [
      { name: "k", dataType: ["text"] },
      { name: "n", dataType: ["int"] },
      {
        name: "grand",
        dataType: ["object"],
        nestedProperties: [{ name: "deep", dataType: ["text"] }, {
          name: "flags",
          dataType: ["boolean[]"],
        }],
      },
    ],
  },
];

const GEO_SHAPED = [
  { name: "latitude", dataType: ["number"] },
  { name: "longitude", dataType: ["number"] },
];

/** Top-level properties of `Values…`: every type, odd names, nested objects. */
const PROPERTIES = [
  ...NESTED.slice(0, 13),
  { name: "geo", dataType: ["geoCoordinates"] },
  { name: "phone", dataType: ["phoneNumber"] },
  { name: "obj", dataType: ["object"], nestedProperties: NESTED },
  { name: "objs", dataType: ["object[]"], nestedProperties: NESTED },
  { name: "camelCase", dataType: ["text"] },
  { name: "UpperFirst", dataType: ["int"] },
  { name: "_leading_under", dataType: ["number"] },
  { name: "snake_Case_2", dataType: ["boolean"] },
  { name: "__proto__", dataType: ["text"] },
  { name: "constructor", dataType: ["text[]"] },
  // Shaped like geo coordinates one level down, where Weaviate leaves them objects.
  { name: "places", dataType: ["object[]"], nestedProperties: GEO_SHAPED },
  {
    name: "meta",
    dataType: ["object"],
    nestedProperties: [{ name: "where", dataType: ["object"], nestedProperties: GEO_SHAPED }],
  },
];

const NESTED_FULL = {
  text: "nested \u0000 😀 e\u0301",
  texts: ["", "x", ""],
  int: digits("-9007199254740993"),
  ints: [0, -1, 2 ** 53, digits("4611686018427387904")],
  num: -0,
  nums: [-0, 5e-324, 1.7976931348623157e308, 0.1, 1e21, 1e-7, 3],
  bool: false,
  bools: [true, false],
  date: "2024-01-02T03:04:05.123456789+05:30",
  dates: ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2024-02-29T12:00:00.1-00:00"],
  uuid: "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D",
  uuids: ["00000000-0000-0000-0000-000000000000"],
  blob: "aGVsbG8gd2VmdA==",
  camelCase: "c",
  snake_Case_2: -0,
  ["__proto__"]: "nested proto",
  child: {
    label: "level 2",
    ints: [],
    leaves: [
      { x: -0, at: "1970-01-01T00:00:00Z", tags: [""] },
      { x: null, tags: [] },
      {},
    ],
  },
  children: [
    { k: "a", n: 1, grand: { deep: "level 3", flags: [] } },
    { k: null, grand: { deep: null, flags: [false] } },
    { grand: {} },
  ],
};

/** One object per case, by case name: the properties sent to Weaviate. */
const CASES: Record<string, Record<string, unknown>> = {
  unicode: {
    text: "Grüße 世界 😀👍🏽🇩🇪👨‍👩‍👧 e\u0301 a\u0308\u0301 \ufeff 𝔘𝔫𝔦 \u{10ffff} \ufffd",
    texts: ["😀", "e\u0301", "\u0301", "ﷺ", "\u200d"],
  },
  control: {
    text: "a\u0000b\u0001\u001f\u007f\u0080\u009f\t\r\n\b\f\v\u2028\u2029<>&'\"\\/",
    texts: ["\u0000", "\u0000\u0000", "\\u0000", "</script>"],
  },
  loneSurrogates: { text: "x\ud800y\udfff", texts: ["\ud83d"] },
  long: { text: LONG, texts: [LONG.slice(0, 50_000), LONG.slice(1)] },
  empty: { text: "", texts: [""] },
  emptyStrings: { texts: ["", "", ""], obj: { text: "", texts: [""] } },
  emptyArrays: {
    texts: [],
    ints: [],
    nums: [],
    bools: [],
    dates: [],
    uuids: [],
    objs: [],
    constructor: [],
    obj: { texts: [], ints: [], nums: [], bools: [], dates: [], uuids: [], children: [] },
  },
  emptyObjects: { obj: {}, objs: [{}, {}] },
  explicitNulls: {
    text: null,
    texts: null,
    int: null,
    ints: null,
    num: null,
    nums: null,
    bool: null,
    bools: null,
    date: null,
    dates: null,
    uuid: null,
    uuids: null,
    blob: null,
    geo: null,
    phone: null,
    obj: null,
    objs: null,
  },
  absent: {},
  intSmall: { int: 0, ints: [0, -1, 1, -0] },
  intNegZero: { int: -0 },
  int2p53: { int: 2 ** 53, ints: [2 ** 53, -(2 ** 53), 2 ** 53 - 1, -(2 ** 53 - 1)] },
  int2p53plus1: {
    int: digits("9007199254740993"),
    ints: [digits("9007199254740993"), digits("-9007199254740993")],
  },
  int2p62: {
    int: digits("4611686018427387904"),
    ints: [digits("4611686018427387904"), digits("-4611686018427387904")],
  },
  intNearMax: {
    int: digits("9223372036854774784"),
    ints: [digits("-9223372036854774784")],
  },
  numbers: {
    num: -0,
    nums: [
      -0,
      0,
      5e-324,
      -5e-324,
      2.2250738585072014e-308,
      1.7976931348623157e308,
      -1.7976931348623157e308,
      0.1,
      0.30000000000000004,
      1 / 3,
      1e21,
      1e-7,
      1e-6,
      123456789012345680000,
      42,
      -42,
      2 ** 53 + 2,
    ],
  },
  numberLiterals: {
    num: digits("9007199254740993"),
    nums: [digits("1E+2"), digits("0.10"), digits("1.0"), digits("-0.0"), digits("4.9e-324")],
  },
  numTiny: { num: 5e-324 },
  numHuge: { num: 1.7976931348623157e308 },
  numFraction: { num: 0.1 },
  num1e21: { num: 1e21 },
  num1em7: { num: 1e-7 },
  numInteger: { num: 7 },
  booleans: { bool: true, bools: [true, false, true] },
  booleanFalse: { bool: false, bools: [false] },
  dateSeconds: { date: "2024-01-02T03:04:05Z", dates: ["2024-01-02T03:04:05Z"] },
  dateTenth: { date: "2024-01-02T03:04:05.1Z", dates: ["2024-01-02T03:04:05.10Z"] },
  dateNanos: {
    date: "2024-01-02T03:04:05.123456789Z",
    dates: ["2024-01-02T03:04:05.000000001Z", "2024-01-02T03:04:05.120000Z"],
  },
  dateZones: {
    date: "2024-01-02T03:04:05+05:30",
    dates: [
      "2024-01-02T03:04:05-00:00",
      "2024-01-02T03:04:05+00:00",
      "2024-01-02T03:04:05.5-08:00",
      "2024-12-31T23:59:59.999+14:00",
      "2024-01-01T00:00:00-12:00",
    ],
  },
  dateMinusZero: { date: "2024-06-30T23:59:59-00:00" },
  dateYears: {
    date: "0001-01-01T00:00:00Z",
    dates: [
      "9999-12-31T23:59:59.999999999Z",
      "1969-12-31T23:59:59.999999Z",
      "1900-01-01T00:00:00Z",
    ],
  },
  date9999: { date: "9999-12-31T23:59:59Z" },
  uuids: {
    uuid: "9f9a8a5e-0c43-4a8e-9b1f-1a2b3c4d5e6f",
    uuids: [
      "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D",
      "00000000-0000-0000-0000-000000000000",
      "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ],
  },
  uuidUpper: { uuid: "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D", uuids: [] },
  geoZero: { geo: { latitude: 0, longitude: 0 } },
  geoNegative: { geo: { latitude: -33.865143, longitude: -151.2099 } },
  geoLimits: { geo: { latitude: 90, longitude: -180 } },
  geoLimits2: { geo: { latitude: -90, longitude: 180 } },
  geoPrecise: { geo: { latitude: 52.520008123456, longitude: 13.404954987654 } },
  // 2^-96: the shortest decimal lies on the narrow side of a power of two.
  geoPowerOfTwo: { geo: { latitude: 1.2621774483536189e-29, longitude: 2 ** -20 } },
  geoTiny: { geo: { latitude: 1e-45, longitude: -1e-40 } },
  geoNegZero: { geo: { latitude: -0, longitude: -0 } },
  phoneInternational: { phone: { input: "+49 30 1234567" } },
  phoneNational: { phone: { input: "030 1234567", defaultCountry: "DE" } },
  phoneInvalid: { phone: { input: "12", defaultCountry: "DE" } },
  phoneLowerCountry: { phone: { input: "+1 202-555-0143", defaultCountry: "us" } },
  blobs: { blob: "AA==" },
  blobKb: { blob: new Uint8Array(1024).map((_, i) => (i * 37) & 255).toBase64() },
  nestedFull: { obj: NESTED_FULL, objs: [NESTED_FULL, {}, { text: "second" }] },
  nestedNulls: {
    obj: {
      text: null,
      ints: null,
      child: { label: null, ints: null, leaves: null },
      children: null,
    },
    objs: [{ text: null }, { child: null }, { children: [{ grand: null }] }],
  },
  nestedEmptyArrays: {
    obj: { child: { ints: [], leaves: [] }, children: [] },
    objs: [{ children: [{ grand: { flags: [] } }] }, { child: { leaves: [{ tags: [] }] } }],
  },
  oddNames: {
    camelCase: "camel",
    upperFirst: 7,
    _leading_under: -0,
    snake_Case_2: true,
    ["__proto__"]: "proto",
    constructor: ["a", ""],
  },
  geoShapedNested: {
    places: [{ latitude: 0.123456789, longitude: -12.3456789 }, { latitude: 1 }],
    meta: { where: { latitude: 0.123456789, longitude: -12.3456789 } },
  },
  everything: {
    text: "all",
    texts: ["a", "b"],
    int: -1,
    ints: [1],
    num: 1.5,
    nums: [2.5],
    bool: true,
    bools: [false],
    date: "2020-02-29T00:00:00Z",
    dates: ["2020-02-29T00:00:00.000001Z"],
    uuid: "11111111-2222-4333-8444-555555555555",
    uuids: ["11111111-2222-4333-8444-555555555555"],
    blob: "/w==",
    geo: { latitude: 52.52, longitude: 13.405 },
    phone: { input: "+44 20 7946 0958" },
    obj: { text: "o" },
    objs: [{ int: 1 }],
  },
};

/** Values Weaviate refuses on insert, so no source can hold them. */
const REFUSED: Record<string, Record<string, unknown>> = {
  intExponent: { int: digits("1e3") },
  intPointZero: { int: digits("2.0") },
  intsExponent: { ints: [digits("-1E2")] },
  blobEmpty: { blob: "" },
};

/**
 * Creates `Values…` (one unnamed vector) with an object per case, then adds a
 * property (the objects before lack it) and an object that has it; resolves
 * with the number of objects.
 */
async function createValues(name: string): Promise<number> {
  await rest(server, "POST", "/v1/schema", {
    class: name,
    vectorizer: "none",
    invertedIndexConfig: { indexNullState: true, indexPropertyLength: true },
    properties: PROPERTIES,
  });
  const ids: Record<string, string> = {};
  const objects = Object.entries(CASES).map(([key, properties], i) => {
    ids[key] = id(i + 1);
    // Every third object has no vector.
    const vector = i % 3 === 2 ? {} : { vector: [i, -0, 1e-45, 3.4028234663852886e38] };
    return { class: name, id: ids[key], properties, ...vector };
  });
  const errors = await insertObjects(server, objects);
  const refused = Object.entries(ids).filter(([, u]) => errors[u]).map(([k, u]) =>
    `${k}: ${errors[u]}`
  );
  assert.deepEqual(refused, [], "Weaviate takes every case");
  for (const [key, properties] of Object.entries(REFUSED)) {
    const u = crypto.randomUUID();
    const refusedErrors = await insertObjects(server, [{ class: name, id: u, properties }]);
    assert.ok(refusedErrors[u], `${key} is still refused`);
  }
  await rest(server, "POST", `/v1/schema/${name}/properties`, {
    name: "addedLater",
    dataType: ["object"],
    nestedProperties: [{ name: "n", dataType: ["int"] }],
  });
  await insertAll(server, [{
    class: name,
    id: id(999),
    properties: { addedLater: { n: -1 }, text: "after" },
  }]);
  return objects.length + 1;
}

Deno.test({
  name: "gRPC and REST listings back up adversarial values of every type identically",
  ...integration,
  async fn() {
    const name = uniqueName("Values");
    const count = await createValues(name);
    for (const pageSize of ["4", "500"]) {
      const set = ["--set", `source.with.pageSize=${pageSize}`];
      const overGrpc = await backup([name], "on", set);
      const overRest = await backup([name], "off", set);
      await assertSameBackups(overGrpc, overRest);
      assert.equal(overGrpc.objects.size, count);
      assert.match(overGrpc.stderr, new RegExp(`listing objects over gRPC .*collection=${name}`));
      // Every page over gRPC: no value made the listing fall back to REST.
      assert.equal(overGrpc.counters[GRPC_COUNTER], count);
    }
    await rest(server, "DELETE", `/v1/schema/${name}`);
  },
});

Deno.test({
  name:
    "a geo coordinate halfway between two shortest decimals is read over REST, others over gRPC",
  ...integration,
  async fn() {
    const name = uniqueName("Geo");
    await rest(server, "POST", "/v1/schema", {
      class: name,
      vectorizer: "none",
      properties: [{ name: "geo", dataType: ["geoCoordinates"] }],
    });
    // Float32 values exactly halfway between two shortest decimals (Go 1.26 writes
    // 42.351562, -168.64062, 0.00024414063), and values next to them that are not.
    const ties = [
      { latitude: 42.3515625, longitude: 1 },
      { latitude: 0, longitude: -168.640625 },
      { latitude: 2 ** -12, longitude: 0 },
    ];
    const plain = [
      { latitude: 42.351566, longitude: 1.0000001 },
      { latitude: 10.5, longitude: -168.64064 },
      { latitude: 2 ** -96, longitude: 2 ** -13 },
    ];
    await insertAll(
      server,
      [...ties, ...plain].map((geo, i) => ({ class: name, id: id(i + 1), properties: { geo } })),
    );
    const set = ["--set", "source.with.pageSize=1"];
    const overGrpc = await backup([name], "on", set);
    await assertSameBackups(overGrpc, await backup([name], "off", set));
    assert.equal(overGrpc.counters[GRPC_COUNTER], plain.length, JSON.stringify(overGrpc.counters));
    assert.deepEqual(
      [...overGrpc.objects.values()].map((o) => o.properties.geo),
      [
        { latitude: 42.351562, longitude: 1 },
        { latitude: 0, longitude: -168.64062 },
        { latitude: 0.00024414063, longitude: 0 },
        { latitude: 42.351566, longitude: 1.0000001 },
        { latitude: 10.5, longitude: -168.64064 },
        { latitude: 1.2621775e-29, longitude: 0.00012207031 },
      ],
    );
    await rest(server, "DELETE", `/v1/schema/${name}`);
  },
});

Deno.test({
  name:
    "gRPC and REST listings back up named vectors, missing vectors and one-row multi-vectors identically",
  ...integration,
  async fn() {
    const name = uniqueName("Named");
    const none = { vectorizer: { none: {} } };
    await rest(server, "POST", "/v1/schema", {
      class: name,
      properties: [
        { name: "label", dataType: ["text"] },
        { name: "obj", dataType: ["object"], nestedProperties: NESTED },
      ],
      vectorConfig: {
        a: { ...none, vectorIndexType: "hnsw" },
        b: { ...none, vectorIndexType: "flat" },
        multi: {
          ...none,
          vectorIndexType: "hnsw",
          vectorIndexConfig: { multivector: { enabled: true } },
        },
      },
    });
    const vectors: Record<string, Record<string, unknown>> = {
      all: {
        a: [1, 2, 3],
        b: [-0, 1e-45, -3.4028234663852886e38, 0.1],
        multi: [[1, 2], [3, 4], [5, 6]],
      },
      onlyA: { a: [0.5, -0.5, 1e-40] },
      onlyB: { b: [1, 1, 1, 1] },
      oneRow: { multi: [[0.25, -0.25]] },
      oneRowZero: { a: [0, 0, 0], multi: [[-0, 0]] },
      aAndMulti: { a: [3, 2, 1], multi: [[9, 8], [7, 6]] },
      nothing: {},
    };
    await insertAll(
      server,
      Object.entries(vectors).map(([label, v], i) => ({
        class: name,
        id: id(i + 1),
        properties: { label, ...(i % 2 ? { obj: NESTED_FULL } : {}) },
        ...(Object.keys(v).length ? { vectors: v } : {}),
      })),
    );
    for (const pageSize of ["2", "500"]) {
      const set = ["--set", `source.with.pageSize=${pageSize}`];
      const overGrpc = await backup([name], "on", set);
      await assertSameBackups(overGrpc, await backup([name], "off", set));
      assert.equal(overGrpc.counters[GRPC_COUNTER], Object.keys(vectors).length);
      const byLabel = new Map([...overGrpc.objects.values()].map((o) => [o.properties.label, o]));
      assert.deepEqual(Object.keys(byLabel.get("oneRow")!.vectors), ["multi"]);
      assert.equal((byLabel.get("oneRow")!.vectors.multi as Float32Array[]).length, 1);
      assert.deepEqual(byLabel.get("nothing")!.vectors, {});
    }
    // Without vectors the two listings agree too.
    const plain = ["--set", "source.with.includeVectors=false"];
    await assertSameBackups(await backup([name], "on", plain), await backup([name], "off", plain));
    await rest(server, "DELETE", `/v1/schema/${name}`);
  },
});

Deno.test({
  name: "gRPC and REST listings back up the values of a multi-tenant collection identically",
  ...integration,
  async fn() {
    const name = uniqueName("Tenanted");
    await rest(server, "POST", "/v1/schema", {
      class: name,
      multiTenancyConfig: { enabled: true },
      properties: PROPERTIES,
      vectorConfig: { a: { vectorizer: { none: {} }, vectorIndexType: "flat" } },
    });
    await rest(server, "POST", `/v1/schema/${name}/tenants`, [
      { name: "t1" },
      { name: "T2-upper" },
      { name: "empty" },
    ]);
    const cases = Object.values(CASES);
    const objects = cases.map((properties, i) => ({
      class: name,
      id: id(i + 1),
      tenant: i % 2 ? "t1" : "T2-upper",
      properties,
      ...(i % 3 ? { vectors: { a: [i, -0] } } : {}),
    }));
    await insertAll(server, objects);
    for (const pageSize of ["3", "500"]) {
      const set = ["--set", `source.with.pageSize=${pageSize}`];
      const overGrpc = await backup([name], "on", set);
      await assertSameBackups(overGrpc, await backup([name], "off", set));
      assert.equal(overGrpc.counters[GRPC_COUNTER], cases.length);
      assert.deepEqual(
        new Set([...overGrpc.objects.values()].map((o) => o.tenant)),
        new Set(["t1", "T2-upper"]),
      );
    }
    await rest(server, "DELETE", `/v1/schema/${name}`);
  },
});

Deno.test({
  name: "objects Weaviate reads back as geo, phone or references back up over REST, identically",
  ...integration,
  async fn() {
    const prefix = uniqueName("Lookalike");
    const shapes: Record<string, [Record<string, unknown>, unknown[]]> = {
      place: [{
        dataType: ["object"],
        nestedProperties: [
          { name: "latitude", dataType: ["number"] },
          { name: "longitude", dataType: ["number"] },
          { name: "note", dataType: ["text"] },
        ],
      }, [
        // REST shows this one as float32 numbers (0.12345679, -12.345679).
        { latitude: 0.123456789, longitude: -12.3456789 },
        { latitude: 0.123456789 },
        { latitude: 0.123456789, longitude: 1, note: "three keys" },
      ]],
      contact: [{
        dataType: ["object"],
        nestedProperties: [
          { name: "input", dataType: ["text"] },
          { name: "internationalFormatted", dataType: ["text"] },
          { name: "nationalFormatted", dataType: ["text"] },
          { name: "national", dataType: ["number"] },
          { name: "countryCode", dataType: ["number"] },
          { name: "valid", dataType: ["boolean"] },
        ],
      }, [
        {
          input: "x",
          internationalFormatted: "+49 30 1234567",
          nationalFormatted: "030 1234567",
          national: 301234567.5,
          countryCode: 49,
          valid: false,
        },
        { input: "only input" },
      ]],
      links: [{
        dataType: ["object[]"],
        nestedProperties: [
          { name: "beacon", dataType: ["text"] },
          { name: "weight", dataType: ["int"] },
        ],
      }, [
        // REST shows this one as a reference: [{ beacon }] (weight lost).
        [{
          beacon: "weaviate://localhost/Elsewhere/00000000-0000-4000-8000-000000000001",
          weight: 5,
        }],
        [{ beacon: "not a beacon", weight: 4 }],
        [{ weight: 3 }],
      ]],
    };
    // Weaviate refuses a later element with a beacon: "mismatched data type - 'object' expected, got reference".
    const names = Object.keys(shapes).map((p) => `${prefix}${p}`);
    for (const [n, [property, [definition, values]]] of Object.entries(shapes).entries()) {
      const name = `${prefix}${property}`;
      await rest(server, "POST", "/v1/schema", {
        class: name,
        vectorizer: "none",
        properties: [{ name: "label", dataType: ["text"] }, { name: property, ...definition }],
      });
      await insertAll(server, [
        { class: name, id: id(n * 10), properties: { label: "plain" }, vector: [1, 2] },
        ...values.map((value, i) => ({
          class: name,
          id: id(n * 10 + i + 1),
          properties: { [property]: value },
          vector: [i, 1],
        })),
      ]);
    }
    const overGrpc = await backup(names, "on");
    await assertSameBackups(overGrpc, await backup(names, "off"));
    assert.equal(overGrpc.objects.size, 4 + 3 + 4);
    // Read over REST from the start (not after a failed search): their definitions allow such values.
    for (
      const [property, readAs] of Object.entries({
        place: "geoCoordinates",
        contact: "phoneNumber",
        links: "references",
      })
    ) {
      const type = property === "links" ? "object\\[\\]" : "object";
      assert.match(
        overGrpc.stderr,
        new RegExp(
          `over REST \\(gRPC cannot read it exactly: property ${property} \\(${type}\\) may hold values Weaviate reads as ${readAs}\\)`,
        ),
      );
    }
    assert.doesNotMatch(overGrpc.stderr, /WARN/);
    assert.equal(overGrpc.counters[GRPC_COUNTER], undefined);
    for (const name of names) await rest(server, "DELETE", `/v1/schema/${name}`);
  },
});
