/**
 * `deno task test`: starts one MinIO and one Weaviate (unless `S3_ENDPOINT` /
 * `WEAVIATE_URL` point at running ones), runs `deno <args>` with their
 * addresses in the environment, then stops both, also on Ctrl-C.
 *
 * Usage: deno run -A tests/harness/with_servers.ts test --allow-all [files…]
 * @module
 */
import { useS3 } from "./minio.ts";
import { useWeaviate } from "./weaviate.ts";

const started = performance.now();
const s3 = await useS3();
const weaviate = await useWeaviate({
  s3: {
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
  },
});
console.error(
  `weft: Weaviate at ${weaviate.url} (gRPC ${weaviate.grpcUrl}), MinIO at ${s3.endpoint}, ready in ${
    ((performance.now() - started) / 1000).toFixed(1)
  } s`,
);

const env: Record<string, string> = {
  WEAVIATE_URL: weaviate.url,
  WEAVIATE_GRPC_URL: weaviate.grpcUrl,
  S3_ENDPOINT: s3.endpoint,
  S3_BUCKET: s3.bucket,
  S3_ACCESS_KEY_ID: s3.accessKey,
  S3_SECRET_ACCESS_KEY: s3.secretKey,
  S3_REGION: s3.region,
};
if (weaviate.backupPath) env.WEAVIATE_BACKUP_PATH = weaviate.backupPath;

const child = new Deno.Command(Deno.execPath(), { args: Deno.args, env, stdin: "inherit" }).spawn();
const forward = (signal: Deno.Signal) => () => {
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
};
Deno.addSignalListener("SIGINT", forward("SIGINT"));
Deno.addSignalListener("SIGTERM", forward("SIGTERM"));

let code = 1;
try {
  code = (await child.status).code;
} finally {
  await weaviate.stop();
  await s3.stop();
}
Deno.exit(code);
