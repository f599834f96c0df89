/**
 * A real S3 server for tests, the demo and benchmarks: `S3_ENDPOINT` when it
 * is set, otherwise a MinIO built with `go install` and started on a free
 * loopback port with a temporary directory and generated credentials.
 * @module
 */
import { CreateBucketCommand, HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { ensureGoBinary } from "./go_install.ts";
import { freePort, startProcess, waitUntil } from "./process.ts";
import { MINIO } from "./versions.ts";

/** A running S3 server with one bucket. */
export interface S3Server extends AsyncDisposable {
  endpoint: string;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  owned: boolean;
  /** A client for this server (path-style addressing). */
  client(): S3Client;
  stop(): Promise<void>;
}

function randomToken(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

function describe(
  endpoint: string,
  bucket: string,
  accessKey: string,
  secretKey: string,
  region: string,
  owned: boolean,
  stop: () => Promise<void>,
): S3Server {
  return {
    endpoint,
    region,
    bucket,
    accessKey,
    secretKey,
    owned,
    client: () =>
      new S3Client({
        endpoint,
        region,
        forcePathStyle: true,
        credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** A server from `S3_ENDPOINT`, `S3_BUCKET`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`, if set. */
export function s3FromEnv(): S3Server | undefined {
  const endpoint = Deno.env.get("S3_ENDPOINT");
  if (!endpoint) return undefined;
  return describe(
    endpoint,
    Deno.env.get("S3_BUCKET") ?? "weft-test",
    Deno.env.get("S3_ACCESS_KEY_ID") ?? "",
    Deno.env.get("S3_SECRET_ACCESS_KEY") ?? "",
    Deno.env.get("S3_REGION") ?? "us-east-1",
    false,
    () => Promise.resolve(),
  );
}

/** Starts a fresh MinIO on loopback and creates `bucket`. */
export async function startMinio(bucket = "weft-test"): Promise<S3Server> {
  const bin = await ensureGoBinary(MINIO);
  const port = freePort();
  const consolePort = freePort();
  const accessKey = `weft${randomToken(6)}`;
  const secretKey = randomToken(20);
  const proc = await startProcess(
    "minio",
    bin,
    (dir) => [
      "server",
      `${dir}/data`,
      "--address",
      `127.0.0.1:${port}`,
      "--console-address",
      `127.0.0.1:${consolePort}`,
      "--quiet",
    ],
    (dir) => ({
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: dir,
      MINIO_ROOT_USER: accessKey,
      MINIO_ROOT_PASSWORD: secretKey,
      MINIO_BROWSER: "off",
      MINIO_UPDATE: "off",
      MINIO_CI_CD: "1",
    }),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntil("MinIO", proc, async () => {
    const res = await fetch(`${endpoint}/minio/health/ready`);
    await res.body?.cancel();
    return res.ok;
  });
  const server = describe(endpoint, bucket, accessKey, secretKey, "us-east-1", true, proc.stop);
  const client = server.client();
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket })).catch(() =>
      client.send(new CreateBucketCommand({ Bucket: bucket }))
    );
  } finally {
    client.destroy();
  }
  return server;
}

/** `S3_ENDPOINT` when set, else a fresh MinIO. */
export async function useS3(bucket?: string): Promise<S3Server> {
  return s3FromEnv() ?? await startMinio(bucket);
}
