import assert from "node:assert/strict";
import { builtinPlugins } from "../../plugins/mod.ts";
import { PluginRegistry } from "../../src/registry.ts";
import { verifyPipeline } from "../../src/verify.ts";

const registry = new PluginRegistry(builtinPlugins);

Deno.test("verifyPipeline() reads a server given as a URL or as host:port, a directory otherwise", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-verify-" });
  try {
    const source = (s: string) =>
      verifyPipeline({ source: s, against: "http://localhost:8080" }, registry).source;
    assert.equal(source("http://old:8080").plugin.name, "weaviate-reader");
    const bare = source("localhost:8081");
    assert.equal(bare.plugin.name, "weaviate-reader");
    assert.equal((bare.config as { url: string }).url, "http://localhost:8081");
    assert.equal(source(dir).plugin.name, "file-reader");
    assert.equal(source("./backups/weaviate-20261125T054000Z").plugin.name, "file-reader");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verifyPipeline() leaves vectors out with skipVectors", () => {
  const sink = verifyPipeline(
    { source: "http://old:8080", against: "http://new:8080", skipVectors: true },
    registry,
  ).sink;
  assert.equal((sink.config as { vectors: boolean }).vectors, false);
});

Deno.test("verifyPipeline() maps renamed tenants, and refuses a malformed --tenants", () => {
  const sink = verifyPipeline(
    { source: "http://old:8080", against: "http://new:8080", tenants: "acme=acme2, b=c" },
    registry,
  ).sink;
  assert.deepEqual((sink.config as { tenants: unknown }).tenants, { acme: "acme2", b: "c" });
  assert.throws(
    () => verifyPipeline({ source: "x", against: "http://new:8080", tenants: "acme" }, registry),
    /--tenants: expected source=target pairs/,
  );
});
