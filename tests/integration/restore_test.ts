import assert from "node:assert/strict";
import { startWeaviate, useWeaviate } from "../harness/weaviate.ts";
import {
  backupTo,
  createFixture,
  denoTask,
  integration,
  listAll,
  renamed,
  rest,
  serverEnv,
  uniqueName,
} from "./_helpers.ts";

const source = await useWeaviate();
addEventListener("unload", () => void source.stop());

Deno.test({
  name:
    "backup then restore into another server reproduces every object, vector, reference and tenant",
  ...integration,
  async fn() {
    const { authors, things, tenants } = await createFixture(source);
    const live = uniqueName("ThingsLive");
    await rest(source, "POST", "/v1/aliases", { alias: live, class: things });
    const dir = await backupTo(source, [authors, things, tenants]);

    await using target = await startWeaviate();
    const restore = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", "sink.with.check=content"],
      serverEnv(target, dir),
    );
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(restore.stderr.match(/content identical/g)?.length, 3, restore.stderr);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    assert.deepEqual(
      manifest.collections.find((c: { name: string }) => c.name === things).aliases,
      [live],
    );
    const alias = await rest<{ class: string }>(target, "GET", `/v1/aliases/${live}`);
    assert.equal(alias.class, things, "the alias is restored");

    for (const name of [authors, things, tenants]) {
      if (name !== tenants) {
        assert.deepEqual(await listAll(target, name), await listAll(source, name), name);
      }
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
  name: "restore with protocol: rest (REST batch inserts) gives the same objects as gRPC",
  ...integration,
  async fn() {
    const { things } = await createFixture(source);
    const dir = await backupTo(source, [things]);
    const env = serverEnv(source, dir);
    const viaRest = uniqueName("ViaRest");
    const run = await denoTask([
      "restore",
      "pipelines/restore.yaml",
      "--set",
      `sink.with.collection=${viaRest}`,
      "--set",
      "sink.with.protocol=rest",
    ], env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      await listAll(source, viaRest),
      renamed(await listAll(source, things), things, viaRest),
    );
  },
});

Deno.test({
  name: "restore under a new name on the same server, and mode fail refuses an existing collection",
  ...integration,
  async fn() {
    const { things } = await createFixture(source);
    const dir = await backupTo(source, [things]);
    const env = serverEnv(source, dir);
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
    assert.match(again.stderr, new RegExp(`nothing was written: "${copy}" exists`));
  },
});

Deno.test({
  name: "restore checks every collection before writing: a bad run writes nothing",
  ...integration,
  async fn() {
    const { authors, things } = await createFixture(source);
    const dir = await backupTo(source, [authors, things]);
    const env = serverEnv(source, dir);
    const copy = uniqueName("One");
    const renamed = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", `sink.with.collection=${copy}`],
      env,
    );
    assert.equal(renamed.code, 1);
    assert.match(
      renamed.stderr,
      /nothing was written: "collection" renames one collection, but the input holds 2/,
    );
    await assert.rejects(rest(source, "GET", `/v1/schema/${copy}`), /404/);

    await rest(source, "DELETE", `/v1/schema/${things}`);
    const existing = await denoTask(["restore", "pipelines/restore.yaml"], env);
    assert.equal(existing.code, 1);
    assert.match(existing.stderr, new RegExp(`nothing was written: "${authors}" exists`));
    await assert.rejects(
      rest(source, "GET", `/v1/schema/${things}`),
      /404/,
      "the collection that did not exist was not created either",
    );
  },
});

Deno.test({
  name: "restore stops at a damaged data file, names it, and writes nothing at all",
  ...integration,
  async fn() {
    const { authors } = await createFixture(source);
    const dir = await backupTo(source, [authors]);
    const env = serverEnv(source, dir);
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
    // Every file is checked before anything is written: not even the collection exists.
    await assert.rejects(rest(source, "GET", `/v1/schema/${copy}`), /404/);
  },
});
