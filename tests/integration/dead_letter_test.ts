/**
 * The dead-letter round trip against a real Weaviate: objects Weaviate refuses
 * inside an otherwise good batch land in the dead-letter file (with error and
 * attempts), everything else is written, the run exits 1 naming the file; the
 * file, once fixed, restores through pipelines/restore.yaml.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { builtinPlugins } from "../../plugins/mod.ts";
import { createLogger } from "../../src/logger.ts";
import { parsePipeline } from "../../src/loader.ts";
import { type Message, partitionKey, type WeftObject } from "../../src/messages.ts";
import { definePlugin } from "../../src/plugin.ts";
import { PluginRegistry } from "../../src/registry.ts";
import { runPipeline } from "../../src/runner.ts";
import { useWeaviate } from "../harness/weaviate.ts";
import { denoTask, integration, listAll, serverEnv, tempDir, uniqueName } from "./_helpers.ts";

const server = await useWeaviate();

/** A backup whose objects 7 and 23 hold text in an int property. */
function badBackup(name: string): Promise<string> {
  const objects: WeftObject[] = Array.from({ length: 40 }, (_, i) => ({
    id: `10000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    properties: { title: `object ${i}`, n: i === 7 || i === 23 ? `number ${i}` : i },
    vectors: { default: Float32Array.from([i, 1, -0, 0.5]) },
  }));
  return backupOf({
    class: name,
    properties: [
      { name: "title", dataType: ["text"] },
      { name: "n", dataType: ["int"] },
    ],
    vectorConfig: {
      default: { vectorizer: { none: {} }, vectorIndexType: "hnsw" },
    },
  }, objects);
}

/** A file backup of one collection holding `objects`, in their order. */
async function backupOf(
  definition: { class: string } & Record<string, unknown>,
  objects: WeftObject[],
): Promise<string> {
  const name = definition.class;
  const partition = partitionKey(name);
  const messages: Message[] = [
    { type: "source-info", system: "test", definitions: [definition] },
    { type: "collection", collection: name, definition },
    { type: "partition-start", partition, collection: name, total: objects.length },
    { type: "objects", partition, collection: name, seq: 0, objects },
    { type: "partition-end", partition, collection: name, objects: objects.length },
  ];
  const source = definePlugin({
    name: "bad-objects",
    description: "Sends objects Weaviate will partly refuse.",
    kind: "source",
    config: z.object({}).passthrough(),
    create: () => ReadableStream.from(messages),
  });
  const dir = await tempDir("weft-dead-letter-");
  const registry = new PluginRegistry([...builtinPlugins, source]);
  const pipeline = await parsePipeline(
    `name: bad\nsource: { use: bad-objects }\nsink: { use: file-writer, with: { path: ${dir}/backup } }\n`,
    "inline.yaml",
    { registry },
  );
  await runPipeline(pipeline, { log: createLogger({ level: "silent" }) });
  return join(dir, "backup");
}

Deno.test(
  "a restore dead-letters only the objects Weaviate refuses, and the fixed file restores",
  integration,
  async () => {
    const name = uniqueName("DeadLetter");
    const backup = await badBackup(name);
    const deadLetter = join(await tempDir("weft-dead-letter-out-"), "refused.jsonl");
    const env = serverEnv(server, backup);

    const first = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", `runtime.deadLetter=${deadLetter}`],
      env,
    );
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, /Cannot write 2 object\(s\): refused after every retry/);
    assert.ok(first.stderr.includes(deadLetter), first.stderr);
    const written = await listAll(server, name);
    assert.equal(written.size, 38);
    assert.ok(!written.has("10000000-0000-4000-8000-000000000007"));

    const lines = (await Deno.readTextFile(deadLetter)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(lines[0].type, "collection");
    assert.equal(lines[0].collection, name);
    const refused = lines.slice(1);
    assert.deepEqual(
      refused.map((l) => l.object.id).sort(),
      ["10000000-0000-4000-8000-000000000007", "10000000-0000-4000-8000-000000000023"],
    );
    for (const line of refused) {
      assert.ok(line.attempts >= 1);
      assert.match(line.error, /\bn\b|int/i);
      assert.deepEqual(line.object.vectors.default.slice(0, 3), [
        line.object.properties.title === "object 7" ? 7 : 23,
        1,
        -0,
      ]);
    }

    // Fix the values and feed the file back through the restore pipeline.
    const fixed = (await Deno.readTextFile(deadLetter))
      .replace('"n":"number 7"', '"n":7').replace('"n":"number 23"', '"n":23');
    await Deno.writeTextFile(deadLetter, fixed);
    const second = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", "sink.with.mode=overwrite"],
      { ...env, BACKUP_PATH: deadLetter },
    );
    assert.equal(second.code, 0, second.stderr);
    const all = await listAll(server, name);
    assert.equal(all.size, 40);
    assert.equal(all.get("10000000-0000-4000-8000-000000000023")?.properties.n, 23);
  },
);

Deno.test(
  "an object set aside for its references and refused at the end is dead-lettered whole",
  integration,
  async () => {
    const name = uniqueName("DeadLetterLate");
    const id = (i: number) => `20000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
    // Object 0 points at object 5, which comes after it: it is set aside until 5 is
    // there. Its vector is one dimension short, which Weaviate only finds when it
    // is sent again: it is refused at the end, after the core's own retries.
    const objects: WeftObject[] = Array.from({ length: 10 }, (_, i) => ({
      id: id(i),
      properties: { title: `object ${i}` },
      vectors: { default: Float32Array.from(i === 0 ? [1, 2, 3] : [i, 1, -0, 0.5]) },
      ...(i === 0 ? { references: { next: [{ id: id(5), collection: name }] } } : {}),
    }));
    const backup = await backupOf({
      class: name,
      properties: [{ name: "title", dataType: ["text"] }, { name: "next", dataType: [name] }],
      vectorConfig: { default: { vectorizer: { none: {} }, vectorIndexType: "hnsw" } },
    }, objects);
    const deadLetter = join(await tempDir("weft-dead-letter-late-"), "refused.jsonl");
    const env = serverEnv(server, backup);

    const first = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", `runtime.deadLetter=${deadLetter}`],
      env,
    );
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, /Cannot write 1 object\(s\): refused after every retry/);
    assert.ok(first.stderr.includes(deadLetter), first.stderr);
    const written = await listAll(server, name);
    assert.equal(written.size, 9);
    assert.ok(!written.has(id(0)));

    const lines = (await Deno.readTextFile(deadLetter)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(lines.length, 2, "the collection, then the one refused object");
    const [line] = lines.slice(1);
    assert.equal(line.object.id, id(0));
    assert.match(line.error, /length|dimension/i);
    assert.deepEqual(line.object.vectors.default, [1, 2, 3]);
    assert.deepEqual(line.object.references, { next: [{ id: id(5), collection: name }] });

    // Fixed, the file restores the object with its reference.
    await Deno.writeTextFile(
      deadLetter,
      (await Deno.readTextFile(deadLetter)).replace('"default":[1,2,3]', '"default":[0,1,-0,0.5]'),
    );
    const second = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", "sink.with.mode=overwrite"],
      { ...env, BACKUP_PATH: deadLetter },
    );
    assert.equal(second.code, 0, second.stderr);
    const all = await listAll(server, name);
    assert.equal(all.size, 10);
    assert.deepEqual(
      (all.get(id(0))?.properties.next as { beacon: string }[]).map((r) => r.beacon),
      [`weaviate://localhost/${name}/${id(5)}`],
    );
  },
);
