import assert from "node:assert/strict";
import weaviate from "weaviate-client";
import { prng } from "../../scripts/sample_data.ts";
import { useWeaviate } from "../harness/weaviate.ts";
import {
  connect,
  denoTask,
  integration,
  readBackup,
  rest,
  sameBits,
  serverEnv,
  tempDir,
  uniqueName,
} from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

Deno.test({
  name: "deno task backup writes all 10,000 objects with their vectors and valid checksums",
  ...integration,
  async fn() {
    const name = uniqueName("BackupTen");
    const client = await connect(server);
    try {
      await client.collections.create({
        name,
        properties: [
          { name: "title", dataType: "text" },
          { name: "score", dataType: "number" },
          { name: "published", dataType: "date" },
          { name: "active", dataType: "boolean" },
        ],
        vectorizers: weaviate.configure.vectors.selfProvided(),
      });
      const collection = client.collections.use(name);
      const random = prng(7);
      const batches: {
        properties: Record<string, string | number | boolean>;
        vectors: number[];
      }[][] = [];
      for (let b = 0; b < 20; b++) {
        batches.push(Array.from({ length: 500 }, (_, k) => {
          const i = b * 500 + k;
          return {
            properties: {
              title: `Object ${i} — ünïcödé ✓`,
              score: random() * 1000 - 500,
              published: new Date(Date.UTC(2021, 0, 1) + i * 60_000).toISOString(),
              active: i % 3 === 0,
            },
            vectors: Array.from({ length: 128 }, () => random() * 2 - 1),
          };
        }));
      }
      for (let i = 0; i < batches.length; i += 4) {
        const results = await Promise.all(
          batches.slice(i, i + 4).map((batch) => collection.data.insertMany(batch)),
        );
        for (const r of results) assert.equal(r.hasErrors, false);
      }

      const dir = await tempDir("weft-test-backup-");
      const run = await denoTask(
        [
          "backup",
          "pipelines/backup.yaml",
          "--set",
          `source.with.collections=[${name}]`,
          "--set",
          "sink.with.maxFileBytes=1MiB",
        ],
        serverEnv(server, dir),
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /completed/);
      assert.match(run.stdout, /10,000/);

      const backup = await readBackup(dir);
      assert.equal(backup.manifest.format, "weft-backup");
      assert.equal(backup.manifest.source.version, "1.39.0");
      assert.equal(backup.manifest.totals.objects, 10_000);
      assert.ok(backup.manifest.files.length > 1, "1 MiB files: the backup must span files");
      assert.equal(backup.objects.size, 10_000);
      const entry = backup.manifest.collections.find((c) => c.name === name);
      assert.ok(entry);
      assert.equal(entry.objects, 10_000);
      assert.equal((entry.definition as { class: string }).class, name);
      const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
      assert.equal(summary.objects, 10_000);
      assert.equal(summary.status, "completed");

      // Every object, read independently over gRPC, must match the backup.
      let seen = 0;
      let after: string | undefined;
      for (;;) {
        const page = await collection.query.fetchObjects({
          limit: 1000,
          includeVector: true,
          ...(after ? { after } : {}),
        });
        if (page.objects.length === 0) break;
        for (const o of page.objects) {
          const stored = backup.objects.get(o.uuid);
          assert.ok(stored, `object ${o.uuid} missing from the backup`);
          assert.equal(stored.properties.title, o.properties.title);
          assert.equal(stored.properties.score, o.properties.score);
          assert.equal(stored.properties.active, o.properties.active);
          assert.equal(
            Date.parse(stored.properties.published as string),
            (o.properties.published as Date).getTime(),
          );
          const vector = stored.vectors.default;
          assert.ok(vector instanceof Float32Array, "named vector 'default' stored");
          assert.ok(sameBits(vector, Float32Array.from(o.vectors.default as number[])));
          seen++;
        }
        after = page.objects.at(-1)!.uuid;
      }
      assert.equal(seen, 10_000);
      await client.collections.delete(name);
    } finally {
      await client.close();
    }
  },
});

Deno.test({
  name:
    "backup-schema-only.yaml records definitions and tenants, no data; it restores to an empty collection",
  ...integration,
  async fn() {
    const name = uniqueName("SchemaOnly");
    const client = await connect(server);
    try {
      await client.collections.create({
        name,
        properties: [{ name: "title", dataType: "text" }],
        multiTenancy: weaviate.configure.multiTenancy({ enabled: true }),
      });
      const collection = client.collections.use(name);
      await collection.tenants.create([{ name: "alpha" }, { name: "beta" }]);
      await collection.withTenant("alpha").data.insert({ properties: { title: "x" } });
      const dir = await tempDir("weft-test-schema-");
      const run = await denoTask(
        [
          "backup",
          "pipelines/backup-schema-only.yaml",
          "--set",
          `source.with.collections=[${name}]`,
        ],
        serverEnv(server, dir),
      );
      assert.equal(run.code, 0, run.stderr);
      const { manifest } = await readBackup(dir);
      assert.equal(manifest.files.length, 0);
      const entry = manifest.collections.find((c) => c.name === name)!;
      assert.equal(entry.schemaOnly, true);
      assert.deepEqual(entry.tenants?.map((t) => t.name), ["alpha", "beta"]);

      // A schema-only backup restores to an empty collection with its tenants.
      const copy = uniqueName("EmptyCopy");
      const restore = await denoTask(
        ["restore", "pipelines/restore.yaml", "--set", `sink.with.collection=${copy}`],
        serverEnv(server, dir),
      );
      assert.equal(restore.code, 0, restore.stderr);
      const restored = client.collections.use(copy);
      assert.deepEqual(Object.keys(await restored.tenants.get()).sort(), [
        "alpha",
        "beta",
      ]);
      assert.equal((await restored.withTenant("alpha").aggregate.overAll()).totalCount, 0);
      const [original, copied] = await Promise.all([
        rest<Record<string, unknown>>(server, "GET", `/v1/schema/${name}`),
        rest<Record<string, unknown>>(server, "GET", `/v1/schema/${copy}`),
      ]);
      assert.deepEqual({ ...copied, class: name }, original);
      await client.collections.delete(copy);
      await client.collections.delete(name);
    } finally {
      await client.close();
    }
  },
});

Deno.test({
  name: "backup refuses a directory holding a backup and leaves it untouched",
  ...integration,
  async fn() {
    const name = uniqueName("NoClobber");
    const client = await connect(server);
    try {
      await client.collections.create({ name, properties: [{ name: "t", dataType: "text" }] });
      const dir = await tempDir("weft-test-exists-");
      const env = serverEnv(server, dir);
      const args = [
        "backup",
        "pipelines/backup.yaml",
        "--set",
        `source.with.collections=[${name}]`,
      ];
      assert.equal((await denoTask(args, env)).code, 0);
      const before = await Deno.readTextFile(`${dir}/manifest.json`);
      const again = await denoTask(args, env);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already holds a backup/);
      assert.ok(again.stderr.includes(dir), "the error names the directory");
      assert.equal(await Deno.readTextFile(`${dir}/manifest.json`), before);
      await client.collections.delete(name);
    } finally {
      await client.close();
    }
  },
});

Deno.test({
  name: "backup of a missing collection fails in one line and writes no manifest",
  ...integration,
  async fn() {
    const dir = await tempDir("weft-test-missing-");
    const run = await denoTask(
      ["backup", "pipelines/backup.yaml", "--set", "source.with.collections=[NoSuchThing]"],
      serverEnv(server, dir),
    );
    assert.equal(run.code, 1);
    const last = run.stderr.trim().split("\n").at(-1)!;
    assert.match(last, /^weft: \[weaviate-reader\] step "source": .*"NoSuchThing".*does not exist/);
    await assert.rejects(Deno.stat(`${dir}/manifest.json`), Deno.errors.NotFound);
  },
});
