/**
 * Every property type at its edge values, tenants in every restorable state,
 * references in every direction and objects without vectors: a backup
 * restored into a fresh server (over gRPC and over REST), and a migration to a
 * new collection on the same server, must hold exactly what the source holds
 * (REST listings, numbers compared as the digits Weaviate wrote), the same
 * definitions and the same null-state and property-length counts, and
 * `weft verify` must find no difference.
 *
 * FROZEN tenants are not covered: they need offload storage, which the test
 * servers do not have.
 */
import assert from "node:assert/strict";
import { JsonLiteral, stringifyJson } from "../../plugins/_shared/json.ts";
import { startWeaviate, useWeaviate, type WeaviateServer } from "../harness/weaviate.ts";
import {
  aggregateCount,
  backupTo,
  denoTask,
  insertAll,
  insertObjects,
  integration,
  listAll,
  type Listed,
  readBackup,
  rest,
  serverEnv,
  tenantStatuses,
  uniqueName,
} from "./_helpers.ts";

const source = await useWeaviate();
addEventListener("unload", () => void source.stop());

/** An integer written into the request as these digits (a double cannot hold them). */
const digits = (text: string) => new JsonLiteral(text);

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

/** A number as the digits Weaviate wrote in its JSON answer. */
class Digits {
  constructor(readonly text: string) {}
}

/**
 * Every object of a collection (and tenant) like {@linkcode listAll}, but
 * with each number kept as the text Weaviate sent, so that integers no double
 * holds, and -0, compare exactly.
 */
async function listExact(server: WeaviateServer, name: string, tenant?: string) {
  const out = new Map<string, unknown>();
  let after = "";
  for (;;) {
    const q = new URLSearchParams({ class: name, limit: "100", include: "vector" });
    if (tenant) q.set("tenant", tenant);
    if (after) q.set("after", after);
    const res = await fetch(`${server.url}/v1/objects?${q}`);
    const text = await res.text();
    assert.ok(res.ok, text.slice(0, 500));
    const { objects } = JSON.parse(
      text,
      (_key, value, context?: { source?: string }) =>
        typeof value === "number" ? new Digits(context!.source!) : value,
    ) as { objects: Listed[] };
    if (!objects.length) return out;
    for (const o of objects) {
      out.set(o.id, { properties: o.properties, vector: o.vector, vectors: o.vectors });
    }
    after = objects.at(-1)!.id;
  }
}

/** Short text of a value for a difference message (-0 kept). */
function show(value: unknown): string {
  const text = value === undefined ? "absent" : stringifyJson(value);
  return text.length > 120
    ? `${text.slice(0, 60)}…(${text.length} chars)…${text.slice(-30)}`
    : text;
}

/** Where two JSON-like values differ, as `path: expected ≠ actual` (shorter than an assert diff of MBs). */
function differences(expected: unknown, actual: unknown, path = "$"): string[] {
  if (Object.is(expected, actual)) return [];
  if (expected instanceof Map && actual instanceof Map) {
    return differences(Object.fromEntries(expected), Object.fromEntries(actual), path);
  }
  if (
    expected && actual && typeof expected === "object" && typeof actual === "object" &&
    Array.isArray(expected) === Array.isArray(actual) &&
    Object.getPrototypeOf(expected) === Object.getPrototypeOf(actual) &&
    (!Array.isArray(expected) || expected.length === (actual as unknown[]).length)
  ) {
    const a = expected as Record<string, unknown>;
    const b = actual as Record<string, unknown>;
    return [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .flatMap((k) => differences(a[k], b[k], `${path}.${k}`));
  }
  return [`${path}: ${show(expected)} ≠ ${show(actual)}`];
}

/** Asserts that `actual` is exactly `expected`, naming each differing path first. */
function assertSame(actual: unknown, expected: unknown, what: string) {
  const found = differences(expected, actual);
  assert.deepEqual(found, [], `${what}:\n${found.join("\n")}`);
  assert.deepStrictEqual(actual, expected, what);
}

/** `value` with beacons and hrefs pointing at `from` pointing at `to` (-0 kept). */
function renamed<T>(value: T, from: string, to: string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return v.replaceAll(`/${from}/`, `/${to}/`);
    if (v instanceof Digits) return v;
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, walk(x)]));
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** A definition as `GET /v1/schema/{name}` returns it. */
function definition(server: WeaviateServer, name: string) {
  return rest<Record<string, unknown>>(server, "GET", `/v1/schema/${name}`);
}

/** The definition of `from` under the name `to` (reference data types included). */
function renamedDefinition(def: Record<string, unknown>, from: string, to: string) {
  return JSON.parse(JSON.stringify(def).replaceAll(`"${from}"`, `"${to}"`));
}

/**
 * Null-state and property-length counts of every property but objects
 * (length only for text, arrays and references: Weaviate refuses it for
 * other scalars).
 */
async function indexCounts(server: WeaviateServer, name: string, tenant?: string) {
  const def = await definition(server, name) as {
    properties: { name: string; dataType: string[] }[];
  };
  const out: Record<string, number> = {};
  for (const { name: p, dataType: [type] } of def.properties) {
    // Filters on object properties are a preview feature, off by default.
    if (type === "object" || type === "object[]") continue;
    for (const isNull of [true, false]) {
      out[`isNull(${p})=${isNull}`] = await aggregateCount(
        server,
        name,
        `{path: ["${p}"], operator: IsNull, valueBoolean: ${isNull}}`,
        tenant,
      );
    }
    if (type === "text" || type!.endsWith("[]") || /^[A-Z]/.test(type!)) {
      for (const [op, key] of [["Equal", "=0"], ["GreaterThan", ">0"]]) {
        out[`len(${p})${key}`] = await aggregateCount(
          server,
          name,
          `{path: ["len(${p})"], operator: ${op}, valueInt: 0}`,
          tenant,
        );
      }
    }
  }
  return out;
}

async function setStatus(server: WeaviateServer, name: string, tenants: string[], status: string) {
  await rest(
    server,
    "PUT",
    `/v1/schema/${name}/tenants`,
    tenants.map((t) => ({ name: t, activityStatus: status })),
  );
}

function randomBase64(bytes: number): string {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  return data.toBase64();
}

const LONG = "ab€😀".repeat(300_000);
const UPPER = "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D";

/** One object per edge case, by case name: the properties sent to Weaviate. */
const CASES: Record<string, Record<string, unknown>> = {
  empty: {
    text: "",
    texts: [],
    ints: [],
    nums: [],
    bools: [],
    dates: [],
    uuids: [],
    objs: [],
    obj: {},
  },
  emptyInArrays: { texts: [""], objs: [{}] },
  numLimits: { num: 1e308, nums: [1e308, -1e308, 5e-324, -5e-324, 2.2250738585072014e-308] },
  numNegZero: { num: -0, nums: [-0, 0, -0] },
  int2p53: { int: 2 ** 53, ints: [2 ** 53, -(2 ** 53), 2 ** 53 - 1] },
  int2p53plus1: { int: digits("9007199254740993"), ints: [digits("-9007199254740993")] },
  intMax: { int: digits("9223372036854775807"), ints: [digits("9223372036854775807"), 0] },
  intMin: { int: digits("-9223372036854775808"), ints: [digits("-9223372036854775808")] },
  intNegZero: { int: -0, ints: [-0, 1] },
  dateNanos: { date: "2024-01-02T03:04:05.123456789Z" },
  dateZones: {
    date: "2024-01-02T03:04:05+05:30",
    dates: ["2024-01-02T03:04:05.5-08:00", "2024-06-30T23:59:59.000000001+05:30"],
  },
  dateTrailingZeros: { date: "2024-01-02T03:04:05.120000Z", dates: ["2024-01-02T03:04:05.000Z"] },
  dateOld: {
    date: "1969-12-31T23:59:59.999999Z",
    dates: ["1900-01-01T00:00:00Z", "0001-01-01T00:00:00Z"],
  },
  date9999: { date: "9999-12-31T23:59:59.999999999Z" },
  geoNorthEast: { geo: { latitude: 90, longitude: 180 } },
  geoSouthWest: { geo: { latitude: -90, longitude: -180 } },
  geoZero: { geo: { latitude: 0, longitude: 0 } },
  phoneInternational: { phone: { input: "+49 30 1234567" } },
  phoneNational: { phone: { input: "030 1234567", defaultCountry: "DE" } },
  phoneInvalid: { phone: { input: "12", defaultCountry: "DE" } },
  phoneLowerCountry: { phone: { input: "+49 30 1234567", defaultCountry: "us" } },
  blobOneByte: { blob: "AA==" },
  blob3MB: { blob: randomBase64(3 * 1024 * 1024) },
  uuidUpper: { uuid: UPPER, uuids: [UPPER, "00000000-0000-0000-0000-000000000000"] },
  nestedNulls: {
    obj: { label: null, n: null, nums: [], tags: [""], inner: { deep: null, ns: [] } },
    objs: [{ k: null, ns: [] }, { ns: [1, -0, 2] }, { sub: [] }, { sub: [{ x: -0 }, {}] }],
  },
  nestedLimits: {
    obj: {
      label: "l",
      n: digits("9223372036854775807"),
      nums: [1e308, -0, 5e-324],
      tags: ["a", ""],
      inner: {
        deep: "d",
        when: "2024-01-02T03:04:05.123456789+05:30",
        ns: [digits("-9223372036854775808")],
      },
    },
  },
  control: { text: "a\u0000b\u0001\u001f\u007f\t\r\n\u2028\u2029", texts: ["\u0000", "\b\f"] },
  emoji: { text: "😀👍🏽🇩🇪 e\u0301 \ufeff", texts: ["𝔘𝔫𝔦𝔠𝔬𝔡𝔢"] },
  loneSurrogates: { text: "x\ud800y", texts: ["\udfff"] },
  longText: { text: LONG, texts: [LONG.slice(0, 100_000)] },
  explicitNull: {
    text: null,
    texts: null,
    int: null,
    num: null,
    bool: null,
    date: null,
    uuid: null,
    geo: null,
    phone: null,
    blob: null,
    obj: null,
    objs: null,
  },
  absent: {},
  booleans: { bool: false, bools: [false, true, false] },
};

/** Values Weaviate refuses on insert, so no source can hold them. */
const REFUSED: Record<string, [Record<string, unknown>, RegExp]> = {
  blobEmpty: [{ blob: "" }, /not a valid blob base64 string/],
  phoneUnparsable: [{ phone: { input: "not a phone" } }, /not a number/],
  phoneNationalWithoutCountry: [{ phone: { input: "030 1234567" } }, /defaultCountry/],
};

const UPPER_ID = "AAAAAAAA-0000-4000-8000-0000000000FF";
const NO_VECTOR = id(100);
const ONE_VECTOR = id(101);
const VECTOR_LIMITS = id(102);
const REFS = id(300);
const REFS_EMPTY = id(301);
const LATER_1 = id(200);
const LATER_2 = id(201);

/**
 * `Edge…` (every property type, two named vectors, null state, property
 * length and timestamps indexed) and `Later…` (sorted after it, so restored
 * after it): Edge points at itself, at Later and at both (multi-target),
 * Later points back at Edge; `Tenants…` has tenants HOT and COLD, with and
 * without objects.
 */
async function createEdges(server: WeaviateServer) {
  const edge = uniqueName("Edge");
  const later = `Later${edge.slice(4)}`;
  const tenants = `Tenants${edge.slice(4)}`;
  const index = { indexNullState: true, indexPropertyLength: true, indexTimestamps: true };
  await rest(server, "POST", "/v1/schema", {
    class: later,
    invertedIndexConfig: index,
    vectorConfig: { a: { vectorizer: { none: {} }, vectorIndexType: "flat" } },
    properties: [{ name: "label", dataType: ["text"] }],
  });
  await rest(server, "POST", "/v1/schema", {
    class: edge,
    invertedIndexConfig: index,
    properties: [
      ...[
        "text",
        "int",
        "number",
        "boolean",
        "date",
        "uuid",
      ].flatMap((type) => {
        const name = type === "number" ? "num" : type === "boolean" ? "bool" : type;
        return [{ name, dataType: [type] }, { name: `${name}s`, dataType: [`${type}[]`] }];
      }),
      { name: "geo", dataType: ["geoCoordinates"] },
      { name: "phone", dataType: ["phoneNumber"] },
      { name: "blob", dataType: ["blob"] },
      {
        name: "obj",
        dataType: ["object"],
        nestedProperties: [
          { name: "label", dataType: ["text"] },
          { name: "n", dataType: ["int"] },
          { name: "nums", dataType: ["number[]"] },
          { name: "tags", dataType: ["text[]"] },
          {
            name: "inner",
            dataType: ["object"],
            nestedProperties: [
              { name: "deep", dataType: ["text"] },
              { name: "when", dataType: ["date"] },
              { name: "ns", dataType: ["int[]"] },
            ],
          },
        ],
      },
      {
        name: "objs",
        dataType: ["object[]"],
        nestedProperties: [
          { name: "k", dataType: ["text"] },
          { name: "ns", dataType: ["int[]"] },
          {
            name: "sub",
            dataType: ["object[]"],
            nestedProperties: [{ name: "x", dataType: ["number"] }],
          },
        ],
      },
      { name: "self", dataType: [edge] },
      { name: "later", dataType: [later] },
      { name: "any", dataType: [edge, later] },
    ],
    vectorConfig: {
      a: {
        vectorizer: { none: {} },
        vectorIndexType: "hnsw",
        vectorIndexConfig: { distance: "l2-squared" },
      },
      b: {
        vectorizer: { none: {} },
        vectorIndexType: "flat",
        vectorIndexConfig: { distance: "dot" },
      },
    },
  });
  // B → A: Later points back at Edge.
  await rest(server, "POST", `/v1/schema/${later}/properties`, { name: "back", dataType: [edge] });

  const ids: Record<string, string> = {};
  for (const [i, [name, properties]] of Object.entries(CASES).entries()) {
    ids[name] = id(i + 1);
    // One object per request: a refusal names its case.
    await insertAll(server, [{
      class: edge,
      id: ids[name],
      properties,
      vectors: { a: [i, 1, 2], b: [1, -0] },
    }]);
  }
  const refused: Record<string, string> = {};
  for (const [i, [name, [properties]]] of Object.entries(REFUSED).entries()) {
    const errors = await insertObjects(server, [{ class: edge, id: id(500 + i), properties }]);
    refused[name] = errors[id(500 + i)] ?? "stored";
  }
  await insertAll(server, [
    { class: edge, id: UPPER_ID, properties: { text: "upper-case id" }, vectors: { a: [1, 1, 1] } },
    { class: edge, id: NO_VECTOR, properties: { text: "no vector at all" } },
    { class: edge, id: ONE_VECTOR, properties: { text: "only a" }, vectors: { a: [1, 2, 3] } },
    {
      class: edge,
      id: VECTOR_LIMITS,
      properties: { text: "vector limits" },
      vectors: { a: [-0, 1.401298464324817e-45, 3.4028234663852886e38], b: [-1e-40, 0] },
    },
  ]);

  const beacon = (c: string, u: string) => ({ beacon: `weaviate://localhost/${c}/${u}` });
  // Weaviate checks that reference targets exist: targets first, self-references by upsert.
  await insertAll(server, [
    { class: later, id: LATER_1, properties: { label: "l1" }, vectors: { a: [1] } },
    { class: later, id: LATER_2, properties: { label: "l2" } },
    { class: edge, id: REFS_EMPTY, properties: { self: [], later: [], any: [] } },
    { class: edge, id: REFS, properties: { text: "refs" }, vectors: { a: [0, 0, 1] } },
  ]);
  await insertAll(server, [
    {
      class: edge,
      id: REFS,
      properties: {
        text: "refs",
        self: [beacon(edge, REFS)],
        later: [beacon(later, LATER_1), beacon(later, LATER_2)],
        any: [beacon(later, LATER_1), beacon(edge, REFS_EMPTY), beacon(edge, REFS)],
      },
      vectors: { a: [0, 0, 1] },
    },
    {
      class: later,
      id: LATER_1,
      properties: { label: "l1", back: [beacon(edge, REFS_EMPTY), beacon(edge, ids.empty!)] },
      vectors: { a: [1] },
    },
    { class: later, id: LATER_2, properties: { label: "l2", back: [] } },
  ]);

  await rest(server, "POST", "/v1/schema", {
    class: tenants,
    vectorizer: "none",
    multiTenancyConfig: { enabled: true },
    invertedIndexConfig: { indexNullState: true, indexPropertyLength: true },
    properties: [{ name: "n", dataType: ["int"] }, { name: "t", dataType: ["text[]"] }],
  });
  await rest(server, "POST", `/v1/schema/${tenants}/tenants`, [
    { name: "hot" },
    { name: "cold" },
    { name: "hotEmpty" },
    { name: "coldEmpty" },
  ]);
  for (const tenant of ["hot", "cold"]) {
    await insertAll(server, [
      { class: tenants, tenant, id: id(0x1000 + 1), properties: { n: 1, t: [] }, vector: [1, -0] },
      {
        class: tenants,
        tenant,
        id: id(0x1000 + 2),
        properties: { n: digits("9223372036854775807") },
      },
      { class: tenants, tenant, id: id(0x1000 + 3), properties: { t: ["", "x"] } },
    ]);
  }
  await setStatus(server, tenants, ["cold", "coldEmpty"], "COLD");
  return { edge, later, tenants, ids, refused };
}

type Edges = Awaited<ReturnType<typeof createEdges>>;

/**
 * Everything a faithful copy of collection `name` must show: its definition,
 * its objects (parsed, and with numbers as Weaviate's digits) and its
 * null-state and property-length counts; per tenant, with tenant statuses,
 * for a multi-tenant one (COLD tenants are read HOT and set COLD again).
 */
async function state(server: WeaviateServer, name: string) {
  const def = await definition(server, name);
  const read = async (tenant?: string) => ({
    objects: await listAll(server, name, tenant),
    exact: await listExact(server, name, tenant),
    counts: await indexCounts(server, name, tenant),
  });
  if ((def.multiTenancyConfig as { enabled?: boolean } | undefined)?.enabled !== true) {
    return { definition: def, ...await read() };
  }
  const status = await tenantStatuses(server, name);
  const cold = Object.keys(status).filter((t) => status[t] === "COLD");
  await setStatus(server, name, cold, "HOT");
  const tenants: Record<string, Awaited<ReturnType<typeof read>>> = {};
  for (const tenant of Object.keys(status).sort()) tenants[tenant] = await read(tenant);
  await setStatus(server, name, cold, "COLD");
  return { definition: def, status, tenants };
}

type State = Awaited<ReturnType<typeof state>>;

let fixture: Promise<{ names: Edges; expected: Record<string, State> }> | undefined;
/** The fixture, created once for the file, and what the source holds. */
function edges() {
  return fixture ??= (async () => {
    const names = await createEdges(source);
    const expected: Record<string, State> = {};
    for (const name of [names.edge, names.later, names.tenants]) {
      expected[name] = await state(source, name);
    }
    return { names, expected };
  })();
}

/** The objects of a collection without tenants. */
function objectsOf(s: State): Map<string, Listed> {
  assert.ok("objects" in s);
  return s.objects;
}

Deno.test({
  name: "Weaviate itself normalises or refuses some edge values on insert (what no copy can keep)",
  ...integration,
  async fn() {
    const { names, expected } = await edges();
    const { ids, refused } = names;
    const edge = expected[names.edge]!;
    assert.ok("exact" in edge);
    const stored = (name: string) => edge.objects.get(ids[name]!)!.properties;
    const exact = (name: string) =>
      (edge.exact.get(ids[name]!) as { properties: Record<string, unknown> }).properties;
    // Every other case is stored exactly as sent.
    const normalised = new Set([
      "intNegZero",
      "int2p53plus1",
      "intMax",
      "intMin",
      "dateTrailingZeros",
      "phoneInternational",
      "phoneNational",
      "phoneInvalid",
      "phoneLowerCountry",
      "uuidUpper",
      "nestedNulls",
      "nestedLimits",
      "loneSurrogates",
      "explicitNull",
    ]);
    for (const [name, sent] of Object.entries(CASES)) {
      if (normalised.has(name)) continue;
      assertSame(stored(name), JSON.parse(stringifyJson(sent)), `${name} as stored`);
    }
    // int is kept as a double: -0 becomes 0, and beyond 2^53 the value is rounded.
    assert.deepEqual(exact("intNegZero"), {
      int: new Digits("0"),
      ints: [new Digits("0"), new Digits("1")],
    });
    assert.deepEqual(exact("int2p53plus1"), {
      int: new Digits("9007199254740992"),
      ints: [new Digits("-9007199254740992")],
    });
    assert.deepEqual(exact("intMax"), {
      int: new Digits("9223372036854776000"),
      ints: [new Digits("9223372036854776000"), new Digits("0")],
    });
    assert.deepEqual(exact("intMin"), {
      int: new Digits("-9223372036854776000"),
      ints: [new Digits("-9223372036854776000")],
    });
    assert.equal((exact("nestedNulls").objs as { ns?: Digits[] }[])[1]!.ns![1]!.text, "0");
    assert.equal(
      (exact("nestedLimits").obj as { n: Digits }).n.text,
      "9223372036854776000",
    );
    // Dates are re-formatted (RFC 3339, trailing zeros of the fraction dropped; zone kept).
    assert.deepEqual(stored("dateTrailingZeros"), {
      date: "2024-01-02T03:04:05.12Z",
      dates: ["2024-01-02T03:04:05Z"],
    });
    // Phone numbers gain parsed fields; the country is upper-cased; invalid ones lack `valid`.
    assert.deepEqual(stored("phoneNational").phone, {
      countryCode: 49,
      defaultCountry: "DE",
      input: "030 1234567",
      internationalFormatted: "+49 30 1234567",
      national: 301234567,
      nationalFormatted: "030 1234567",
      valid: true,
    });
    assert.equal((stored("phoneInternational").phone as { valid: boolean }).valid, true);
    assert.equal(
      (stored("phoneLowerCountry").phone as { defaultCountry: string }).defaultCountry,
      "US",
    );
    assert.equal((stored("phoneInvalid").phone as { valid?: boolean }).valid, undefined);
    // UUIDs are lower-cased, object ids too.
    assert.deepEqual(stored("uuidUpper"), {
      uuid: UPPER.toLowerCase(),
      uuids: [UPPER.toLowerCase(), "00000000-0000-0000-0000-000000000000"],
    });
    assert.ok(edge.objects.has(UPPER_ID.toLowerCase()));
    // Unpaired surrogates become U+FFFD; explicit null is listed like an absent property.
    assert.deepEqual(stored("loneSurrogates"), { text: "x\ufffdy", texts: ["\ufffd"] });
    assert.deepEqual(stored("explicitNull"), {});
    for (const name of ["explicitNull", "absent"]) {
      const where = `{operator: And, operands: [{path: ["id"], operator: Equal, valueText: "${
        ids[name]
      }"}, {path: ["text"], operator: IsNull, valueBoolean: true}]}`;
      assert.equal(await aggregateCount(source, names.edge, where), 1, `${name}: text is null`);
    }
    // Refused: a 0-byte blob, an unparsable phone number, a national one without country.
    for (const [name, [, why]] of Object.entries(REFUSED)) {
      assert.match(refused[name]!, why, name);
    }
  },
});

/** The listing's references as a backup line records them. */
function referencesOf(properties: Record<string, unknown>, refProps: string[]) {
  const out: Record<string, { id: string; collection: string }[]> = {};
  for (const prop of refProps) {
    const beacons = properties[prop] as { beacon: string }[] | undefined;
    if (beacons === undefined) continue;
    out[prop] = beacons.map(({ beacon }) => {
      const [collection, id] = beacon.split("/").slice(-2);
      return { id: id!, collection: collection! };
    });
  }
  return out;
}

Deno.test({
  name:
    "backup → restore into a fresh server, over gRPC and over REST, gives back every edge value",
  ...integration,
  async fn(t) {
    const { names, expected } = await edges();
    const all = [names.edge, names.later, names.tenants];
    const dir = await backupTo(source, all);

    // The backup file holds the properties as listed, references apart.
    const { objects: saved } = await readBackup(dir);
    for (
      const [name, refProps] of [[names.edge, ["self", "later", "any"]], [names.later, [
        "back",
      ]]] as const
    ) {
      for (const [uid, listed] of objectsOf(expected[name]!)) {
        const line = saved.get(uid);
        assert.equal(line?.collection, name, `${uid} is in the backup`);
        const properties = { ...listed.properties };
        for (const p of refProps) delete properties[p];
        assertSame(line.properties, properties, `backup line of ${uid}`);
        assertSame(
          line.references ?? {},
          referencesOf(listed.properties, [...refProps]),
          `references of ${uid}`,
        );
      }
    }

    for (const protocol of ["grpc", "rest"]) {
      await t.step(protocol, async () => {
        await using target = await startWeaviate();
        const run = await denoTask(
          [
            "restore",
            "pipelines/restore.yaml",
            "--set",
            "sink.with.check=content",
            "--set",
            `sink.with.protocol=${protocol}`,
          ],
          serverEnv(target, dir),
        );
        assert.equal(run.code, 0, run.stderr);
        for (const name of all) assertSame(await state(target, name), expected[name], name);
        const verify = await denoTask(["verify", dir, "--against", target.url], {});
        assert.equal(verify.code, 0, verify.stderr);
      });
    }
  },
});

Deno.test({
  name: "migrate to a new collection on the same server gives back every edge value",
  ...integration,
  async fn() {
    const { names, expected } = await edges();
    for (const from of [names.edge, names.later, names.tenants]) {
      const copy = uniqueName(`${from.slice(0, 5)}Copy`);
      const run = await denoTask(["migrate", "pipelines/migrate.yaml"], {
        SOURCE_URL: source.url,
        TARGET_URL: source.url,
        TARGET_GRPC_URL: source.grpcUrl,
        COLLECTION: from,
        TARGET_COLLECTION: copy,
      });
      assert.equal(run.code, 0, run.stderr);
      const want = renamed(expected[from]!, from, copy);
      want.definition = renamedDefinition(expected[from]!.definition, from, copy);
      assertSame(await state(source, copy), want, `${from} → ${copy}`);
      const verify = await denoTask(
        ["verify", source.url, "--against", source.url, "--collection", from, "--as", copy],
        {},
      );
      assert.equal(verify.code, 0, verify.stderr);
    }
  },
});

Deno.test({
  name: "a restore with skipVectors keeps every value and reference and writes no vector",
  ...integration,
  async fn() {
    const { names, expected } = await edges();
    const all = [names.edge, names.later, names.tenants];
    const dir = await backupTo(source, all);
    await using target = await startWeaviate();
    const run = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", "sink.with.skipVectors=true"],
      serverEnv(target, dir),
    );
    assert.equal(run.code, 0, run.stderr);
    const noVectors = (objects: Map<string, Listed>) =>
      new Map([...objects].map(([k, o]) => [k, { id: o.id, properties: o.properties }]));
    for (const name of [names.edge, names.later]) {
      assertSame(await listAll(target, name), noVectors(objectsOf(expected[name]!)), name);
    }
    await setStatus(target, names.tenants, ["cold", "coldEmpty"], "HOT");
    const tenants = expected[names.tenants]!;
    assert.ok("tenants" in tenants);
    for (const [tenant, { objects }] of Object.entries(tenants.tenants)) {
      assertSame(await listAll(target, names.tenants, tenant), noVectors(objects), tenant);
    }
    await setStatus(target, names.tenants, ["cold", "coldEmpty"], "COLD");
    // With --skip-vectors, verify finds the copy identical.
    const skipping = await denoTask(
      ["verify", dir, "--against", target.url, "--skip-vectors"],
      {},
    );
    assert.equal(skipping.code, 0, skipping.stderr);
    // Without it, it reports exactly the objects that had a vector.
    const report = `${dir}/verify.json`;
    const verify = await denoTask(["verify", dir, "--against", target.url, "--report", report], {});
    assert.equal(verify.code, 1, verify.stderr);
    const { collections } = JSON.parse(await Deno.readTextFile(report)) as {
      collections: { missing: string[]; unexpected: string[]; changed: { parts: string[] }[] }[];
    };
    for (const c of collections) {
      assert.deepEqual([c.missing, c.unexpected], [[], []]);
      assert.ok(c.changed.every((d) => d.parts.join() === "vectors"), JSON.stringify(c.changed));
    }
  },
});

Deno.test({
  name: "references between two collections pointing at each other are restored and migrated",
  // Set-aside objects that point at other set-aside objects of another collection
  // (a1 → b1 → a1, or a1 → b1 → a2 → b2) once lost their references.
  ...integration,
  async fn() {
    const a = uniqueName("Acycle");
    const b = `Bcycle${a.slice(6)}`;
    await rest(source, "POST", "/v1/schema", {
      class: a,
      vectorizer: "none",
      properties: [{ name: "t", dataType: ["text"] }],
    });
    await rest(source, "POST", "/v1/schema", {
      class: b,
      vectorizer: "none",
      properties: [{ name: "toA", dataType: [a] }],
    });
    await rest(source, "POST", `/v1/schema/${a}/properties`, { name: "toB", dataType: [b] });
    const to = (c: string, u: string) => [{ beacon: `weaviate://localhost/${c}/${u}` }];
    const [a1, b1, a2, b2] = [id(1), id(2), id(3), id(4)];
    // A cycle a1 ⇄ b1, and a chain a2 → b2 → a1.
    await insertAll(source, [{ class: a, id: a1, properties: { t: "a1" } }]);
    await insertAll(source, [{ class: b, id: b1, properties: { toA: to(a, a1) } }]);
    await insertAll(source, [{ class: a, id: a1, properties: { t: "a1", toB: to(b, b1) } }]);
    await insertAll(source, [{ class: b, id: b2, properties: { toA: to(a, a1) } }]);
    await insertAll(source, [{ class: a, id: a2, properties: { toB: to(b, b2) } }]);
    const expected = [await listAll(source, a), await listAll(source, b)];

    const dir = await backupTo(source, [a, b]);
    await using target = await startWeaviate();
    const restore = await denoTask(["restore", "pipelines/restore.yaml"], serverEnv(target, dir));
    assert.equal(restore.code, 0, restore.stderr);
    assertSame([await listAll(target, a), await listAll(target, b)], expected, "restored");

    await using other = await startWeaviate();
    const migrate = await denoTask(
      ["migrate", "pipelines/migrate.yaml", "--set", `source.with.collections=[${a},${b}]`],
      { SOURCE_URL: source.url, TARGET_URL: other.url, TARGET_GRPC_URL: other.grpcUrl },
    );
    assert.equal(migrate.code, 0, migrate.stderr);
    assertSame([await listAll(other, a), await listAll(other, b)], expected, "migrated");
  },
});
