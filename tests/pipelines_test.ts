import assert from "node:assert/strict";
import { join } from "node:path";
import { builtinPlugins } from "../plugins/mod.ts";
import { PipelineError } from "../src/errors.ts";
import { loadPipeline } from "../src/loader.ts";
import type { ResolvedPipeline } from "../src/pipeline.ts";
import { PluginRegistry } from "../src/registry.ts";

const DIR = new URL("../pipelines/", import.meta.url).pathname;
const files = [...Deno.readDirSync(DIR)]
  .filter((entry) => entry.isFile && entry.name.endsWith(".yaml"))
  .map((entry) => entry.name)
  .sort();

const UNSET = /^environment variable ([A-Za-z_][A-Za-z0-9_]*) is not set$/;

/** A stand-in for a variable a pipeline requires (one without a default). */
function placeholder(name: string): string {
  return /URL$/.test(name) ? "http://localhost:8080" : `./placeholder-${name.toLowerCase()}`;
}

/**
 * Loads `file` with an empty environment; if the only problems are variables
 * without a default, loads it again with those set to placeholders.
 */
async function loadWithRequiredVariables(file: string): Promise<ResolvedPipeline> {
  const registry = new PluginRegistry(builtinPlugins);
  try {
    return await loadPipeline(file, { registry, env: () => undefined });
  } catch (error) {
    if (!(error instanceof PipelineError)) throw error;
    const required = new Set<string>();
    for (const issue of error.issues) {
      const name = UNSET.exec(issue.message)?.[1];
      if (name) required.add(name);
    }
    if (required.size === 0) throw error;
    const env = (name: string) => required.has(name) ? placeholder(name) : undefined;
    return await loadPipeline(file, { registry, env });
  }
}

Deno.test("pipelines/ holds pipeline files", () => {
  assert.ok(files.length > 0, `no *.yaml in ${DIR}`);
});

for (const name of files) {
  Deno.test(`pipelines/${name} validates with the built-in plugins`, async () => {
    const pipeline = await loadWithRequiredVariables(join(DIR, name));
    assert.ok(pipeline.name.length > 0);
    assert.equal(pipeline.source.plugin.kind, "source");
    assert.equal(pipeline.sink.plugin.kind, "sink");
    for (const step of pipeline.transforms) assert.equal(step.plugin.kind, "transform");
  });
}
