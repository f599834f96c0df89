import assert from "node:assert/strict";
import { useWeaviate } from "../harness/weaviate.ts";
import {
  backupTo,
  createFixture,
  denoTask,
  integration,
  listAll,
  rest,
  serverEnv,
  uniqueName,
} from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

/** Backs up `collection` into a fresh directory and returns it. */
const backup = (collection: string) => backupTo(server, [collection]);

/** `--yes` passes as it is; anything else is a `--set`. */
function restore(dir: string, ...sets: string[]) {
  return denoTask(
    [
      "restore",
      "pipelines/restore.yaml",
      ...sets.flatMap((s) => s === "--yes" ? [s] : ["--set", s]),
    ],
    serverEnv(server, dir),
  );
}

function verify(source: string, ...args: string[]) {
  return denoTask(["verify", source, "--against", server.url, ...args], {});
}

Deno.test({
  name: "verify reports zero differences after a restore, then names changed and missing UUIDs",
  ...integration,
  async fn() {
    const { things } = await createFixture(server);
    const dir = await backup(things);
    const copy = uniqueName("Verified");
    assert.equal((await restore(dir, `sink.with.collection=${copy}`)).code, 0);
    const ok = await verify(dir, "--collection", things, "--as", copy);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /identical/);

    const ids = [...(await listAll(server, copy)).keys()].sort();
    await rest(server, "PATCH", `/v1/objects/${copy}/${ids[0]}`, {
      properties: { title: "edited" },
    });
    await rest(server, "DELETE", `/v1/objects/${copy}/${ids[1]}`);
    const bad = await verify(dir, "--collection", things, "--as", copy);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`different: ${ids[0]} \\(properties\\)`));
    assert.match(bad.stderr, new RegExp(`missing in target: ${ids[1]}`));
    assert.match(bad.stderr, /2 differences/);
  },
});

Deno.test({
  name: "migrate copies a collection with a changed index type, verifies it and moves an alias",
  ...integration,
  async fn() {
    const { things } = await createFixture(server);
    const next = uniqueName("Migrated");
    const alias = uniqueName("Live");
    const run = await denoTask(
      [
        "migrate",
        "pipelines/migrate.yaml",
        "--set",
        "sink.with.overrides={vectorConfig: {small: {vectorIndexType: flat, vectorIndexConfig: {}}}}",
      ],
      {
        SOURCE_URL: server.url,
        TARGET_URL: server.url,
        TARGET_GRPC_URL: server.grpcUrl,
        COLLECTION: things,
        TARGET_COLLECTION: next,
        ALIAS: alias,
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /objects read back, content identical/,
      "alias waits for a content check",
    );
    const definition = await rest<{ vectorConfig: Record<string, { vectorIndexType: string }> }>(
      server,
      "GET",
      `/v1/schema/${next}`,
    );
    assert.equal(definition.vectorConfig.small!.vectorIndexType, "flat");
    assert.equal(definition.vectorConfig.large!.vectorIndexType, "flat");
    assert.equal(definition.vectorConfig.colbert!.vectorIndexType, "hnsw");
    const pointed = await rest<{ class: string }>(server, "GET", `/v1/aliases/${alias}`);
    assert.equal(pointed.class, next);
    const check = await verify(server.url, "--collection", things, "--as", next);
    assert.equal(check.code, 0, check.stderr);
  },
});

Deno.test({
  name:
    "restore into an existing collection: skip-existing, overwrite and replace do what they say",
  ...integration,
  async fn() {
    const { things } = await createFixture(server);
    const dir = await backup(things);
    const ids = [...(await listAll(server, things)).keys()].sort();
    await rest(server, "PATCH", `/v1/objects/${things}/${ids[0]}`, {
      properties: { title: "kept?" },
    });
    await rest(server, "DELETE", `/v1/objects/${things}/${ids[1]}`);

    const refused = await restore(dir);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /nothing was written: "\w+" exists \(set mode: skip-existing/);

    assert.equal((await restore(dir, "sink.with.mode=skip-existing")).code, 0);
    let now = await listAll(server, things);
    assert.equal(now.size, 2, "the deleted object is back");
    assert.equal(now.get(ids[0]!)!.properties.title, "kept?", "existing objects are left alone");

    assert.equal((await restore(dir, "sink.with.mode=overwrite")).code, 0);
    const clean = await verify(dir, "--collection", things);
    assert.equal(clean.code, 0, clean.stderr);

    const extra = crypto.randomUUID();
    await rest(server, "POST", "/v1/objects", {
      class: things,
      id: extra,
      properties: { title: "extra" },
    });
    const unconfirmed = await restore(dir, "sink.with.mode=replace");
    assert.equal(unconfirmed.code, 1);
    assert.match(unconfirmed.stderr, /dry run: would drop "\w+" with its 3 objects/);
    assert.match(unconfirmed.stderr, /nothing was written: mode replace .* not confirmed/);
    now = await listAll(server, things);
    assert.ok(now.has(extra), "an unconfirmed replace changes nothing");
    assert.equal((await restore(dir, "sink.with.mode=replace", "--yes")).code, 0);
    assert.ok(!(await listAll(server, things)).has(extra));
    assert.equal((await verify(dir, "--collection", things)).code, 0);
  },
});

Deno.test({
  name: "restore with skipVectors writes objects without vectors",
  ...integration,
  async fn() {
    const { things } = await createFixture(server);
    const dir = await backup(things);
    const copy = uniqueName("NoVectors");
    const run = await restore(dir, `sink.with.collection=${copy}`, "sink.with.skipVectors=true");
    assert.equal(run.code, 0, run.stderr);
    const objects = await listAll(server, copy);
    assert.equal(objects.size, 2);
    for (const o of objects.values()) {
      assert.deepEqual(Object.values(o.vectors ?? {}).filter((v) => (v as unknown[]).length), []);
    }
  },
});

Deno.test({
  name:
    "restore refuses a module the target lacks and a replication factor above its node count, unless forceSchema",
  ...integration,
  async fn() {
    const { authors } = await createFixture(server);
    const dir = await backup(authors);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    manifest.collections[0].definition.moduleConfig = {
      "text2vec-contextionary": { vectorizeClassName: true },
    };
    // As if backed up from a three-node cluster: this one has a single node.
    manifest.collections[0].definition.replicationConfig.factor = 3;
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
    const copy = uniqueName("Forced");
    const refused = await restore(dir, `sink.with.collection=${copy}`);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /moduleConfig\.text2vec-contextionary needs module "text2vec-contextionary".*also: replicationConfig\.factor is 3, but the target has 1 node/,
    );
    await assert.rejects(rest(server, "GET", `/v1/schema/${copy}`), /404/);
    const forced = await restore(dir, `sink.with.collection=${copy}`, "sink.with.forceSchema=true");
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /forceSchema: dropped moduleConfig\.text2vec-contextionary/);
    assert.match(forced.stderr, /forceSchema: set replicationConfig\.factor from 3 to 1/);
    const created = await rest<{ replicationConfig: { factor: number } }>(
      server,
      "GET",
      `/v1/schema/${copy}`,
    );
    assert.equal(created.replicationConfig.factor, 1);
    assert.equal((await listAll(server, copy)).size, 1);
  },
});

Deno.test({
  name: "clear is a dry run without --yes, then deletes every object and keeps the definition",
  ...integration,
  async fn() {
    const { things, tenants } = await createFixture(server);
    const before = await rest(server, "GET", `/v1/schema/${things}`);
    const dry = await denoTask(["clear", "pipelines/clear.yaml"], {
      WEAVIATE_URL: server.url,
      COLLECTION: things,
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, new RegExp(`would delete 2 objects of "${things}"`));
    assert.equal((await listAll(server, things)).size, 2, "a dry run deletes nothing");

    const done = await denoTask(["clear", "pipelines/clear.yaml", "--yes"], {
      WEAVIATE_URL: server.url,
      COLLECTION: things,
    });
    assert.equal(done.code, 0, done.stderr);
    assert.equal((await listAll(server, things)).size, 0);
    assert.deepEqual(await rest(server, "GET", `/v1/schema/${things}`), before);

    // Only one tenant, then a whole multi-tenant collection by drop-and-recreate.
    const env = { WEAVIATE_URL: server.url, COLLECTION: tenants };
    const one = await denoTask(
      ["clear", "pipelines/clear.yaml", "--yes", "--set", "sink.with.tenants=[t1]"],
      env,
    );
    assert.equal(one.code, 0, one.stderr);
    assert.equal((await listAll(server, tenants, "t1")).size, 0);
    assert.equal((await listAll(server, tenants, "t3")).size, 4);
    const all = await denoTask(
      ["clear", "pipelines/clear.yaml", "--yes", "--set", "sink.with.strategy=recreate"],
      env,
    );
    assert.equal(all.code, 0, all.stderr);
    assert.equal((await listAll(server, tenants, "t3")).size, 0);
    const statuses = await rest<{ name: string; activityStatus: string }[]>(
      server,
      "GET",
      `/v1/schema/${tenants}/tenants`,
    );
    assert.deepEqual(
      statuses.map((t) => [t.name, t.activityStatus]).sort(),
      [["t1", "HOT"], ["t2", "COLD"], ["t3", "HOT"]],
    );
  },
});

Deno.test({
  name: "clear with a filter deletes only matching objects",
  ...integration,
  async fn() {
    const name = uniqueName("Filtered");
    await rest(server, "POST", "/v1/schema", {
      class: name,
      properties: [{ name: "status", dataType: ["text"], tokenization: "field" }],
    });
    await rest(server, "POST", "/v1/batch/objects", {
      objects: Array.from({ length: 30 }, (_, i) => ({
        class: name,
        properties: { status: i % 3 === 0 ? "draft" : "live" },
      })),
    });
    const run = await denoTask(
      [
        "clear",
        "pipelines/clear.yaml",
        "--yes",
        "--set",
        "sink.with.where={path: [status], operator: Equal, valueText: draft}",
      ],
      { WEAVIATE_URL: server.url, COLLECTION: name },
    );
    assert.equal(run.code, 0, run.stderr);
    const left = [...(await listAll(server, name)).values()];
    assert.equal(left.length, 20);
    assert.ok(left.every((o) => o.properties.status === "live"));
  },
});
