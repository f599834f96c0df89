/**
 * A real Weaviate for tests, the demo and benchmarks: `WEAVIATE_URL` when it
 * is set, otherwise a `weaviate-server` built with `go install` and started
 * on free loopback ports with a temporary data directory.
 * @module
 */
import weaviate, { type WeaviateClient } from "weaviate-client";
import { ensureGoBinary } from "./go_install.ts";
import { freePort, type RestartOptions, startProcess, waitUntil } from "./process.ts";
import { WEAVIATE } from "./versions.ts";

/** S3 settings for Weaviate's `backup-s3` module. */
export interface WeaviateS3Backup {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region?: string;
}

/** Options of {@linkcode startWeaviate}. */
export interface WeaviateOptions {
  /** Require this API key (and refuse anonymous access). */
  apiKey?: string;
  /** Enable `backup-s3` against this S3 endpoint (e.g. the test MinIO). */
  s3?: WeaviateS3Backup;
  /** Extra environment for the server. */
  env?: Record<string, string>;
}

/** A running Weaviate. */
export interface WeaviateServer extends AsyncDisposable {
  /** REST base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** gRPC address, e.g. `http://127.0.0.1:41235`. */
  grpcUrl: string;
  apiKey?: string;
  /** Directory for the `backup-filesystem` module, when this harness started the server. */
  backupPath?: string;
  /** Whether this harness started it (and so stops it). */
  owned: boolean;
  /**
   * Stops the server (`SIGKILL` unless `options.signal` says otherwise) and
   * starts it again on the same ports with the same data; resolves when it is
   * ready. Only for a server this harness started.
   */
  restart(options?: RestartOptions): Promise<void>;
  stop(): Promise<void>;
}

/** A server from `WEAVIATE_URL` / `WEAVIATE_GRPC_URL` / `WEAVIATE_API_KEY`, if set. */
export function weaviateFromEnv(): WeaviateServer | undefined {
  const url = Deno.env.get("WEAVIATE_URL");
  if (!url) return undefined;
  const u = new URL(url);
  const grpcUrl = Deno.env.get("WEAVIATE_GRPC_URL") || `${u.protocol}//${u.hostname}:50051`;
  const apiKey = Deno.env.get("WEAVIATE_API_KEY");
  const backupPath = Deno.env.get("WEAVIATE_BACKUP_PATH");
  return {
    url,
    grpcUrl,
    ...(apiKey ? { apiKey } : {}),
    ...(backupPath ? { backupPath } : {}),
    owned: false,
    restart: () =>
      Promise.reject(
        new Error(`Cannot restart Weaviate: ${url} was not started by this harness (WEAVIATE_URL)`),
      ),
    stop: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

/** Starts a fresh Weaviate on loopback. */
export async function startWeaviate(options: WeaviateOptions = {}): Promise<WeaviateServer> {
  const bin = await ensureGoBinary(WEAVIATE);
  const http = freePort();
  const grpc = freePort();
  const ports = Array.from({ length: 5 }, freePort);
  const modules = ["backup-filesystem", ...(options.s3 ? ["backup-s3"] : [])];
  const proc = await startProcess(
    "weaviate",
    bin,
    () => ["--host", "127.0.0.1", "--port", String(http), "--scheme", "http"],
    (dir) => ({
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? dir,
      PERSISTENCE_DATA_PATH: `${dir}/data`,
      BACKUP_FILESYSTEM_PATH: `${dir}/backups`,
      DEFAULT_VECTORIZER_MODULE: "none",
      ENABLE_MODULES: modules.join(","),
      CLUSTER_HOSTNAME: "weft-node-1",
      CLUSTER_BIND_ADDR: "127.0.0.1",
      CLUSTER_ADVERTISE_ADDR: "127.0.0.1",
      CLUSTER_GOSSIP_BIND_PORT: String(ports[0]),
      CLUSTER_DATA_BIND_PORT: String(ports[1]),
      RAFT_PORT: String(ports[2]),
      RAFT_INTERNAL_RPC_PORT: String(ports[3]),
      RAFT_BOOTSTRAP_EXPECT: "1",
      GRPC_PORT: String(grpc),
      GO_PROFILING_DISABLE: "true",
      GO_PROFILING_PORT: String(ports[4]),
      DISABLE_TELEMETRY: "true",
      LOG_LEVEL: "warning",
      QUERY_DEFAULTS_LIMIT: "25",
      ...(options.apiKey
        ? {
          AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: "false",
          AUTHENTICATION_APIKEY_ENABLED: "true",
          AUTHENTICATION_APIKEY_ALLOWED_KEYS: options.apiKey,
          AUTHENTICATION_APIKEY_USERS: "weft-admin",
          AUTHORIZATION_ADMINLIST_ENABLED: "true",
          AUTHORIZATION_ADMINLIST_USERS: "weft-admin",
        }
        : { AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: "true" }),
      ...(options.s3
        ? {
          BACKUP_S3_ENDPOINT: new URL(options.s3.endpoint).host,
          BACKUP_S3_BUCKET: options.s3.bucket,
          BACKUP_S3_USE_SSL: "false",
          AWS_ACCESS_KEY_ID: options.s3.accessKey,
          AWS_SECRET_ACCESS_KEY: options.s3.secretKey,
          AWS_REGION: options.s3.region ?? "us-east-1",
        }
        : {}),
      ...options.env,
    }),
  );
  const url = `http://127.0.0.1:${http}`;
  const ready = () =>
    waitUntil("Weaviate", proc, async () => {
      const res = await fetch(`${url}/v1/.well-known/ready`);
      await res.body?.cancel();
      return res.ok;
    });
  await ready();
  return {
    url,
    grpcUrl: `http://127.0.0.1:${grpc}`,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    backupPath: `${proc.dir}/backups`,
    owned: true,
    async restart(restartOptions) {
      await proc.restart(restartOptions);
      await ready();
    },
    stop: proc.stop,
    [Symbol.asyncDispose]: proc.stop,
  };
}

/** `WEAVIATE_URL` when set, else a fresh server. */
export async function useWeaviate(options: WeaviateOptions = {}): Promise<WeaviateServer> {
  return weaviateFromEnv() ?? await startWeaviate(options);
}

/** A weaviate-client connected to `server` (REST and gRPC ports, API key if any). */
export function connectClient(server: WeaviateServer): Promise<WeaviateClient> {
  const url = new URL(server.url);
  const grpc = new URL(server.grpcUrl);
  return weaviate.connectToCustom({
    httpHost: url.hostname,
    httpPort: Number(url.port),
    grpcHost: grpc.hostname,
    grpcPort: Number(grpc.port),
    ...(server.apiKey ? { authCredentials: new weaviate.ApiKey(server.apiKey) } : {}),
  });
}
