import assert from "node:assert/strict";
import { isSecretKey, Redactor, safeUrl } from "../../src/redact.ts";

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
    ]
  ) {
    assert.equal(isSecretKey(key), true, key);
  }
  for (const key of ["url", "path", "collections", "pageSize", "accessKeyId", "keys", ""]) {
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
  const text = "key-aaaa-1111 sk-openai-2222 aws-secret-4444 tok-5555 tok-6666";
  assert.equal(redactor.redact(text), "*** *** *** *** ***");
  assert.equal(
    redactor.redact("http://localhost:8080 Articles Books trace-3333 500"),
    "http://localhost:8080 Articles Books trace-3333 500",
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
