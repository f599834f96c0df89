import assert from "node:assert/strict";
import { snapshot } from "../_files.ts";
import { join } from "node:path";
import { freePort } from "../harness/process.ts";
import { useWeaviate } from "../harness/weaviate.ts";
import {
  backupTo,
  createFixture,
  denoTask,
  integration,
  serverEnv,
  tempDir,
  uniqueName,
} from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

/** Environment of a Weaviate that cannot be reached. */
function unreachable(backupPath: string): Record<string, string> {
  const port = freePort();
  return {
    WEAVIATE_URL: `http://127.0.0.1:${port}`,
    WEAVIATE_GRPC_URL: `http://127.0.0.1:${port}`,
    BACKUP_PATH: backupPath,
  };
}

Deno.test({
  name: "backup from an unreachable Weaviate leaves no timestamped directory behind",
  ...integration,
  async fn() {
    const parent = await tempDir("weft-test-unreachable-");
    const run = await denoTask(
      ["backup", "pipelines/backup.yaml"],
      unreachable(join(parent, "nightly/weaviate-{timestamp}")),
    );
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(await snapshot(parent), new Map());
  },
});

Deno.test({
  name: "backup with ifExists: overwrite from an unreachable Weaviate keeps the old backup intact",
  ...integration,
  async fn() {
    const { authors, tenants } = await createFixture(server);
    const dir = await backupTo(server, [authors, tenants]);
    const before = await snapshot(dir);
    assert.ok(before.has("manifest.json") && before.size > 4, [...before.keys()].join(", "));
    const run = await denoTask(
      ["backup", "pipelines/backup.yaml", "--set", "sink.with.ifExists=overwrite"],
      unreachable(dir),
    );
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(await snapshot(dir), before);
  },
});

Deno.test({
  name: "restore of a backup whose last tenant file is damaged writes nothing at all",
  ...integration,
  async fn() {
    const { tenants } = await createFixture(server);
    const dir = await backupTo(server, [tenants]);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    const last = manifest.files.at(-1);
    assert.equal(last.tenant, "t3");
    const file = `${dir}/${last.path}`;
    await Deno.writeTextFile(file, (await Deno.readTextFile(file)).replace('"n":', '"m":'));
    const copy = uniqueName("Damaged");
    const run = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", `sink.with.collection=${copy}`],
      serverEnv(server, dir),
    );
    assert.equal(run.code, 1);
    const lastLine = run.stderr.trim().split("\n").at(-1)!;
    assert.match(lastLine, new RegExp(`Cannot read backup file ${last.path}: checksum mismatch`));
    const schema = await fetch(`${server.url}/v1/schema/${copy}`, {
      headers: server.apiKey ? { authorization: `Bearer ${server.apiKey}` } : {},
    });
    await schema.body?.cancel();
    assert.equal(schema.status, 404, `"${copy}" was created although the backup is damaged`);
  },
});
