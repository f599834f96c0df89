import assert from "node:assert/strict";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { ensureGoBinary } from "./go_install.ts";
import { useS3 } from "./minio.ts";
import { useWeaviate } from "./weaviate.ts";

const servers = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test({
  name: "the S3 server stores an object and returns the same bytes",
  ...servers,
  async fn() {
    await using s3 = await useS3();
    const client = s3.client();
    try {
      const body = crypto.getRandomValues(new Uint8Array(65_536));
      const key = `harness/${crypto.randomUUID()}.bin`;
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
      const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      assert.deepEqual(await got.Body!.transformToByteArray(), body);
    } finally {
      client.destroy();
    }
  },
});

Deno.test({
  name: "the Weaviate server is ready and reports the pinned version",
  ...servers,
  async fn() {
    await using weaviate = await useWeaviate();
    const meta = await (await fetch(`${weaviate.url}/v1/meta`)).json();
    assert.equal(meta.version, "1.39.0");
  },
});

Deno.test("ensureGoBinary() fails with one line naming Go when go is not installed", async () => {
  const path = Deno.env.get("PATH");
  Deno.env.set("PATH", "/nonexistent");
  try {
    const error = await ensureGoBinary({ pkg: "example.com/x", version: "v1.0.0", binary: "x" })
      .then(() => undefined, (e: Error) => e);
    assert.ok(error instanceof Error);
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, /Go is not installed.*WEAVIATE_URL/);
  } finally {
    if (path === undefined) Deno.env.delete("PATH");
    else Deno.env.set("PATH", path);
  }
});
