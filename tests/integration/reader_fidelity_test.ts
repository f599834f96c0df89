import assert from "node:assert/strict";
import weaviate from "weaviate-client";
import type { Vector } from "../../src/messages.ts";
import { startWeaviate, useWeaviate } from "../harness/weaviate.ts";
import {
  connect,
  denoTask,
  integration,
  readBackup,
  rest as restAt,
  sameBits,
  serverEnv,
  tempDir,
  uniqueName,
} from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

const rest = <T>(method: string, path: string, body?: unknown) =>
  restAt<T>(server, method, path, body);

Deno.test({
  name: "backup keeps every property type, named and multi vectors, and references exactly",
  ...integration,
  async fn() {
    const things = uniqueName("Things");
    const authors = uniqueName("Authors");
    const client = await connect(server);
    try {
      await client.collections.create({
        name: authors,
        properties: [{ name: "name", dataType: "text" }],
      });
      await client.collections.create({
        name: things,
        properties: [
          { name: "title", dataType: "text" },
          { name: "tags", dataType: "text[]" },
          { name: "count", dataType: "int" },
          { name: "counts", dataType: "int[]" },
          { name: "price", dataType: "number" },
          { name: "prices", dataType: "number[]" },
          { name: "flag", dataType: "boolean" },
          { name: "flags", dataType: "boolean[]" },
          { name: "when", dataType: "date" },
          { name: "whens", dataType: "date[]" },
          { name: "ref_id", dataType: "uuid" },
          { name: "ref_ids", dataType: "uuid[]" },
          { name: "geo", dataType: "geoCoordinates" },
          { name: "phone", dataType: "phoneNumber" },
          { name: "data", dataType: "blob" },
          {
            name: "meta",
            dataType: "object",
            nestedProperties: [
              { name: "label", dataType: "text" },
              { name: "at", dataType: "date" },
              {
                name: "inner",
                dataType: "object",
                nestedProperties: [{ name: "n", dataType: "number" }],
              },
            ],
          },
          {
            name: "items",
            dataType: "object[]",
            nestedProperties: [{ name: "k", dataType: "text" }],
          },
        ],
        references: [
          { name: "author", targetCollection: authors },
          { name: "related", targetCollections: [authors, things] },
        ],
        vectorizers: [
          weaviate.configure.vectors.selfProvided({ name: "small" }),
          weaviate.configure.vectors.selfProvided({ name: "large" }),
          weaviate.configure.multiVectors.selfProvided({ name: "colbert" }),
        ],
      });
      const authorId = await client.collections.use(authors).data.insert({
        properties: { name: "Ada" },
      });
      const col = client.collections.use(things);
      const full = await col.data.insert({
        properties: {
          title: "Grüße, 世界 ✓",
          tags: ["a", "b"],
          count: 42,
          counts: [1, -2, 3],
          price: 0.1,
          prices: [1.5, -0.25],
          flag: true,
          flags: [true, false],
          when: "2024-01-02T03:04:05.123456Z",
          whens: ["2020-02-29T00:00:00Z"],
          ref_id: "9f9a8a5e-0c43-4a8e-9b1f-1a2b3c4d5e6f",
          ref_ids: ["11111111-2222-4333-8444-555555555555"],
          geo: { latitude: 52.52, longitude: 13.405 },
          phone: { input: "+49 30 1234567" },
          data: "aGVsbG8gd2VmdA==",
          meta: { label: "m", at: "2023-06-01T12:00:00.5Z", inner: { n: 3.25 } },
          items: [{ k: "x" }, { k: "y" }],
        },
        vectors: {
          small: [0.1, 0.2, 0.3],
          large: Array.from({ length: 16 }, (_, i) => i / 7),
          colbert: [[1, 2], [3, 4], [5, 6]],
        },
        references: { author: authorId },
      });
      const sparse = await col.data.insert({
        properties: { title: "only a title" },
        vectors: { small: [1, 1, 1], large: Array(16).fill(0.5), colbert: [[0, 1]] },
      });
      await col.data.referenceAddMany([
        {
          fromUuid: full,
          fromProperty: "related",
          to: { targetCollection: authors, uuids: authorId },
        },
        {
          fromUuid: full,
          fromProperty: "related",
          to: { targetCollection: things, uuids: sparse },
        },
      ]);

      const dir = await tempDir("weft-test-fidelity-");
      const run = await denoTask(
        [
          "backup",
          "pipelines/backup.yaml",
          "--set",
          `source.with.collections=[${authors},${things}]`,
        ],
        serverEnv(server, dir),
      );
      assert.equal(run.code, 0, run.stderr);
      const backup = await readBackup(dir);

      for (const id of [full, sparse]) {
        const stored = backup.objects.get(id);
        assert.ok(stored);
        const live = await rest<{
          properties: Record<string, unknown>;
          vectors: Record<string, number[] | number[][]>;
        }>("GET", `/v1/objects/${things}/${id}?include=vector`);
        const { author = null, related = null, ...props } = live.properties;
        assert.deepEqual(
          stored.properties,
          props,
          "properties match the server's, value for value",
        );
        const beacons = (refs: unknown) =>
          ((refs ?? []) as { beacon: string }[]).map((r) => r.beacon).sort();
        const storedBeacons = (name: string) =>
          (stored.references?.[name] ?? []).map((r) =>
            `weaviate://localhost/${r.collection}/${r.id}`
          ).sort();
        assert.deepEqual(storedBeacons("author"), beacons(author));
        assert.deepEqual(storedBeacons("related"), beacons(related));
        assert.deepEqual(Object.keys(stored.vectors).sort(), Object.keys(live.vectors).sort());
        for (const [name, v] of Object.entries(live.vectors)) {
          const s: Vector = stored.vectors[name]!;
          if (Array.isArray(v[0])) {
            assert.ok(Array.isArray(s));
            assert.equal(s.length, v.length);
            s.forEach((row, i) => assert.ok(sameBits(row, Float32Array.from(v[i] as number[]))));
          } else {
            assert.ok(s instanceof Float32Array && sameBits(s, Float32Array.from(v as number[])));
          }
        }
      }
      const fullStored = backup.objects.get(full)!;
      assert.equal(fullStored.properties.when, "2024-01-02T03:04:05.123456Z", "microseconds kept");
      assert.equal(fullStored.properties.data, "aGVsbG8gd2VmdA==", "blob kept");
      assert.equal(fullStored.references?.related?.length, 2, "multi-target references kept");
      assert.equal(backup.manifest.collections.length, 2);
      await client.collections.delete(things);
      await client.collections.delete(authors);
    } finally {
      await client.close();
    }
  },
});

Deno.test({
  name: "backup reads every tenant, activates a COLD one for the read and sets it COLD again",
  ...integration,
  async fn() {
    const name = uniqueName("Tenants");
    const client = await connect(server);
    try {
      await client.collections.create({
        name,
        properties: [{ name: "n", dataType: "int" }],
        multiTenancy: weaviate.configure.multiTenancy({ enabled: true }),
      });
      const col = client.collections.use(name);
      await col.tenants.create([{ name: "t1" }, { name: "t2" }, { name: "t3" }]);
      const perTenant = { t1: 3, t2: 5, t3: 7 } as const;
      for (const [tenant, n] of Object.entries(perTenant)) {
        await col.withTenant(tenant).data.insertMany(
          Array.from({ length: n }, (_, i) => ({ properties: { n: i } })),
        );
      }
      await rest("PUT", `/v1/schema/${name}/tenants`, [{ name: "t2", activityStatus: "COLD" }]);

      const dir = await tempDir("weft-test-tenants-");
      const run = await denoTask(
        ["backup", "pipelines/backup.yaml", "--set", `source.with.collections=[${name}]`],
        serverEnv(server, dir),
      );
      assert.equal(run.code, 0, run.stderr);
      const backup = await readBackup(dir);
      const entry = backup.manifest.collections.find((c) => c.name === name)!;
      assert.deepEqual(
        entry.tenants?.map((t) => [t.name, t.activityStatus, t.objects]),
        [["t1", "HOT", 3], ["t2", "COLD", 5], ["t3", "HOT", 7]],
      );
      for (const [tenant, n] of Object.entries(perTenant)) {
        const inFiles = [...backup.objects.values()].filter((o) => o.tenant === tenant).length;
        assert.equal(inFiles, n, `tenant ${tenant}`);
      }
      const after = await rest<{ name: string; activityStatus: string }[]>(
        "GET",
        `/v1/schema/${name}/tenants`,
      );
      assert.equal(after.find((t) => t.name === "t2")?.activityStatus, "COLD");
      await client.collections.delete(name);
    } finally {
      await client.close();
    }
  },
});

Deno.test({
  name: "backup authenticates with an API key and never writes the key anywhere",
  ...integration,
  async fn() {
    const apiKey = `weft-key-${crypto.randomUUID()}`;
    await using secured = await startWeaviate({ apiKey });
    const anonymous = await fetch(`${secured.url}/v1/schema`);
    await anonymous.body?.cancel();
    assert.equal(anonymous.status, 401, "anonymous access is refused");
    const client = await connect(secured);
    try {
      await client.collections.create({
        name: "Secret",
        properties: [{ name: "t", dataType: "text" }],
      });
      await client.collections.use("Secret").data.insert({ properties: { t: "x" } });
    } finally {
      await client.close();
    }
    const dir = await tempDir("weft-test-auth-");
    const run = await denoTask(
      ["backup", "pipelines/backup.yaml", "--log-level", "debug"],
      serverEnv(secured, dir),
    );
    assert.equal(run.code, 0, run.stderr);
    const backup = await readBackup(dir);
    assert.equal(backup.objects.size, 1);
    const written = [run.stdout, run.stderr];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile) written.push(await Deno.readTextFile(`${dir}/${entry.name}`));
    }
    for (const text of written) assert.ok(!text.includes(apiKey), "the API key leaked");

    const denied = await denoTask(["backup", "pipelines/backup.yaml"], {
      ...serverEnv(secured, `${dir}-denied`),
      WEAVIATE_API_KEY: "wrong-key-value",
    });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /401/);
    assert.ok(!denied.stderr.includes("wrong-key-value"));
  },
});
