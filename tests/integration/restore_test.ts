import assert from "node:assert/strict";
import { startWeaviate, useWeaviate, type WeaviateServer } from "../harness/weaviate.ts";
import { denoTask, integration, serverEnv, tempDir, uniqueName } from "./_helpers.ts";

const source = await useWeaviate();
addEventListener("unload", () => void source.stop());

async function rest<T>(server: WeaviateServer, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

interface Listed {
  id: string;
  properties: Record<string, unknown>;
  vector?: number[];
  vectors?: Record<string, unknown>;
}

/** Every object of a collection (and tenant), by id, without timestamps. */
async function listAll(server: WeaviateServer, name: string, tenant?: string) {
  const out = new Map<string, Listed>();
  let after = "";
  for (;;) {
    const q = new URLSearchParams({ class: name, limit: "200", include: "vector" });
    if (tenant) q.set("tenant", tenant);
    if (after) q.set("after", after);
    const { objects } = await rest<{ objects: Listed[] }>(server, "GET", `/v1/objects?${q}`);
    if (!objects.length) return out;
    for (const o of objects) {
      out.set(o.id, {
        id: o.id,
        properties: o.properties,
        ...(o.vector ? { vector: o.vector } : {}),
        ...(o.vectors ? { vectors: o.vectors } : {}),
      });
    }
    after = objects.at(-1)!.id;
  }
}

/** Replaces collection names in beacons so objects of renamed collections compare equal. */
function renamed(objects: Map<string, Listed>, from: string, to: string) {
  return new Map(
    [...objects].map((
      [id, o],
    ) => [id, JSON.parse(JSON.stringify(o).replaceAll(`/${from}/`, `/${to}/`))]),
  );
}

async function createFixture(server: WeaviateServer) {
  const authors = uniqueName("Authors");
  const things = uniqueName("Things");
  const tenants = uniqueName("Tenants");
  const vector = { vectorizer: { none: {} }, vectorIndexType: "hnsw" };
  await rest(server, "POST", "/v1/schema", {
    class: authors,
    properties: [{ name: "name", dataType: ["text"] }],
  });
  await rest(server, "POST", "/v1/schema", {
    class: things,
    invertedIndexConfig: { bm25: { b: 0.6, k1: 1.4 }, indexNullState: true },
    properties: [
      { name: "title", dataType: ["text"], tokenization: "field" },
      { name: "tags", dataType: ["text[]"] },
      { name: "count", dataType: ["int"] },
      { name: "price", dataType: ["number[]"] },
      { name: "flag", dataType: ["boolean"] },
      { name: "when", dataType: ["date"] },
      { name: "ref_id", dataType: ["uuid"] },
      { name: "geo", dataType: ["geoCoordinates"] },
      { name: "phone", dataType: ["phoneNumber"] },
      { name: "data", dataType: ["blob"] },
      {
        name: "meta",
        dataType: ["object"],
        nestedProperties: [{ name: "label", dataType: ["text"] }, {
          name: "at",
          dataType: ["date"],
        }],
      },
      { name: "author", dataType: [authors] },
      { name: "related", dataType: [authors, things] },
    ],
    vectorConfig: {
      small: { ...vector, vectorIndexConfig: { distance: "dot", ef: 77 } },
      large: { ...vector, vectorIndexType: "flat" },
      colbert: { ...vector, vectorIndexConfig: { multivector: { enabled: true } } },
    },
  });
  await rest(server, "POST", "/v1/schema", {
    class: tenants,
    multiTenancyConfig: { enabled: true },
    properties: [{ name: "n", dataType: ["int"] }],
  });
  const authorId = crypto.randomUUID();
  const a = crypto.randomUUID();
  const b = crypto.randomUUID();
  await rest(server, "POST", "/v1/batch/objects", {
    objects: [
      { class: authors, id: authorId, properties: { name: "Ada" } },
      {
        class: things,
        id: a,
        properties: {
          title: "Grüße, 世界 ✓",
          tags: ["a", "b"],
          count: 42,
          price: [1.5, -0.25],
          flag: true,
          when: "2024-01-02T03:04:05.123456Z",
          ref_id: "9f9a8a5e-0c43-4a8e-9b1f-1a2b3c4d5e6f",
          geo: { latitude: 52.52, longitude: 13.405 },
          phone: { input: "+49 30 1234567" },
          data: "aGVsbG8gd2VmdA==",
          meta: { label: "m", at: "2023-06-01T12:00:00.5Z" },
        },
        vectors: { small: [0.1, 0.2, 0.3], large: [1, 2, 3, 4], colbert: [[1, 2], [3, 4]] },
      },
      {
        class: things,
        id: b,
        properties: { title: "sparse" },
        vectors: { small: [1, 1, 1], large: [0, 0, 0, 1], colbert: [[0, 1]] },
      },
    ],
  });
  await rest(server, "POST", "/v1/batch/references", [
    {
      from: `weaviate://localhost/${things}/${a}/author`,
      to: `weaviate://localhost/${authors}/${authorId}`,
    },
    {
      from: `weaviate://localhost/${things}/${a}/related`,
      to: `weaviate://localhost/${authors}/${authorId}`,
    },
    {
      from: `weaviate://localhost/${things}/${a}/related`,
      to: `weaviate://localhost/${things}/${b}`,
    },
  ]);
  await rest(server, "POST", `/v1/schema/${tenants}/tenants`, [{ name: "t1" }, { name: "t2" }, {
    name: "t3",
  }]);
  for (const [tenant, n] of [["t1", 2], ["t2", 3], ["t3", 4]] as const) {
    await rest(server, "POST", "/v1/batch/objects", {
      objects: Array.from(
        { length: n },
        (_, i) => ({ class: tenants, tenant, properties: { n: i } }),
      ),
    });
  }
  await rest(server, "PUT", `/v1/schema/${tenants}/tenants`, [{
    name: "t2",
    activityStatus: "COLD",
  }]);
  return { authors, things, tenants };
}

Deno.test({
  name:
    "backup then restore into another server reproduces every object, vector, reference and tenant",
  ...integration,
  async fn() {
    const { authors, things, tenants } = await createFixture(source);
    const dir = await tempDir("weft-test-restore-");
    const backup = await denoTask(
      [
        "backup",
        "pipelines/backup.yaml",
        "--set",
        `source.with.collections=[${authors},${things},${tenants}]`,
      ],
      serverEnv(source, dir),
    );
    assert.equal(backup.code, 0, backup.stderr);

    await using target = await startWeaviate();
    const restore = await denoTask(["restore", "pipelines/restore.yaml"], serverEnv(target, dir));
    assert.equal(restore.code, 0, restore.stderr);

    for (const name of [authors, things]) {
      assert.deepEqual(await listAll(target, name), await listAll(source, name), name);
      const [a, b] = await Promise.all([
        rest<Record<string, unknown>>(source, "GET", `/v1/schema/${name}`),
        rest<Record<string, unknown>>(target, "GET", `/v1/schema/${name}`),
      ]);
      assert.deepEqual(b, a, `definition of ${name}`);
    }
    const statuses = await rest<{ name: string; activityStatus: string }[]>(
      target,
      "GET",
      `/v1/schema/${tenants}/tenants`,
    );
    assert.deepEqual(
      statuses.map((t) => [t.name, t.activityStatus]).sort(),
      [["t1", "HOT"], ["t2", "COLD"], ["t3", "HOT"]],
    );
    for (const tenant of ["t1", "t3"]) {
      assert.deepEqual(
        await listAll(target, tenants, tenant),
        await listAll(source, tenants, tenant),
      );
    }
    await rest(target, "PUT", `/v1/schema/${tenants}/tenants`, [{
      name: "t2",
      activityStatus: "HOT",
    }]);
    assert.equal(
      (await listAll(target, tenants, "t2")).size,
      3,
      "the COLD tenant's objects were restored",
    );
  },
});

Deno.test({
  name: "restore under a new name on the same server, and mode fail refuses an existing collection",
  ...integration,
  async fn() {
    const { things } = await createFixture(source);
    const dir = await tempDir("weft-test-rename-");
    const env = serverEnv(source, dir);
    assert.equal(
      (await denoTask([
        "backup",
        "pipelines/backup.yaml",
        "--set",
        `source.with.collections=[${things}]`,
      ], env))
        .code,
      0,
    );
    const copy = uniqueName("Copy");
    const run = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", `sink.with.collection=${copy}`],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    // Self-references follow the rename; references to other collections stay as they were.
    assert.deepEqual(
      await listAll(source, copy),
      renamed(await listAll(source, things), things, copy),
    );

    const again = await denoTask([
      "restore",
      "pipelines/restore.yaml",
      "--set",
      `sink.with.collection=${copy}`,
    ], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`"${copy}": the collection exists`));
  },
});

Deno.test({
  name: "restore stops at a damaged data file, names it, and inserts none of its objects",
  ...integration,
  async fn() {
    const { authors } = await createFixture(source);
    const dir = await tempDir("weft-test-damaged-");
    const env = serverEnv(source, dir);
    const args = [
      "backup",
      "pipelines/backup.yaml",
      "--set",
      `source.with.collections=[${authors}]`,
    ];
    assert.equal((await denoTask(args, env)).code, 0);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    const file = `${dir}/${manifest.files[0].path}`;
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(file, text.replace("Ada", "Adb"));
    const copy = uniqueName("Damaged");
    const run = await denoTask([
      "restore",
      "pipelines/restore.yaml",
      "--set",
      `sink.with.collection=${copy}`,
    ], env);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`${manifest.files[0].path}: checksum mismatch`));
    assert.equal((await listAll(source, copy)).size, 0);
  },
});
