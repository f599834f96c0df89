import assert from "node:assert/strict";
import {
  applyOverrides,
  type Definition,
  olderThan,
  prepareDefinition,
} from "../../plugins/_shared/definition.ts";

const options = {
  name: "Target",
  renames: new Map([["Author", "AuthorCopy"]]),
  modules: new Set<string>(),
  version: "1.39.0",
  force: false,
};

function definition(): Definition {
  return {
    class: "Source",
    vectorizer: "none",
    multiTenancyConfig: { enabled: true, autoTenantCreation: true },
    shardingConfig: { desiredCount: 1 },
    properties: [
      { name: "title", dataType: ["text"] },
      { name: "year", dataType: ["int"], indexRangeFilters: true } as never,
      { name: "author", dataType: ["Author"] },
      { name: "meta", dataType: ["object"] },
    ],
    vectorConfig: {
      small: {
        vectorizer: { none: {} },
        vectorIndexType: "hnsw",
        vectorIndexConfig: { rq: { enabled: true, bits: 8 } },
      },
      colbert: {
        vectorizer: { none: {} },
        vectorIndexType: "hnsw",
        vectorIndexConfig: { multivector: { enabled: true } },
      },
    },
  };
}

Deno.test("prepareDefinition renames, follows renamed reference targets, drops output-only sharding", () => {
  const source = definition();
  const { definition: out, changes } = prepareDefinition(source, options);
  assert.equal(out.class, "Target");
  assert.deepEqual(out.properties![2]!.dataType, ["AuthorCopy"]);
  assert.equal(out.shardingConfig, undefined);
  assert.deepEqual(changes, []);
  assert.equal(source.class, "Source", "the input is not modified");
});

Deno.test("prepareDefinition refuses settings newer than the target, naming the setting and versions", () => {
  assert.throws(
    () => prepareDefinition(definition(), { ...options, version: "1.30.2" }),
    /Cannot create collection "Target": vectorConfig\.small\.vectorIndexConfig\.rq needs Weaviate 1\.32\.0 or newer, the target runs 1\.30\.2; or set forceSchema: true/,
  );
  assert.throws(
    () => prepareDefinition(definition(), { ...options, version: "1.28.0" }),
    /rq needs Weaviate 1\.32\.0 .* \(also: vectorConfig\.colbert\.vectorIndexConfig\.multivector needs Weaviate 1\.29\.0 or newer, the target runs 1\.28\.0\)/,
  );
});

Deno.test("forceSchema drops what can go and still refuses what the collection needs", () => {
  const forced = prepareDefinition(definition(), { ...options, version: "1.30.0", force: true });
  const small = (forced.definition.vectorConfig as Record<string, { vectorIndexConfig: object }>)
    .small!;
  assert.deepEqual(small.vectorIndexConfig, {});
  assert.deepEqual(forced.changes, [
    "dropped vectorConfig.small.vectorIndexConfig.rq (needs Weaviate 1.32.0 or newer, the target runs 1.30.0)",
  ]);
  assert.throws(
    () => prepareDefinition(definition(), { ...options, version: "1.28.9", force: true }),
    /vectorConfig\.colbert\.vectorIndexConfig\.multivector needs Weaviate 1\.29\.0 .*forceSchema cannot drop it/,
  );
});

Deno.test("prepareDefinition refuses a module the target lacks unless forced", () => {
  const source: Definition = {
    class: "Docs",
    vectorizer: "text2vec-openai",
    moduleConfig: { "text2vec-openai": { model: "x" }, "generative-openai": {} },
    properties: [{ name: "body", dataType: ["text"] }],
  };
  assert.throws(
    () => prepareDefinition(source, options),
    /vectorizer needs module "text2vec-openai", which the target server does not enable \(also: moduleConfig\.text2vec-openai .*, moduleConfig\.generative-openai .*\); enable it there/,
  );
  const forced = prepareDefinition(source, { ...options, force: true });
  assert.equal(forced.definition.vectorizer, "none");
  assert.deepEqual(forced.definition.moduleConfig, {});
  assert.equal(forced.changes.length, 3);
  const allowed = prepareDefinition(source, {
    ...options,
    modules: new Set(["text2vec-openai", "generative-openai"]),
  });
  assert.deepEqual(allowed.changes, []);
});

Deno.test("olderThan compares major, minor and patch, ignoring suffixes", () => {
  assert.equal(olderThan("1.28.3", "1.29.0"), true);
  assert.equal(olderThan("1.29.0", "1.29.0"), false);
  assert.equal(olderThan("1.32.0-rc.1", "1.32.0"), false);
  assert.equal(olderThan("2.0.0", "1.32.0"), false);
  assert.equal(olderThan("unknown", "1.32.0"), false);
});

Deno.test("applyOverrides merges objects key by key, properties by name; null removes", () => {
  const out = applyOverrides(definition(), {
    vectorConfig: { small: { vectorIndexType: "flat", vectorIndexConfig: { rq: null } } },
    properties: [{ name: "title", tokenization: "field" }, { name: "extra", dataType: ["int"] }],
  });
  const vc = out.vectorConfig as Record<string, Record<string, unknown>>;
  assert.equal(vc.small!.vectorIndexType, "flat");
  assert.deepEqual(vc.small!.vectorIndexConfig, {});
  assert.deepEqual(vc.small!.vectorizer, { none: {} });
  assert.equal(vc.colbert!.vectorIndexType, "hnsw");
  assert.deepEqual(out.properties![0], {
    name: "title",
    dataType: ["text"],
    tokenization: "field",
  });
  assert.equal(out.properties!.length, 5);
});

Deno.test("applyOverrides never sends a null: new keys and new properties lose their null members", () => {
  const out = applyOverrides(definition(), {
    invertedIndexConfig: { bm25: { b: 0.5, k1: null } },
    properties: [{ name: "added", dataType: ["text"], tokenization: null }],
  });
  assert.deepEqual(out.invertedIndexConfig, { bm25: { b: 0.5 } });
  assert.deepEqual(out.properties!.at(-1), { name: "added", dataType: ["text"] });
});

Deno.test("a replication factor above the target's node count is refused, or lowered with force", () => {
  const source: Definition = {
    class: "Docs",
    replicationConfig: { factor: 3, asyncEnabled: false },
    properties: [{ name: "body", dataType: ["text"] }],
  };
  assert.throws(
    () => prepareDefinition(source, { ...options, nodes: 1 }),
    /replicationConfig\.factor is 3, but the target has 1 node\(s\); or set forceSchema: true to drop or adapt/,
  );
  assert.deepEqual(prepareDefinition(source, { ...options, nodes: 3 }).changes, []);
  const forced = prepareDefinition(source, { ...options, nodes: 2, force: true });
  assert.deepEqual(forced.definition.replicationConfig, { factor: 2, asyncEnabled: false });
  assert.deepEqual(forced.changes, [
    "set replicationConfig.factor from 3 to 2 (the target has 2 node(s))",
  ]);
});
