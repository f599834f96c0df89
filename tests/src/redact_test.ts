import assert from "node:assert/strict";
import { createLogger } from "../../src/logger.ts";
import { isSecretKey, isSecretVariable, Redactor, safeUrl } from "../../src/redact.ts";

Deno.test("Redactor.redact() masks every occurrence of every registered value", () => {
  const redactor = new Redactor();
  redactor.add("s3cret-value");
  redactor.add("other-token");
  assert.equal(
    redactor.redact("a s3cret-value b s3cret-value c other-token"),
    "a *** b *** c ***",
  );
  assert.equal(redactor.redact("nothing here"), "nothing here");
});

Deno.test("Redactor.add() ignores empty, missing and very short values", () => {
  const redactor = new Redactor();
  redactor.add(undefined);
  redactor.add("");
  redactor.add("abc");
  assert.equal(redactor.redact("abc abcd"), "abc abcd");
  redactor.add("abcd");
  assert.equal(redactor.redact("abc abcd"), "abc ***");
});

Deno.test("isSecretKey() recognises secret-looking option names", () => {
  for (
    const key of [
      "apiKey",
      "api_key",
      "X-Api-Key",
      "APIKEY",
      "password",
      "dbPasswd",
      "secretAccessKey",
      "token",
      "sessionToken",
      "credentials",
      "Authorization",
      "X-Aws-Access-Key",
      "accessKey",
      "privateKey",
      "X-Auth",
      "Cookie",
    ]
  ) {
    assert.equal(isSecretKey(key), true, key);
  }
  for (
    const key of [
      "url",
      "path",
      "collections",
      "pageSize",
      "accessKeyId",
      "keys",
      "",
      "tokenization",
      "author",
      "autoTenantActivation",
    ]
  ) {
    assert.equal(isSecretKey(key), false, key);
  }
});

Deno.test("Redactor.addFromConfig() registers values under secret-named keys, at any depth", () => {
  const redactor = new Redactor();
  redactor.addFromConfig({
    url: "http://localhost:8080",
    apiKey: "key-aaaa-1111",
    collections: ["Articles", "Books"],
    headers: { "X-OpenAI-Api-Key": "sk-openai-2222", "X-Trace": "trace-3333" },
    sinks: [{ s3: { secretAccessKey: "aws-secret-4444" } }],
    tokens: ["tok-5555", "tok-6666"],
    pageSize: 500,
  });
  const text = "key-aaaa-1111 sk-openai-2222 aws-secret-4444 tok-5555 tok-6666 trace-3333";
  assert.equal(redactor.redact(text), "*** *** *** *** *** ***");
  assert.equal(
    redactor.redact("http://localhost:8080 Articles Books 500"),
    "http://localhost:8080 Articles Books 500",
  );
});

Deno.test("Redactor.addFromConfig() registers the user info of URLs under any key", () => {
  const redactor = new Redactor();
  redactor.addFromConfig({
    url: "https://alice:pa55word@weaviate.example.com:8443/path",
    mirrors: ["s3://AKIAKEY:topsecret@bucket/prefix"],
  });
  assert.equal(
    redactor.redact("GET https://alice:pa55word@weaviate.example.com:8443/path failed"),
    "GET https://***@weaviate.example.com:8443/path failed",
  );
  assert.equal(redactor.redact("s3://AKIAKEY:topsecret@bucket/prefix"), "s3://***@bucket/prefix");
});

Deno.test("Redactor.redactValue() masks secret keys and registered values in a copy", () => {
  const redactor = new Redactor();
  redactor.add("registered-secret");
  const input = {
    apiKey: "anything",
    password: "",
    url: "http://x/?q=registered-secret",
    nested: { token: "abc", list: ["registered-secret", "plain"], count: 3 },
    headers: { Authorization: ["Bearer a", "Bearer b"] },
    vector: new Float32Array([1, 2]),
    flag: true,
    none: null,
  };
  const output = redactor.redactValue(input);
  assert.deepEqual(output, {
    apiKey: "***",
    password: "",
    url: "http://x/?q=***",
    nested: { token: "***", list: ["***", "plain"], count: 3 },
    headers: { Authorization: ["***", "***"] },
    vector: input.vector,
    flag: true,
    none: null,
  });
  assert.notEqual(output, input);
  assert.equal(input.apiKey, "anything");
  assert.deepEqual(input.nested.list, ["registered-secret", "plain"]);
});

Deno.test("safeUrl() drops user info, query and fragment", () => {
  assert.equal(
    safeUrl("https://alice:pa55word@weaviate.example.com:8443/v1/x?apiKey=k#frag"),
    "https://weaviate.example.com:8443/v1/x",
  );
  assert.equal(safeUrl("http://user@localhost:8080/"), "http://localhost:8080");
  assert.equal(safeUrl("http://localhost:8080"), "http://localhost:8080");
  assert.equal(safeUrl("not a url"), "(invalid url)");
  assert.ok(!safeUrl("https://u:p4ss@h/").includes("p4ss"));
});

Deno.test("isSecretVariable() recognises secret-looking environment variable names", () => {
  for (
    const name of [
      "WEAVIATE_API_KEY",
      "OPENAI_KEY",
      "MY_SERVICE_KEY",
      "GITHUB_TOKEN",
      "AWS_SECRET_ACCESS_KEY",
      "CLIENT_SECRET",
      "DB_PASSWORD",
      "PGPASSWORD",
      "SMTP_PASS",
      "KEY",
    ]
  ) {
    assert.equal(isSecretVariable(name), true, name);
  }
  for (const name of ["WEAVIATE_URL", "BACKUP_PATH", "COLLECTION", "KEYSPACE", "HOME", "MONKEY"]) {
    assert.equal(isSecretVariable(name), false, name);
  }
});

Deno.test("Redactor masks every value under headers, whatever the header's name", () => {
  const redactor = new Redactor();
  const config = {
    url: "http://localhost:8080",
    headers: { "X-Aws-Access-Key": "AKIAEXAMPLE1", "X-Custom": "plain-but-header" },
  };
  redactor.addFromConfig(config);
  assert.deepEqual(redactor.redactValue(config), {
    url: "http://localhost:8080",
    headers: { "X-Aws-Access-Key": "***", "X-Custom": "***" },
  });
  assert.equal(redactor.redact("AKIAEXAMPLE1 plain-but-header"), "*** ***");
  // Even when the values were never registered.
  assert.deepEqual(new Redactor().redactValue({ extraHeaders: { a: "b" } }), {
    extraHeaders: { a: "***" },
  });
});

Deno.test("Redactor.redactValue() masks URL user info it was never told about", () => {
  assert.deepEqual(
    new Redactor().redactValue({ mirror: "https://bob:pw-123@h.example/x", plain: "a@b.c" }),
    { mirror: "https://***@h.example/x", plain: "a@b.c" },
  );
});

Deno.test("createLogger() masks secrets that JSON escaping would change", () => {
  const redactor = new Redactor();
  const secret = 'pa"ss\\word-1234';
  redactor.add(secret);
  const lines: string[] = [];
  const log = createLogger({ format: "json", redactor, write: (line) => lines.push(line) });
  log.warn(`login failed with ${secret}`, { detail: `x ${secret}`, nested: { why: secret } });
  const parsed = JSON.parse(lines[0]!);
  assert.equal(parsed.msg, "login failed with ***");
  assert.equal(parsed.detail, "x ***");
  assert.deepEqual(parsed.nested, { why: "***" });
  assert.ok(!lines[0]!.includes("word-1234"), lines[0]!);
});

Deno.test("Redactor masks a secret holding a line break also as messages show it (one line)", () => {
  const redactor = new Redactor();
  redactor.add("sk-SECRET\nabcdef");
  assert.equal(
    redactor.redact('Invalid header value: "Bearer sk-SECRET abcdef"'),
    'Invalid header value: "Bearer ***"',
  );
  assert.doesNotMatch(redactor.redact("key sk-SECRET, then abcdef"), /SECRET|abcdef/);
});
