import assert from "node:assert/strict";
import { useWeaviate } from "../harness/weaviate.ts";
import {
  connect,
  denoTask,
  integration,
  serverEnv,
  signalAfter,
  tempDir,
  uniqueName,
} from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

const interrupt = (args: string[], env: Record<string, string>, after: string) =>
  signalAfter(args, env, after, "SIGINT");

async function createNumbers(name: string, count: number): Promise<void> {
  const client = await connect(server);
  try {
    await client.collections.create({ name, properties: [{ name: "n", dataType: "int" }] });
    const res = await client.collections.use(name).data.insertMany(
      Array.from({ length: count }, (_, n) => ({ properties: { n } })),
    );
    assert.equal(res.hasErrors, false);
  } finally {
    await client.close();
  }
}

Deno.test({
  name: "Ctrl-C stops a running backup with exit 130 and no manifest",
  ...integration,
  async fn() {
    const name = uniqueName("Cancel");
    await createNumbers(name, 2000);
    const dir = await tempDir("weft-test-cancel-");
    // One object a page keeps the run going long enough to interrupt it.
    const { code, stdout, stderr } = await interrupt(
      [
        "pipelines/backup.yaml",
        "--set",
        `source.with.collections=[${name}]`,
        "--set",
        "source.with.pageSize=1",
      ],
      serverEnv(server, dir),
      "reading 1 collection",
    );
    assert.equal(code, 130, stderr);
    assert.match(stderr, /cancelled by SIGINT/);
    assert.match(stderr, /backup incomplete: no manifest written/);
    assert.doesNotMatch(stdout + stderr, /✔/);
    await assert.rejects(Deno.stat(`${dir}/manifest.json`), Deno.errors.NotFound);
  },
});

Deno.test({
  name: "Ctrl-C during a migrate says the copy is partial; mode overwrite completes it",
  ...integration,
  async fn() {
    const name = uniqueName("Interrupted");
    const copy = uniqueName("Partial");
    await createNumbers(name, 2000);
    const env = {
      SOURCE_URL: server.url,
      TARGET_URL: server.url,
      TARGET_GRPC_URL: server.grpcUrl,
      COLLECTION: name,
      TARGET_COLLECTION: copy,
    };
    const { code, stdout, stderr } = await interrupt(
      ["pipelines/migrate.yaml", "--set", "source.with.pageSize=1"],
      env,
      "created collection",
    );
    assert.equal(code, 130, stderr);
    assert.match(
      stderr,
      new RegExp(
        `"${copy}" holds a partial copy: \\d+ of the \\d+ objects received were written; run again with mode: overwrite`,
      ),
    );
    assert.doesNotMatch(stdout + stderr, /✔/);

    const again = await denoTask(
      ["migrate", "pipelines/migrate.yaml", "--set", "sink.with.mode=overwrite"],
      env,
    );
    assert.equal(again.code, 0, again.stderr);
    const check = await denoTask(
      ["verify", server.url, "--against", server.url, "--collection", name, "--as", copy],
      {},
    );
    assert.equal(check.code, 0, check.stderr);
  },
});
