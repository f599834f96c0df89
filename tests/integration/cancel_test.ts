import assert from "node:assert/strict";
import { useWeaviate } from "../harness/weaviate.ts";
import { connect, integration, ROOT, serverEnv, tempDir, uniqueName } from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

Deno.test({
  name: "Ctrl-C stops a running backup with exit 130 and no manifest",
  ...integration,
  async fn() {
    const name = uniqueName("Cancel");
    const client = await connect(server);
    try {
      await client.collections.create({ name, properties: [{ name: "n", dataType: "int" }] });
      const res = await client.collections.use(name).data.insertMany(
        Array.from({ length: 2000 }, (_, n) => ({ properties: { n } })),
      );
      assert.equal(res.hasErrors, false);
    } finally {
      await client.close();
    }
    const dir = await tempDir("weft-test-cancel-");
    // One object a page keeps the run going long enough to interrupt it.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "main.ts",
        "run",
        "pipelines/backup.yaml",
        "--set",
        `source.with.collections=[${name}]`,
        "--set",
        "source.with.pageSize=1",
      ],
      cwd: ROOT,
      env: serverEnv(server, dir),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const decoder = new TextDecoder();
    let stderr = "";
    const reader = child.stderr.getReader();
    while (!stderr.includes("reading 1 collection")) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += decoder.decode(value);
    }
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += decoder.decode(value);
    }
    const status = await child.status;
    const stdout = decoder.decode(await new Response(child.stdout).arrayBuffer());
    assert.equal(status.code, 130, stderr);
    assert.match(stderr, /cancelled by SIGINT/);
    assert.match(stderr, /backup incomplete: no manifest written/);
    assert.doesNotMatch(stdout + stderr, /✔/);
    await assert.rejects(Deno.stat(`${dir}/manifest.json`), Deno.errors.NotFound);
  },
});
