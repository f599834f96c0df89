import assert from "node:assert/strict";
import { prng } from "../../scripts/sample_data.ts";
import { startWeaviate } from "../harness/weaviate.ts";
import {
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
    // Both phases of a restart were met: no connection, then 404 until the schema loads.
    assert.match(
      stderr,
      /retrying .* after: Cannot GET \S*\/v1\/objects\?\S*: connection refused/i,
    );
    assert.match(stderr, /retrying .* after: Cannot GET \S*\/v1\/objects\?\S*: HTTP 404/);

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
