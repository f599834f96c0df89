/**
 * The gRPC listing of `weaviate-reader` (flag `grpc-reader`) against the REST
 * listing on a real Weaviate: the same backup, byte for byte, for every
 * property type, named vectors and a multi-vector, tenants (one COLD), single-
 * and multi-target references (one dangling), and ints that only REST gives
 * exactly.
 */
import assert from "node:assert/strict";
import weaviate from "weaviate-client";
import { GRPC_COUNTER } from "../../plugins/weaviate_reader/grpc_listing.ts";
import { connectClient, useWeaviate } from "../harness/weaviate.ts";
import {
  createFixture,
  denoTask,
  insertAll,
  integration,
  rest,
  sameBits,
  serverEnv,
  uniqueName,
} from "./_helpers.ts";
import { JsonLiteral } from "../../plugins/_shared/json.ts";
import { assertSameBackups, backupWithFlag } from "./_listings.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

/** Backs `collections` up with the flag `grpc-reader` set to `flag`. */
const backup = (
  collections: string[],
  flag: "on" | "off",
  extra: string[] = [],
  env: Record<string, string> = {},
) => backupWithFlag(server, collections, flag, extra, env);

Deno.test({
  name: "gRPC and REST listings back up every type, vector, tenant and reference identically",
  ...integration,
  async fn() {
    const { authors, things, tenants } = await createFixture(server);
    // A dangling reference (its target deleted), which gRPC's resolved references would drop;
    // an int beyond int64, which gRPC sends as -2^63; one more of each kind of reference.
    const gone = crypto.randomUUID();
    const extra = Array.from({ length: 5 }, () => crypto.randomUUID());
    await insertAll(server, [{ class: authors, id: gone, properties: { name: "Gone" } }]);
    await insertAll(server, [
      {
        class: things,
        id: extra[0],
        properties: {
          title: "dangling",
          author: [{ beacon: `weaviate://localhost/${authors}/${gone}` }],
          related: [{ beacon: `weaviate://localhost/${authors}/${gone}` }],
        },
        vectors: { small: [1, 2, 3], colbert: [[1, 1], [2, 2]] },
      },
      {
        class: things,
        id: extra[1],
        properties: { title: "huge", count: new JsonLiteral("9223372036854775807") },
        vectors: { small: [3, 2, 1] },
      },
      ...extra.slice(2).map((id, i) => ({
        class: things,
        id,
        properties: {
          title: `plain ${i}`,
          whens: [],
          meta: { label: null, at: "2023-06-01T12:00:00.000001+02:00" },
        },
        vectors: { large: [i, -0, 1, 2] },
      })),
    ]);
    await rest(server, "DELETE", `/v1/objects/${authors}/${gone}`);
    const names = [authors, things, tenants];

    for (const pageSize of ["2", "500"]) {
      const set = ["--set", `source.with.pageSize=${pageSize}`];
      const overGrpc = await backup(names, "on", set);
      const overRest = await backup(names, "off", set);
      await assertSameBackups(overGrpc, overRest);
      assert.equal(overGrpc.objects.size, 3 + 5 + 9);

      // The gRPC listing read them (not a silent fallback), except pages only REST reads exactly.
      assert.ok(overGrpc.counters[GRPC_COUNTER]! >= 9, JSON.stringify(overGrpc.counters));
      assert.equal(overRest.counters[GRPC_COUNTER], undefined);
      for (const name of names) {
        assert.match(overGrpc.stderr, new RegExp(`listing objects over gRPC .*collection=${name}`));
        assert.match(overRest.stderr, new RegExp(`listing objects over REST .*collection=${name}`));
      }
      const dangling = overGrpc.objects.get(extra[0]!)!;
      assert.deepEqual(dangling.references, {
        author: [{ id: gone, collection: authors }],
        related: [{ id: gone, collection: authors }],
      });
      assert.equal(overGrpc.objects.get(extra[1]!)!.properties.count, 2 ** 63);
    }
    for (const name of names) await rest(server, "DELETE", `/v1/schema/${name}`);
  },
});

Deno.test({
  name: "gRPC listing without vectors matches REST's, and with no gRPC port it lists over REST",
  ...integration,
  async fn() {
    const { authors, things, tenants } = await createFixture(server);
    const names = [authors, things, tenants];
    const plain = ["--set", "source.with.includeVectors=false"];
    const overGrpc = await backup(names, "on", plain);
    await assertSameBackups(overGrpc, await backup(names, "off", plain));
    assert.ok(overGrpc.counters[GRPC_COUNTER]! > 0);
    for (const o of overGrpc.objects.values()) {
      assert.equal(o.vector, undefined);
      assert.deepEqual(o.vectors, {});
    }

    // Port 1 refuses connections: the first search finds no gRPC, every listing uses REST.
    const refused = await backup(names, "on", [], {
      WEAVIATE_GRPC_URL: "http://127.0.0.1:1",
    });
    await assertSameBackups(refused, await backup(names, "off"));
    assert.equal(refused.counters[GRPC_COUNTER], undefined);
    assert.match(refused.stderr, /no gRPC listing at 127\.0\.0\.1:1 .*listing over REST/);
    for (const name of names) await rest(server, "DELETE", `/v1/schema/${name}`);
  },
});

Deno.test({
  name: "an object with a NaN vector backs up over gRPC and restores with the same bits",
  ...integration,
  async fn() {
    const name = uniqueName("NanGrpc");
    const copy = `${name}Copy`;
    const client = await connectClient(server);
    try {
      await client.collections.create({
        name,
        properties: [{ name: "n", dataType: "int" }],
        vectorizers: weaviate.configure.vectors.selfProvided(),
      });
      // insertMany goes over gRPC, which keeps the NaN (REST JSON cannot carry one).
      const inserted = await client.collections.use(name).data.insertMany([
        { properties: { n: 1 }, vectors: [1, NaN, -Infinity] },
        { properties: { n: 2 }, vectors: [1, 2, 3] },
      ]);
      assert.equal(inserted.hasErrors, false);
      const saved = await backup([name], "on");
      assert.equal(saved.objects.size, 2);
      const bad = [...saved.objects.values()].find((o) => o.properties.n === 1)!;
      const expected = Float32Array.of(1, NaN, -Infinity);
      assert.ok(sameBits(bad.vectors.default as Float32Array, expected));

      const restore = await denoTask(
        ["restore", "pipelines/restore.yaml", "--set", `sink.with.collection=${copy}`],
        { ...serverEnv(server, saved.dir) },
      );
      assert.equal(restore.code, 0, restore.stderr);
      const again = await backup([copy], "on");
      const restored = again.objects.get(bad.id)!;
      assert.ok(sameBits(restored.vectors.default as Float32Array, expected));
    } finally {
      await client.collections.delete(name).catch(() => {});
      await client.collections.delete(copy).catch(() => {});
      await client.close();
    }
  },
});
