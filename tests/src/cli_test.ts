import assert from "node:assert/strict";
import { join } from "node:path";
import { builtinPlugins } from "../../plugins/mod.ts";
import { type CliIO, main } from "../../src/cli.ts";
import { FLAGS } from "../../src/flags.ts";
import { VERSION } from "../../src/version.ts";
import { freePort } from "../harness/process.ts";

const BACKUP = new URL("../../pipelines/backup.yaml", import.meta.url).pathname;

/** A CliIO that keeps every line written to stdout and stderr. */
function capture(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (text) => stdout.push(...text.split("\n")),
    err: (text) => stderr.push(...text.split("\n")),
  };
}

Deno.test("main(['plugins']) lists every built-in plugin with its kind, sorted", async () => {
  const io = capture();
  assert.equal(await main(["plugins"], io), 0);
  assert.deepEqual(io.stderr, []);
  assert.deepEqual(
    io.stdout.map((line) => line.split(/ +/).slice(0, 2)),
    [...builtinPlugins].sort((a, b) => a.name.localeCompare(b.name)).map((p) => [p.name, p.kind]),
  );
  assert.ok(io.stdout.some((line) => /^file-writer +sink +Writes a backup directory/.test(line)));
  assert.ok(
    io.stdout.some((line) => /^weaviate-reader +source +Reads collection definitions/.test(line)),
  );
});

Deno.test("main(['plugins', name]) shows the plugin's options with types and defaults", async () => {
  const io = capture();
  assert.equal(await main(["plugins", "file-writer"], io), 0);
  assert.equal(io.stdout[0], "file-writer (sink)");
  assert.ok(io.stdout.includes("Options:"), io.stdout.join("\n"));
  assert.ok(io.stdout.includes("  path: string (required)"), io.stdout.join("\n"));
  assert.ok(
    io.stdout.includes('  ifExists: "fail" | "overwrite" (default "fail")'),
    io.stdout.join("\n"),
  );
  assert.ok(
    io.stdout.some((line) => /^ {2}maxFileBytes: .* \(default 67108864\)$/.test(line)),
    `maxFileBytes shows no default:\n${io.stdout.join("\n")}`,
  );

  const reader = capture();
  assert.equal(await main(["plugins", "weaviate-reader"], reader), 0);
  assert.ok(reader.stdout.includes('  url: string (default "http://localhost:8080")'));
  assert.ok(reader.stdout.includes("  pageSize: integer (default 500)"));
  assert.ok(reader.stdout.includes('  collections: string[] (default ["*"])'));
  assert.ok(reader.stdout.includes("  apiKey: string (optional)"));
});

Deno.test("main(['plugins', name]) suggests a close name for an unknown plugin", async () => {
  const io = capture();
  assert.equal(await main(["plugins", "file-writr"], io), 2);
  assert.deepEqual(io.stderr, ['weft: unknown plugin "file-writr"; did you mean "file-writer"?']);
  assert.deepEqual(io.stdout, []);
});

Deno.test("main(['validate', file]) accepts the shipped backup pipeline", async () => {
  const io = capture();
  assert.equal(await main(["validate", BACKUP], io), 0);
  assert.deepEqual(io.stdout, [`${BACKUP}: valid pipeline "backup"`]);
  assert.deepEqual(io.stderr, []);
});

Deno.test("main(['validate', file]) prints one file:line:col line per issue and returns 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-cli-test-" });
  try {
    const file = join(dir, "broken.yaml");
    await Deno.writeTextFile(
      file,
      [
        "name: broken",
        "source:",
        "  use: weaviate-reder",
        "sink:",
        "  use: file-writer",
        "  with:",
        "    path: ./out",
        "    maxFileBytes: huge",
        "",
      ].join("\n"),
    );
    const io = capture();
    assert.equal(await main(["validate", file], io), 2);
    assert.deepEqual(io.stdout, []);
    assert.deepEqual(io.stderr, [
      `${file}:3:8: source.use: unknown plugin "weaviate-reder"; did you mean "weaviate-reader"?`,
      `${file}:8:19: sink.with.maxFileBytes: expected a size like "64MiB", got "huge"`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main(['validate', file]) returns 2 for a missing file", async () => {
  const io = capture();
  assert.equal(await main(["validate", "/nonexistent/weft/p.yaml"], io), 2);
  assert.deepEqual(io.stderr, ["/nonexistent/weft/p.yaml: Cannot read pipeline: file not found"]);
});

Deno.test("main() returns 2 with the usage for an unknown command", async () => {
  const io = capture();
  assert.equal(await main(["backup", BACKUP], io), 2);
  assert.equal(io.stderr[0], 'weft: unknown command "backup"');
  assert.ok(io.stderr.some((line) => line.startsWith("Usage:")));
  assert.deepEqual(io.stdout, []);
});

Deno.test("main() returns 2 for bad usage", async () => {
  const noCommand = capture();
  assert.equal(await main([], noCommand), 2);
  assert.ok(noCommand.stdout.some((line) => line.startsWith("Usage:")));

  const twoFiles = capture();
  assert.equal(await main(["validate", BACKUP, BACKUP], twoFiles), 2);
  assert.equal(twoFiles.stderr[0], "weft: validate takes exactly one pipeline file");

  const badOption = capture();
  assert.equal(await main(["validate", BACKUP, "--nope"], badOption), 2);
  assert.match(badOption.stderr[0]!, /^weft: .*--nope/);

  const badLevel = capture();
  assert.equal(await main(["validate", BACKUP, "--log-level", "loud"], badLevel), 2);
  assert.match(badLevel.stderr[0]!, /^weft: --log-level must be one of/);
});

Deno.test("main() prints help and the version", async () => {
  const help = capture();
  assert.equal(await main(["--help"], help), 0);
  assert.match(help.stdout[0]!, /^weft .*: ETL pipelines for Weaviate$/);
  const version = capture();
  assert.equal(await main(["-V"], version), 0);
  assert.deepEqual(version.stdout, [VERSION]);
});

Deno.test("main(['run', file, '--dry-run']) prints the plan with secrets masked", async () => {
  const secret = "supersecretvalue";
  const io = capture();
  const code = await main(
    ["run", BACKUP, "--dry-run", "--set", `source.with.apiKey=${secret}`, "--set", "name=dry"],
    io,
  );
  assert.equal(code, 0);
  assert.deepEqual(io.stderr, []);
  const output = io.stdout.join("\n");
  assert.ok(!output.includes(secret), output);
  assert.equal(io.stdout[0], `${BACKUP}: valid pipeline "dry"`);
  assert.equal(io.stdout[1], "Dry run: nothing is read or written. Plan:");
  assert.equal(io.stdout[2], "  source: weaviate-reader");
  const source = JSON.parse(io.stdout[3]!.trim());
  assert.equal(source.apiKey, "***");
  assert.deepEqual(source.collections, ["*"]);
  assert.equal(io.stdout[4], "  sink: file-writer");
  const sink = JSON.parse(io.stdout[5]!.trim());
  assert.equal(sink.ifExists, "fail");
  assert.equal(io.stdout.length, 6);
});

Deno.test("main(['run', file, '--dry-run']) masks the password of a URL given with --set", async () => {
  const io = capture();
  const code = await main([
    "run",
    BACKUP,
    "--dry-run",
    "--set",
    "source.with.url=https://admin:p4ssw0rd-xyz@weaviate.example.com",
  ], io);
  assert.equal(code, 0);
  const output = io.stdout.join("\n");
  assert.ok(!output.includes("p4ssw0rd-xyz"), output);
  assert.ok(output.includes('"url":"https://***@weaviate.example.com'), output);
});

/**
 * Writes `text` (with `$DIR` replaced by the directory) to a pipeline file in a
 * new temporary directory and calls `fn` with its path.
 */
async function withPipeline(text: string, fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weft-cli-test-" });
  try {
    const file = join(dir, "p.yaml");
    await Deno.writeTextFile(file, text.replaceAll("$DIR", dir));
    await fn(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sets environment variables for the length of `fn`. */
async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  for (const [name, value] of Object.entries(vars)) Deno.env.set(name, value);
  try {
    await fn();
  } finally {
    for (const name of Object.keys(vars)) Deno.env.delete(name);
  }
}

Deno.test("main(['run', file, '--dry-run']) masks header values and secret variables", async () => {
  const text = `name: dry
source:
  use: weaviate-reader
  with:
    url: \${WEFT_TEST_URL}
    headers:
      X-Aws-Access-Key: AKIAHEADERVALUE
      X-Trace: \${WEFT_TEST_TRACE}
    collections: ["\${WEFT_TEST_SERVICE_KEY}"]
sink:
  use: file-writer
  with:
    path: ./out-\${WEFT_TEST_DB_PASSWORD}
`;
  await withPipeline(text, async (file) => {
    await withEnv({
      WEFT_TEST_URL: "http://weaviate.internal:8080",
      WEFT_TEST_TRACE: "trace-value-1",
      WEFT_TEST_SERVICE_KEY: "svc-key-value-2",
      WEFT_TEST_DB_PASSWORD: "db-pass-value-3",
    }, async () => {
      const io = capture();
      assert.equal(await main(["run", file, "--dry-run"], io), 0, io.stderr.join("\n"));
      const output = io.stdout.join("\n");
      for (const secret of ["AKIAHEADERVALUE", "trace-value-1", "svc-key-value-2", "db-pass"]) {
        assert.ok(!output.includes(secret), output);
      }
      const source = JSON.parse(io.stdout[3]!.trim());
      assert.equal(source.url, "http://weaviate.internal:8080");
      assert.deepEqual(source.headers, { "X-Aws-Access-Key": "***", "X-Trace": "***" });
      assert.deepEqual(source.collections, ["***"]);
      assert.equal(JSON.parse(io.stdout[5]!.trim()).path, "./out-***");
    });
  });
});

Deno.test("main(['validate', file]) does not echo a value with a ${ syntax error", async () => {
  const text = `name: t
source:
  use: weaviate-reader
  with:
    apiKey: "sk-live-abcdef\${"
sink:
  use: file-writer
  with:
    path: ./out
`;
  await withPipeline(text, async (file) => {
    const io = capture();
    assert.equal(await main(["validate", file], io), 2);
    assert.deepEqual(io.stderr, [
      `${file}:5:13: source.with.apiKey: unclosed "\${" at character 15 of the value`,
    ]);
  });
});

Deno.test("main(['validate', file, '--set', 'name.x=1']) exits 2 with one line", async () => {
  const io = capture();
  assert.equal(await main(["validate", BACKUP, "--set", "name.x=1"], io), 2);
  assert.deepEqual(io.stderr, ['--set: name.x: "name" is a string, not a mapping']);
  assert.deepEqual(io.stdout, []);
});

Deno.test("main(['run', file]) fails at once, naming address and cause, when nothing listens", async () => {
  const port = freePort();
  const text = `name: refused
source:
  use: weaviate-reader
  with:
    url: http://127.0.0.1:${port}
sink:
  use: file-writer
  with:
    path: $DIR/never-written
runtime:
  progressInterval: 0
`;
  await withPipeline(text, async (file) => {
    const io = capture();
    const started = performance.now();
    const code = await main(["run", file, "--log-level", "silent"], io);
    const elapsed = performance.now() - started;
    assert.equal(code, 1);
    assert.equal(
      io.stderr.at(-1),
      `weft: [weaviate-reader] step "source": Cannot GET http://127.0.0.1:${port}/v1/meta: ` +
        "connection refused",
    );
    // The default policy (6 tries from 250 ms) would wait seconds before giving up.
    assert.ok(elapsed < 1000, `took ${Math.round(elapsed)} ms`);
    assert.ok(io.stderr.includes("  retries          0"), io.stderr.join("\n"));
  });
});

Deno.test("main(['run', file]) fails at once, naming the host, when it does not resolve", async () => {
  const text = `name: dns
source:
  use: weaviate-reader
  with:
    url: http://weft-no-such-host.invalid:8080
sink:
  use: file-writer
  with:
    path: $DIR/never-written
runtime:
  progressInterval: 0
`;
  await withPipeline(text, async (file) => {
    const io = capture();
    const started = performance.now();
    assert.equal(await main(["run", file, "--log-level", "silent"], io), 1);
    assert.ok(performance.now() - started < 2000);
    assert.equal(
      io.stderr.at(-1),
      'weft: [weaviate-reader] step "source": Cannot GET ' +
        'http://weft-no-such-host.invalid:8080/v1/meta: host "weft-no-such-host.invalid" ' +
        "not found (DNS)",
    );
  });
});

/** `weft flags` rows as `[name, value, source, stage]`, the header first. */
function flagRows(stdout: string[]): string[][] {
  return stdout.map((line) => line.split(/ {2,}/).slice(0, 4));
}

Deno.test("main(['flags']) lists every flag with its value, source and stage", async () => {
  const io = capture();
  assert.equal(await main(["flags"], io), 0);
  assert.deepEqual(io.stderr, []);
  assert.deepEqual(flagRows(io.stdout), [
    ["FLAG", "VALUE", "SOURCE", "STAGE"],
    ["adaptive-batching", "on", "default", "beta"],
    ["grpc-reader", "on", "default", "beta"],
    ["parallel-partitions", "on", "default", "beta"],
  ]);
  // Aligned: every description starts in the same column.
  const column = io.stdout[0]!.indexOf("DESCRIPTION");
  for (const [i, flag] of FLAGS.entries()) {
    assert.equal(io.stdout[i + 1]!.slice(column), flag.description);
  }
});

Deno.test("main(['flags', file]) shows where each value came from: pipeline, --set or env", async () => {
  const text = `name: flagged
source:
  use: weaviate-reader
sink:
  use: file-writer
  with:
    path: $DIR/out
flags:
  parallel-partitions: off
`;
  await withPipeline(text, async (file) => {
    const io = capture();
    assert.equal(await main(["flags", file], io), 0, io.stderr.join("\n"));
    assert.deepEqual(flagRows(io.stdout).slice(1), [
      ["adaptive-batching", "on", "default", "beta"],
      ["grpc-reader", "on", "default", "beta"],
      ["parallel-partitions", "off", "pipeline", "beta"],
    ]);

    await withEnv({ WEFT_FLAG_PARALLEL_PARTITIONS: "on" }, async () => {
      const env = capture();
      assert.equal(await main(["flags", file, "--set", "flags.adaptive-batching=off"], env), 0);
      assert.deepEqual(flagRows(env.stdout).slice(1), [
        ["adaptive-batching", "off", "pipeline", "beta"],
        ["grpc-reader", "on", "default", "beta"],
        ["parallel-partitions", "on", "env", "beta"],
      ]);
    });
  });
});

Deno.test("main(['flags', '--json']) prints the resolved flags as JSON", async () => {
  await withEnv({ WEFT_FLAG_ADAPTIVE_BATCHING: "off" }, async () => {
    const io = capture();
    assert.equal(await main(["flags", "--json"], io), 0);
    const flags = JSON.parse(io.stdout.join("\n"));
    assert.deepEqual(
      flags.map((f: { name: string; value: boolean; source: string }) => [
        f.name,
        f.value,
        f.source,
      ]),
      [
        ["adaptive-batching", false, "env"],
        ["grpc-reader", true, "default"],
        ["parallel-partitions", true, "default"],
      ],
    );
  });
});

Deno.test("main(['flags']) exits 2 with one line for a bad WEFT_FLAG_* variable", async () => {
  await withEnv({ WEFT_FLAG_PARALLEL_PARTITION: "off" }, async () => {
    const io = capture();
    assert.equal(await main(["flags"], io), 2);
    assert.deepEqual(io.stdout, []);
    assert.deepEqual(io.stderr, [
      'WEFT_FLAG_PARALLEL_PARTITION: unknown flag "parallel-partition"; did you mean ' +
      '"parallel-partitions"? (see `weft flags`)',
    ]);
  });
  await withEnv({ WEFT_FLAG_ADAPTIVE_BATCHING: "maybe" }, async () => {
    const io = capture();
    assert.equal(await main(["validate", BACKUP], io), 2);
    assert.deepEqual(io.stderr, ['WEFT_FLAG_ADAPTIVE_BATCHING: expected on or off, got "maybe"']);
  });
});

Deno.test("main(['flags', file]) exits 2 with file:line:col for an unknown flag", async () => {
  const text = `name: flagged
source:
  use: weaviate-reader
sink:
  use: file-writer
  with:
    path: $DIR/out
flags:
  adaptive-batchng: off
`;
  await withPipeline(text, async (file) => {
    const io = capture();
    assert.equal(await main(["flags", file], io), 2);
    assert.deepEqual(io.stdout, []);
    assert.deepEqual(io.stderr, [
      `${file}:9:3: flags.adaptive-batchng: unknown flag "adaptive-batchng"; did you mean ` +
      '"adaptive-batching"? (see `weft flags`)',
    ]);
  });
  const set = capture();
  assert.equal(await main(["flags", "--set", "flags.adaptive-batching=off"], set), 2);
  assert.equal(
    set.stderr[0],
    "weft: flags takes at most one pipeline file, and --set only with one",
  );
});
