import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { builtinPlugins } from "../../plugins/mod.ts";
import { formatIssue, PipelineError, type PipelineIssue } from "../../src/errors.ts";
import { type LoadOptions, loadPipeline, parsePipeline } from "../../src/loader.ts";
import type { ResolvedPipeline } from "../../src/pipeline.ts";
import { definePlugin } from "../../src/plugin.ts";
import { Redactor } from "../../src/redact.ts";
import { PluginRegistry } from "../../src/registry.ts";

const registry = new PluginRegistry(builtinPlugins);
const noEnv = () => undefined;

/** A registry whose source and sink accept any options, to look at interpolated values. */
const anyRegistry = new PluginRegistry([
  definePlugin({
    name: "any-source",
    description: "Accepts any options.",
    kind: "source",
    config: z.record(z.string(), z.unknown()),
    create: () => new ReadableStream(),
  }),
  definePlugin({
    name: "strict-transform",
    description: "Takes one numeric option.",
    kind: "transform",
    config: z.strictObject({ factor: z.number().default(1) }),
    create: () => new TransformStream(),
  }),
  definePlugin({
    name: "any-sink",
    description: "Accepts any options.",
    kind: "sink",
    config: z.record(z.string(), z.unknown()),
    create: () => new WritableStream(),
  }),
]);

const VALID = `name: ok
source:
  use: weaviate-reader
  with:
    pageSize: 10
sink:
  use: file-writer
  with:
    path: /tmp/weft-never-written
`;

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => Object.hasOwn(vars, name) ? vars[name] : undefined;
}

async function issuesOf(
  text: string,
  options: Partial<LoadOptions> = {},
): Promise<PipelineIssue[]> {
  try {
    await parsePipeline(text, "p.yaml", { registry, env: noEnv, ...options });
  } catch (error) {
    assert.ok(error instanceof PipelineError, `expected a PipelineError, got ${error}`);
    assert.equal(error.code, "INVALID_PIPELINE");
    assert.equal(error.message, error.issues.map(formatIssue).join("\n"));
    return error.issues;
  }
  return assert.fail("expected parsePipeline() to reject");
}

/** Parses `with:` blocks for the permissive plugins and returns the source's options. */
async function sourceOptions(
  withBlock: string,
  vars: Record<string, string>,
): Promise<Record<string, unknown>> {
  const text = `name: t\nsource:\n  use: any-source\n  with:\n${withBlock}sink:\n  use: any-sink\n`;
  const pipeline = await parsePipeline(text, "p.yaml", { registry: anyRegistry, env: envOf(vars) });
  return pipeline.source.config as Record<string, unknown>;
}

Deno.test("parsePipeline() resolves a valid pipeline with defaults filled in", async () => {
  const pipeline = await parsePipeline(VALID, "p.yaml", { registry, env: noEnv });
  assert.equal(pipeline.name, "ok");
  assert.equal(pipeline.file, "p.yaml");
  assert.equal(pipeline.source.id, "source");
  assert.equal(pipeline.source.plugin.name, "weaviate-reader");
  assert.equal((pipeline.source.config as { pageSize: number }).pageSize, 10);
  assert.equal((pipeline.source.config as { url: string }).url, "http://localhost:8080");
  assert.equal(pipeline.sink.id, "sink");
  assert.deepEqual(pipeline.sink.config, {
    path: "/tmp/weft-never-written",
    maxFileBytes: 64 * 1024 * 1024,
    ifExists: "fail",
  });
  assert.deepEqual(pipeline.transforms, []);
  assert.deepEqual(pipeline.runtime, {
    retry: { attempts: 6, minDelay: 250, maxDelay: 15_000, timeout: 120_000 },
    progressInterval: 5_000,
    concurrency: 4,
    batch: "auto",
  });
  assert.deepEqual(pipeline.flags, {});
});

Deno.test("parsePipeline() reports a YAML syntax error with its line and column", async () => {
  const issues = await issuesOf("name: x\nsource:\n  use: a: b\n");
  assert.deepEqual(issues, [{
    file: "p.yaml",
    line: 3,
    col: 8,
    path: "",
    message: "Nested mappings are not allowed in compact mappings",
  }]);
});

Deno.test("parsePipeline() reports a top-level mapping is required", async () => {
  const issues = await issuesOf("- just\n- a list\n");
  assert.deepEqual(issues, [{
    file: "p.yaml",
    line: 1,
    col: 1,
    path: "",
    message: "expected a mapping at the top",
  }]);
});

Deno.test("parsePipeline() reports an unknown top-level key at the key, with a suggestion", async () => {
  const text = VALID.replace("source:", "soruce: 1\nsource:");
  const issues = await issuesOf(text);
  assert.deepEqual(issues, [{
    file: "p.yaml",
    line: 2,
    col: 1,
    path: "soruce",
    message: 'unknown option "soruce"; did you mean "source"?',
  }]);
});

Deno.test("parsePipeline() reports an unknown plugin option at the key, with a suggestion", async () => {
  const issues = await issuesOf(VALID.replace("pageSize: 10", "pageSiz: 10"));
  assert.deepEqual(issues, [{
    file: "p.yaml",
    line: 5,
    col: 5,
    path: "source.with.pageSiz",
    message: 'unknown option "pageSiz"; did you mean "pageSize"?',
  }]);
});

Deno.test("parsePipeline() reports a missing required option at the step's options", async () => {
  const issues = await issuesOf(VALID.replace("path: /tmp/weft-never-written", "ifExists: fail"));
  assert.deepEqual(issues, [{
    file: "p.yaml",
    line: 9,
    col: 5,
    path: "sink.with.path",
    message: "missing required option (string)",
  }]);
});

Deno.test("parsePipeline() reports an option of the wrong type at its value", async () => {
  const issues = await issuesOf(VALID.replace("pageSize: 10", "pageSize: lots"));
  assert.deepEqual(issues, [{
    file: "p.yaml",
    line: 5,
    col: 15,
    path: "source.with.pageSize",
    message: "expected number, received string",
  }]);
});

Deno.test("parsePipeline() reports an unknown plugin name with the closest one", async () => {
  const issues = await issuesOf(VALID.replace("use: weaviate-reader", "use: weaviate-reder"));
  assert.deepEqual(issues, [{
    file: "p.yaml",
    line: 3,
    col: 8,
    path: "source.use",
    message: 'unknown plugin "weaviate-reder"; did you mean "weaviate-reader"?',
  }]);
});

Deno.test("parsePipeline() reports an unknown plugin name without a suggestion when none is close", async () => {
  const issues = await issuesOf(VALID.replace("use: weaviate-reader", "use: postgres-table"));
  assert.deepEqual(issues.map(formatIssue), [
    'p.yaml:3:8: source.use: unknown plugin "postgres-table"',
  ]);
});

Deno.test("parsePipeline() reports a sink used as a source", async () => {
  const text = VALID.replace("use: weaviate-reader\n  with:\n    pageSize: 10", "use: file-writer");
  const issues = await issuesOf(text);
  assert.deepEqual(issues, [{
    file: "p.yaml",
    line: 3,
    col: 8,
    path: "source.use",
    message: '"file-writer" is a sink, not a source',
  }]);
});

Deno.test("parsePipeline() reports an unset environment variable without a default", async () => {
  const text = VALID.replace("pageSize: 10", "grpcUrl: ${WEFT_TEST_GRPC}");
  const issues = await issuesOf(text);
  assert.deepEqual(issues, [{
    file: "p.yaml",
    line: 5,
    col: 14,
    path: "source.with.grpcUrl",
    message: "environment variable WEFT_TEST_GRPC is not set",
  }]);
});

Deno.test("parsePipeline() reports an unclosed ${ instead of using the text as it is", async () => {
  const issues = await issuesOf(VALID.replace("/tmp/weft-never-written", '"${OUT_DIR"'));
  assert.deepEqual(issues, [{
    file: "p.yaml",
    line: 9,
    col: 11,
    path: "sink.with.path",
    message: 'unclosed "${" at character 1 of the value',
  }]);
});

Deno.test("parsePipeline() uses ${VAR:-default} when the variable is unset or empty", async () => {
  const block = "    a: ${A:-fallback}\n    b: ${B:-fallback}\n    c: ${C:-fallback}\n";
  assert.deepEqual(await sourceOptions(block, { B: "", C: "set" }), {
    a: "fallback",
    b: "fallback",
    c: "set",
  });
});

Deno.test("parsePipeline() uses ${VAR-default} only when the variable is unset", async () => {
  const block = "    a: ${A-fallback}\n    b: ${B-fallback}\n    c: ${C-fallback}\n";
  assert.deepEqual(await sourceOptions(block, { B: "", C: "set" }), {
    a: "fallback",
    b: "",
    c: "set",
  });
});

Deno.test("parsePipeline() keeps $${ as a literal ${", async () => {
  const block = '    a: "$${HOME}"\n    b: x-$${A:-y}-${A}\n';
  assert.deepEqual(await sourceOptions(block, { HOME: "/root", A: "z" }), {
    a: "${HOME}",
    b: "x-${A:-y}-z",
  });
});

Deno.test("parsePipeline() accepts a default that contains balanced braces", async () => {
  const block = "    path: ${P:-./b-{timestamp}}\n    other: ${Q:-{a}{b}}/x\n";
  assert.deepEqual(await sourceOptions(block, {}), { path: "./b-{timestamp}", other: "{a}{b}/x" });
  const pipeline = await parsePipeline(
    VALID.replace("/tmp/weft-never-written", "${P:-./b-{timestamp}}"),
    "p.yaml",
    { registry, env: noEnv },
  );
  assert.equal((pipeline.sink.config as { path: string }).path, "./b-{timestamp}");
});

Deno.test("parsePipeline() turns an unquoted ${PORT} into a number, a quoted one stays text", async () => {
  const block =
    '    plain: ${PORT}\n    quoted: "${PORT}"\n    flag: ${FLAG}\n    mixed: ${PORT}x\n';
  assert.deepEqual(await sourceOptions(block, { PORT: "8080", FLAG: "true" }), {
    plain: 8080,
    quoted: "8080",
    flag: true,
    mixed: "8080x",
  });
  const pipeline = await parsePipeline(
    VALID.replace("pageSize: 10", "pageSize: ${PAGE}"),
    "p.yaml",
    { registry, env: envOf({ PAGE: "42" }) },
  );
  assert.equal((pipeline.source.config as { pageSize: number }).pageSize, 42);
});

Deno.test("parsePipeline() reports every problem at once, in document order", async () => {
  const text = `name: x
soruce: 1
source:
  use: weaviate-reader
  with:
    pageSize: lots
    grpcUrl: \${NOPE}
transforms:
  - use: file-writer
sink:
  use: file-wrter
`;
  const issues = await issuesOf(text);
  assert.deepEqual(issues.map(formatIssue), [
    'p.yaml:2:1: soruce: unknown option "soruce"; did you mean "source"?',
    "p.yaml:6:15: source.with.pageSize: expected number, received string",
    "p.yaml:7:14: source.with.grpcUrl: environment variable NOPE is not set",
    'p.yaml:9:10: transforms[0].use: "file-writer" is a sink, not a transform',
    'p.yaml:11:8: sink.use: unknown plugin "file-wrter"; did you mean "file-writer"?',
  ]);
});

Deno.test("parsePipeline() applies --set overrides before validating", async () => {
  const pipeline = await parsePipeline(VALID, "p.yaml", {
    registry,
    env: noEnv,
    sets: ["source.with.pageSize=20", "source.with.collections=[A, B]", "name=renamed"],
  });
  assert.equal(pipeline.name, "renamed");
  const config = pipeline.source.config as { pageSize: number; collections: string[] };
  assert.equal(config.pageSize, 20);
  assert.deepEqual(config.collections, ["A", "B"]);
});

Deno.test("parsePipeline() reports a bad --set value at the --set, not in the file", async () => {
  const issues = await issuesOf(VALID, {
    sets: ["source.with.pageSize=lots", "source.with.pageSiz=3", "nokey"],
  });
  assert.deepEqual(issues, [
    { file: "--set", path: "nokey", message: "expected path=value" },
    {
      file: "--set source.with.pageSize",
      path: "source.with.pageSize",
      message: "expected number, received string",
    },
    {
      file: "--set source.with.pageSiz",
      path: "source.with.pageSiz",
      message: 'unknown option "pageSiz"; did you mean "pageSize"?',
    },
  ]);
});

Deno.test("parsePipeline() reports a bad --set of a transform option at the --set", async () => {
  const text = "name: t\nsource:\n  use: any-source\ntransforms:\n  - use: strict-transform\n" +
    "sink:\n  use: any-sink\n";
  const ok = await parsePipeline(text, "p.yaml", {
    registry: anyRegistry,
    env: noEnv,
    sets: ["transforms.0.with.factor=3"],
  });
  assert.deepEqual(ok.transforms[0]?.config, { factor: 3 });
  const issues = await issuesOf(text, {
    registry: anyRegistry,
    sets: ["transforms.0.with.factor=many"],
  });
  assert.deepEqual(issues, [{
    file: "--set transforms.0.with.factor",
    path: "transforms[0].with.factor",
    message: "expected number, received string",
  }]);
});

/** A temporary directory, removed after `fn`. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weft-loader-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const PLUGIN_MODULE = `
import { z } from "zod";
import { definePlugin } from "${new URL("../../src/plugin.ts", import.meta.url).href}";

export default definePlugin({
  name: "memory-sink",
  description: "Keeps messages in memory.",
  kind: "sink",
  config: z.strictObject({ limit: z.number().int().default(7) }),
  create: () => new WritableStream(),
});
`;

Deno.test("loadPipeline() loads a user plugin from a path relative to the pipeline file", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "plugins"));
    await Deno.writeTextFile(join(dir, "plugins", "memory_sink.ts"), PLUGIN_MODULE);
    const file = join(dir, "p.yaml");
    await Deno.writeTextFile(
      file,
      "name: user\nsource:\n  use: weaviate-reader\nsink:\n  use: ./plugins/memory_sink.ts\n",
    );
    const pipeline: ResolvedPipeline = await loadPipeline(file, { registry, env: noEnv });
    assert.equal(pipeline.file, file);
    assert.equal(pipeline.sink.plugin.name, "memory-sink");
    assert.equal(pipeline.sink.plugin.kind, "sink");
    assert.deepEqual(pipeline.sink.config, { limit: 7 });
  });
});

Deno.test("loadPipeline() reports a user plugin module that cannot be loaded or has no plugin", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "not_a_plugin.ts"), "export const answer = 42;\n");
    const file = join(dir, "p.yaml");
    await Deno.writeTextFile(
      file,
      "name: user\nsource:\n  use: ./missing_plugin.ts\nsink:\n  use: ./not_a_plugin.ts\n",
    );
    try {
      await loadPipeline(file, { registry, env: noEnv });
      assert.fail("expected loadPipeline() to reject");
    } catch (error) {
      assert.ok(error instanceof PipelineError, String(error));
      assert.equal(error.issues.length, 2);
      const [missing, notPlugin] = error.issues;
      assert.equal(missing?.file, file);
      assert.equal(missing?.path, "source.use");
      assert.equal(missing?.line, 3);
      assert.equal(missing?.col, 8);
      assert.match(missing?.message ?? "", /^cannot load plugin module: /);
      assert.deepEqual(notPlugin, {
        file,
        line: 5,
        col: 8,
        path: "sink.use",
        message:
          "plugin module must export a plugin made with definePlugin() as default or as `plugin`",
      });
    }
  });
});

Deno.test("loadPipeline() reports a missing file as a PipelineError", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "nope.yaml");
    try {
      await loadPipeline(file, { registry, env: noEnv });
      assert.fail("expected loadPipeline() to reject");
    } catch (error) {
      assert.ok(error instanceof PipelineError, String(error));
      assert.deepEqual(error.issues, [
        { file, path: "", message: "Cannot read pipeline: file not found" },
      ]);
      assert.equal(error.message, `${file}: Cannot read pipeline: file not found`);
    }
  });
});

/** The parsed options of the built-in weaviate-reader after `with:` lines. */
async function readerOptions(lines: string[]): Promise<Record<string, unknown>> {
  const text = `name: t\nsource:\n  use: weaviate-reader\n  with:\n${
    lines.map((l) => `    ${l}\n`).join("")
  }sink:\n  use: file-writer\n  with:\n    path: /tmp/weft-never-written\n`;
  const pipeline = await parsePipeline(text, "p.yaml", { registry, env: noEnv });
  return pipeline.source.config as Record<string, unknown>;
}

Deno.test("parsePipeline() takes host:port addresses as http, or https on port 443", async () => {
  assert.deepEqual(
    await readerOptions(["url: localhost:8080", "grpcUrl: localhost:50051"]).then((c) => [
      c.url,
      c.grpcUrl,
    ]),
    ["http://localhost:8080", "http://localhost:50051"],
  );
  const cloud = await readerOptions([
    "url: abc.weaviate.cloud:443",
    "grpcUrl: grpc-abc.weaviate.cloud:443",
  ]);
  assert.equal(cloud.url, "https://abc.weaviate.cloud:443");
  assert.equal(cloud.grpcUrl, "https://grpc-abc.weaviate.cloud:443");
  const ip = await readerOptions(["url: 127.0.0.1:8080/base", "grpcUrl: '[::1]:50051'"]);
  assert.equal(ip.url, "http://127.0.0.1:8080/base");
  assert.equal(ip.grpcUrl, "http://[::1]:50051");
  // Whatever was written, the result is a full URL.
  assert.equal(new URL(ip.grpcUrl as string).port, "50051");
  const written = await readerOptions(["url: https://h.example:8443", "grpcUrl: http://h:1"]);
  assert.equal(written.url, "https://h.example:8443");
  assert.equal(written.grpcUrl, "http://h:1");
});

Deno.test("parsePipeline() rejects what is not an http(s) address, at the value", async () => {
  const text = `name: t
source:
  use: weaviate-reader
  with:
    url: localhost
    grpcUrl: grpc://localhost:50051
sink:
  use: weaviate-writer
  with:
    url: ftp://h:21
    grpcUrl: http://h:50051/path
`;
  const issues = await issuesOf(text);
  assert.deepEqual(issues.map(formatIssue), [
    'p.yaml:5:10: source.with.url: expected an address like "http://localhost:8080" or ' +
    '"localhost:8080" (no scheme means http, or https on port 443)',
    'p.yaml:6:14: source.with.grpcUrl: scheme "grpc:" is not supported; use http:// ' +
    "(plaintext) or https:// (TLS)",
    'p.yaml:10:10: sink.with.url: scheme "ftp:" is not supported; use http:// (plaintext) or ' +
    "https:// (TLS)",
    "p.yaml:11:14: sink.with.grpcUrl: a gRPC address takes no path",
  ]);
  const more = await issuesOf(VALID.replace("pageSize: 10", "url: http://\n    grpcUrl: h:99999"));
  assert.deepEqual(more.map(formatIssue), [
    'p.yaml:5:10: source.with.url: expected an address like "http://localhost:8080" or ' +
    '"localhost:8080" (no scheme means http, or https on port 443)',
    "p.yaml:6:14: source.with.grpcUrl: port 99999 is out of range",
  ]);
});

Deno.test("parsePipeline() reports --set into a plain value at the --set, naming the key", async () => {
  const issues = await issuesOf(VALID, {
    sets: ["name.x=1", "source.use.0=a", "source.with.pageSize.max=3", "sink..path=x"],
  });
  assert.deepEqual(issues.map(formatIssue), [
    '--set: name.x: "name" is a string, not a mapping',
    '--set: source.use.0: "source.use" is a string, not a list',
    '--set: source.with.pageSize.max: "source.with.pageSize" is a number, not a mapping',
    "--set: sink..path: empty key in the path",
  ]);
});

Deno.test("parsePipeline() --set creates mappings and lists under empty keys, appends to lists", async () => {
  const text = "name: t\nsource:\n  use: any-source\n  with:\n    list: [a]\n    empty:\n" +
    "sink:\n  use: any-sink\n";
  const pipeline = await parsePipeline(text, "p.yaml", {
    registry: anyRegistry,
    env: noEnv,
    sets: ["source.with.empty.deep=1", "source.with.list.1=b"],
  });
  assert.deepEqual(pipeline.source.config, { list: ["a", "b"], empty: { deep: 1 } });
  const issues = await issuesOf(text, { registry: anyRegistry, sets: ["source.with.list.3=x"] });
  assert.deepEqual(issues.map(formatIssue), [
    '--set: source.with.list.3: index 3 is past the end of "source.with.list" (1 item)',
  ]);
});

Deno.test("parsePipeline() --set x=null sets null, x= sets an empty string", async () => {
  const text = "name: t\nsource:\n  use: any-source\n  with:\n    a: 1\nsink:\n  use: any-sink\n";
  const pipeline = await parsePipeline(text, "p.yaml", {
    registry: anyRegistry,
    env: noEnv,
    sets: [
      "source.with.a=null",
      "source.with.b=",
      "source.with.c=~",
      "source.with.d=#not-a-comment",
      "source.with.e='null'",
      "source.with.f=!!foo bar",
    ],
  });
  assert.deepEqual(pipeline.source.config, {
    a: null,
    b: "",
    c: null,
    d: "#not-a-comment",
    e: "null",
    f: "!!foo bar",
  });
});

Deno.test("parsePipeline() reports an unset variable once per key", async () => {
  const text = `name: t
source:
  use: weaviate-reader
  with:
    collections: ["\${COLLECTION}"]
    url: http://\${HOST}:\${PORT}/\${HOST}
sink:
  use: file-writer
  with:
    path: /tmp/weft-never-written
`;
  const issues = await issuesOf(text);
  assert.deepEqual(issues.map(formatIssue), [
    "p.yaml:5:19: source.with.collections[0]: environment variable COLLECTION is not set",
    "p.yaml:6:10: source.with.url: environment variable HOST is not set",
    "p.yaml:6:10: source.with.url: environment variable PORT is not set",
  ]);
});

Deno.test("parsePipeline() reports a variable problem in a --set value at the --set", async () => {
  const issues = await issuesOf(VALID, { sets: ["source.with.apiKey=${NOPE}"] });
  assert.deepEqual(issues.map(formatIssue), [
    "--set source.with.apiKey: source.with.apiKey: environment variable NOPE is not set",
  ]);
});

Deno.test("parsePipeline() syntax errors in ${ name the position, not the value", async () => {
  const issues = await issuesOf(
    VALID.replace("pageSize: 10", 'apiKey: "sk-live-abcdef${"\n    url: "${!sk-live-123456}"'),
  );
  const text = issues.map(formatIssue).join("\n");
  assert.ok(!text.includes("sk-live"), text);
  assert.deepEqual(issues.map(formatIssue), [
    'p.yaml:5:13: source.with.apiKey: unclosed "${" at character 15 of the value',
    'p.yaml:6:10: source.with.url: "${" at character 1 of the value does not start a ' +
    "variable reference like ${NAME} or ${NAME:-default}",
  ]);
});

Deno.test("parsePipeline() registers values of secret-looking variables with the redactor", async () => {
  const redactor = new Redactor();
  const env = envOf({
    MY_SERVICE_KEY: "key-value-1234",
    DB_PASSWORD: "hunter2-pw",
    AUTH_TOKEN: "tok-abcdef",
    WEAVIATE_URL: "http://db:8080",
  });
  const block = "    a: ${MY_SERVICE_KEY}\n    b: x-${DB_PASSWORD}\n    c: ${AUTH_TOKEN}\n" +
    "    d: ${WEAVIATE_URL}\n";
  const text = `name: t\nsource:\n  use: any-source\n  with:\n${block}sink:\n  use: any-sink\n`;
  await parsePipeline(text, "p.yaml", { registry: anyRegistry, env, redactor });
  assert.equal(
    redactor.redact("key-value-1234 hunter2-pw tok-abcdef http://db:8080"),
    "*** *** *** http://db:8080",
  );
});

Deno.test("parsePipeline() masks secrets in its messages", async () => {
  const env = envOf({ MY_API_KEY: "sk-secret-9999" });
  const issues = await issuesOf(
    VALID.replace("path: /tmp/weft-never-written", "path: /tmp/w\n    maxFileBytes: ${MY_API_KEY}"),
    { env },
  );
  const text = issues.map(formatIssue).join("\n");
  assert.ok(!text.includes("sk-secret-9999"), text);
  assert.equal(issues.length, 1);
});

Deno.test("parsePipeline() reports aliases that cannot be expanded instead of crashing", async () => {
  const selfRef = await issuesOf(
    "name: t\nsource: {use: file-reader, with: {path: /x}}\n" +
      "sink: {use: weaviate-writer, with: {overrides: &o {a: *o}}}\n",
  );
  assert.deepEqual(selfRef.map(formatIssue), [
    "p.yaml:3:55: sink.with.overrides.a: alias *o is inside its own anchor",
  ]);
  let bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (let i = 1; i < 8; i++) {
    bomb += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]\n`;
  }
  const expanded = await issuesOf(`${bomb}name: t\n`);
  assert.equal(expanded.length, 1);
  assert.match(formatIssue(expanded[0]!), /^p\.yaml: Cannot expand aliases: Excessive alias count/);
});

Deno.test("loadPipeline() reports a directory given as the pipeline file", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(loadPipeline(dir, { registry, env: noEnv }), (error: PipelineError) => {
      assert.equal(error.message, `${dir}: Cannot read pipeline: it is a directory`);
      return true;
    });
  });
});

Deno.test("an API key or header holding a line break is refused at validation, without its value", async () => {
  const text = [
    "name: t",
    "source:",
    "  use: weaviate-reader",
    "  with: { apiKey: '${K}', headers: { X-Key: '${K}' } }",
    "sink: { use: file-writer, with: { path: ./b } }",
  ].join("\n");
  const error = await parsePipeline(text, "p.yaml", {
    registry: new PluginRegistry(builtinPlugins),
    env: (name) => name === "K" ? "sk-SECRET\nabc" : undefined,
  }).catch((e) => e);
  assert.ok(error instanceof PipelineError, String(error));
  assert.deepEqual(error.issues.map((i: PipelineIssue) => i.path), [
    "source.with.apiKey",
    "source.with.headers.X-Key",
  ]);
  assert.doesNotMatch(error.message, /SECRET/);
});

Deno.test("parsePipeline() turns on/off and true/false flags into booleans", async () => {
  const text = `${VALID}flags:\n  adaptive-batching: off\n  parallel-partitions: true\n`;
  const pipeline = await parsePipeline(text, "p.yaml", { registry, env: noEnv });
  assert.deepEqual(pipeline.flags, { "adaptive-batching": false, "parallel-partitions": true });
  const on = await parsePipeline(
    `${VALID}flags:\n  adaptive-batching: "on"\n  parallel-partitions: false\n`,
    "p.yaml",
    { registry, env: noEnv },
  );
  assert.deepEqual(on.flags, { "adaptive-batching": true, "parallel-partitions": false });
});

Deno.test("parsePipeline() reports an unknown flag at its key, with the closest name", async () => {
  const text = `${VALID}flags:\n  adaptive-batching: on\n  paralel-partitions: off\n  turbo: on\n`;
  assert.deepEqual(await issuesOf(text), [
    {
      file: "p.yaml",
      line: 12,
      col: 3,
      path: "flags.paralel-partitions",
      message: 'unknown flag "paralel-partitions"; did you mean "parallel-partitions"? ' +
        "(see `weft flags`)",
    },
    {
      file: "p.yaml",
      line: 13,
      col: 3,
      path: "flags.turbo",
      message: 'unknown flag "turbo" (see `weft flags`)',
    },
  ]);
});

Deno.test("parsePipeline() reports a flag value that is not on or off at the value", async () => {
  const text = `${VALID}flags:\n  adaptive-batching: maybe\n  parallel-partitions: 1\n`;
  assert.deepEqual(await issuesOf(text), [
    {
      file: "p.yaml",
      line: 11,
      col: 22,
      path: "flags.adaptive-batching",
      message: 'expected on or off, got "maybe"',
    },
    {
      file: "p.yaml",
      line: 12,
      col: 24,
      path: "flags.parallel-partitions",
      message: "expected on or off, got 1",
    },
  ]);
});

Deno.test("parsePipeline() reports a flag set from an unset variable once", async () => {
  const text = `${VALID}flags:\n  adaptive-batching: \${WEFT_TEST_UNSET}\n`;
  assert.deepEqual(await issuesOf(text), [{
    file: "p.yaml",
    line: 11,
    col: 22,
    path: "flags.adaptive-batching",
    message: "environment variable WEFT_TEST_UNSET is not set",
  }]);
});

Deno.test("parsePipeline() sets a flag with --set, and reports an unknown one at the --set", async () => {
  const pipeline = await parsePipeline(VALID, "p.yaml", {
    registry,
    env: noEnv,
    sets: ["flags.adaptive-batching=off", "flags.parallel-partitions=on"],
  });
  assert.deepEqual(pipeline.flags, { "adaptive-batching": false, "parallel-partitions": true });
  assert.deepEqual(await issuesOf(VALID, { sets: ["flags.adaptive-batchin=off"] }), [{
    file: "--set flags.adaptive-batchin",
    path: "flags.adaptive-batchin",
    message: 'unknown flag "adaptive-batchin"; did you mean "adaptive-batching"? ' +
      "(see `weft flags`)",
  }]);
});

Deno.test("parsePipeline() reports WEFT_FLAG_* variables that name no flag or are not on/off", async () => {
  const env = {
    WEFT_FLAG_PARALLEL_PARTITION: "on",
    WEFT_FLAG_ADAPTIVE_BATCHING: "sometimes",
    WEFT_FLAGS_ARE_NOT_CHECKED: "x",
  };
  assert.deepEqual(await issuesOf(VALID, { env }), [
    {
      file: "WEFT_FLAG_ADAPTIVE_BATCHING",
      path: "",
      message: 'expected on or off, got "sometimes"',
    },
    {
      file: "WEFT_FLAG_PARALLEL_PARTITION",
      path: "",
      message: 'unknown flag "parallel-partition"; did you mean "parallel-partitions"? ' +
        "(see `weft flags`)",
    },
  ]);
  // A lookup cannot list variables, but the values of known flags are still checked.
  assert.deepEqual(
    await issuesOf(VALID, { env: envOf({ WEFT_FLAG_PARALLEL_PARTITIONS: "2" }) }),
    [{ file: "WEFT_FLAG_PARALLEL_PARTITIONS", path: "", message: 'expected on or off, got "2"' }],
  );
  // Good values are left for the run to apply: the pipeline keeps only its own flags.
  const pipeline = await parsePipeline(VALID, "p.yaml", {
    registry,
    env: { WEFT_FLAG_ADAPTIVE_BATCHING: "off" },
  });
  assert.deepEqual(pipeline.flags, {});
});

Deno.test("parsePipeline() takes the environment as variables for ${VAR} too", async () => {
  const pipeline = await parsePipeline(
    "name: t\nsource:\n  use: any-source\n  with:\n    url: ${URL}\nsink:\n  use: any-sink\n",
    "p.yaml",
    { registry: anyRegistry, env: { URL: "http://x:8080" } },
  );
  assert.equal((pipeline.source.config as { url: string }).url, "http://x:8080");
});
