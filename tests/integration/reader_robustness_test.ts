import assert from "node:assert/strict";
import weaviate from "weaviate-client";
import { prng } from "../../scripts/sample_data.ts";
import { connectClient, startWeaviate, useWeaviate } from "../harness/weaviate.ts";
import {
  denoTask,
  integration,
  listAll,
  readBackup,
  rest,
  ROOT,
  sameBits,
  serverEnv,
  tempDir,
  uniqueName,
} from "./_helpers.ts";

/** Total bytes of the files under `dir` (files moved away while counting are skipped). */
async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) total += await bytesUnder(path);
      else if (entry.isFile) total += (await Deno.stat(path)).size;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return total;
}

Deno.test({
  name: "backup survives a Weaviate crash and restart mid-read and holds every object",
  ...integration,
  async fn() {
    // Its own server: restarting the shared one would disturb other tests.
    await using server = await startWeaviate();
    const name = uniqueName("Restart");
    await rest(server, "POST", "/v1/schema", {
      class: name,
      properties: [{ name: "n", dataType: ["int"] }],
      vectorConfig: { default: { vectorizer: { none: {} }, vectorIndexType: "flat" } },
    });
    const total = 20_000;
    const random = prng(11);
    for (let start = 0; start < total; start += 2_000) {
      await Promise.all(Array.from({ length: 4 }, (_, part) => {
        const from = start + part * 500;
        return rest(server, "POST", "/v1/batch/objects", {
          objects: Array.from({ length: 500 }, (_, k) => ({
            class: name,
            properties: { n: from + k },
            vectors: { default: Array.from({ length: 4 }, () => random() * 2 - 1) },
          })),
        });
      }));
    }

    const dir = await tempDir("weft-test-restart-");
    // Small pages and files: the read takes seconds and writes files while it runs.
    const backup = new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "--quiet",
        "backup",
        "pipelines/backup.yaml",
        "--set",
        `source.with.collections=[${name}]`,
        "--set",
        "source.with.pageSize=20",
        "--set",
        "sink.with.maxFileBytes=16KiB",
      ],
      cwd: ROOT,
      env: serverEnv(server, dir),
      stdout: "piped",
      stderr: "piped",
    }).output();
    let finished = false;
    const done = backup.finally(() => finished = true);
    const deadline = performance.now() + 30_000;
    while (!finished && await bytesUnder(dir) < 64 * 1024 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(finished, false, "the backup must still be reading when the server goes down");
    await server.restart({ signal: "SIGKILL" });
    assert.equal(finished, false, "the backup must wait for the server, not end");

    const out = await done;
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    // The restart was met: no connection (then, if a retry lands while the schema loads, 404s,
    // which tests/plugins/restart_test.ts covers without timing).
    // (Over gRPC, the default listing, or over REST.)
    assert.match(
      stderr,
      /retrying .* after: (Cannot GET \S*\/v1\/objects\?\S*: connection refused|Cannot search over gRPC: .*(ECONNREFUSED|Connection dropped|connection refused))/i,
    );

    const { manifest, objects } = await readBackup(dir);
    const entry = manifest.collections.find((c) => c.name === name);
    assert.ok(entry);
    assert.equal(entry.objects, total);
    assert.equal(manifest.totals.objects, total);
    const live = await listAll(server, name);
    assert.equal(live.size, total);
    assert.deepEqual([...objects.keys()].sort(), [...live.keys()].sort());
    for (const [id, o] of live) {
      const stored = objects.get(id)!;
      assert.equal(stored.properties.n, o.properties.n);
      const vector = (o.vectors as { default: number[] }).default;
      assert.ok(sameBits(stored.vectors.default as Float32Array, Float32Array.from(vector)), id);
    }
  },
});

Deno.test({
  name:
    "backup of an object with a NaN vector fails in one line naming collection, tenant, cursor and object",
  ...integration,
  async fn() {
    await using server = await useWeaviate();
    const name = uniqueName("NanVector");
    const client = await connectClient(server);
    try {
      await client.collections.create({
        name,
        properties: [{ name: "n", dataType: "int" }],
        vectorizers: weaviate.configure.vectors.selfProvided(),
        multiTenancy: weaviate.configure.multiTenancy({ enabled: true }),
      });
      await client.collections.use(name).tenants.create([{ name: "t1" }]);
      const collection = client.collections.use(name).withTenant("t1");
      // Chosen ids put the bad object in the middle of the second page of 25.
      const uuid = (k: number) => `00000000-0000-4000-8000-${k.toString(16).padStart(12, "0")}`;
      const inserted = await collection.data.insertMany(
        Array.from(
          { length: 60 },
          (_, n) => ({ id: uuid(2 * n), properties: { n }, vectors: [n, 1, 2] }),
        ),
      );
      assert.equal(inserted.hasErrors, false);
      // insertMany goes over gRPC and keeps the NaN; data.insert goes over REST, where
      // JSON turns NaN into null and Weaviate stores 0.
      const bad = uuid(2 * 37 + 1);
      const nan = await collection.data.insertMany([
        { id: bad, properties: { n: -1 }, vectors: [1, NaN, 2] },
      ]);
      assert.equal(nan.hasErrors, false);
      // It landed: Weaviate counts it, returns it without vectors and cannot with them.
      assert.equal((await collection.aggregate.overAll()).totalCount, 61);
      const path = `${server.url}/v1/objects/${name}/${bad}?tenant=t1`;
      const without = await (await fetch(path)).json();
      assert.equal(without.properties.n, -1);
      const withVector = await fetch(`${path}&include=vector`);
      assert.equal(withVector.status, 200);
      assert.equal(await withVector.text(), "");
      const pageSize = 25;
      const cursor = `after ${uuid(2 * 24)}`;

      const dir = await tempDir("weft-test-nan-");
      const run = await denoTask(
        [
          "backup",
          "pipelines/backup.yaml",
          "--set",
          `source.with.collections=[${name}]`,
          "--set",
          `source.with.pageSize=${pageSize}`,
        ],
        // The REST listing's diagnosis; over gRPC the vector comes as bytes (grpc_reader_test).
        { ...serverEnv(server, dir), WEFT_FLAG_GRPC_READER: "off" },
      );
      assert.equal(run.code, 1, run.stderr);
      const last = run.stderr.trim().split("\n").at(-1)!;
      assert.ok(
        last.startsWith(
          `weft: [weaviate-reader] step "source": Cannot list objects of "${name}" (tenant "t1") ${cursor}: ` +
            "Weaviate answered HTTP 200 with an empty body; " +
            `object ${bad} holds a NaN or infinite vector`,
        ),
        last,
      );
      assert.match(last, /includeVectors: false/);
      assert.doesNotMatch(run.stderr, /retrying/, "an empty page is not retried");
      await assert.rejects(Deno.stat(`${dir}/manifest.json`), Deno.errors.NotFound);

      // Without vectors the same collection backs up in full.
      const plain = await denoTask(
        [
          "backup",
          "pipelines/backup.yaml",
          "--set",
          `source.with.collections=[${name}]`,
          "--set",
          "source.with.includeVectors=false",
        ],
        {
          ...serverEnv(server, await tempDir("weft-test-nan-plain-")),
          WEFT_FLAG_GRPC_READER: "off",
        },
      );
      assert.equal(plain.code, 0, plain.stderr);
    } finally {
      await client.collections.delete(name).catch(() => {});
      await client.close();
    }
  },
});
