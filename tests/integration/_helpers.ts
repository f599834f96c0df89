/** Shared helpers of the integration tests (real Weaviate, real MinIO). */
import { createHash } from "node:crypto";
import weaviate, { type WeaviateClient } from "weaviate-client";
import { type BackupManifest, decodeObject } from "../../plugins/_shared/backup_format.ts";
import type { WeftObject } from "../../src/messages.ts";
import type { WeaviateServer } from "../harness/weaviate.ts";

export const ROOT = new URL("../../", import.meta.url).pathname;

/** Integration tests share one server and leave child processes running between steps. */
export const integration = { sanitizeOps: false, sanitizeResources: false } as const;

const tempDirs: string[] = [];
addEventListener("unload", () => {
  for (const dir of tempDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone.
    }
  }
});

/** A temporary directory removed when the test file ends. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  tempDirs.push(dir);
  return dir;
}

/** A collection name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
}

/** A weaviate-client connected to `server`. */
export function connect(server: WeaviateServer): Promise<WeaviateClient> {
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

/** Result of a CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno task <args>` in the repository, as a user would. */
export async function denoTask(args: string[], env: Record<string, string>): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Environment that points the ready-made pipelines at `server`. */
export function serverEnv(server: WeaviateServer, backupPath: string): Record<string, string> {
  return {
    WEAVIATE_URL: server.url,
    WEAVIATE_GRPC_URL: server.grpcUrl,
    ...(server.apiKey ? { WEAVIATE_API_KEY: server.apiKey } : {}),
    BACKUP_PATH: backupPath,
  };
}

/** A backup read back: its manifest and every object, after checking every checksum. */
export interface ReadBackup {
  manifest: BackupManifest;
  objects: Map<string, WeftObject & { collection: string; tenant?: string }>;
}

/** Reads a backup directory, asserting each file's size, line count and sha256. */
export async function readBackup(dir: string): Promise<ReadBackup> {
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`)) as BackupManifest;
  const objects: ReadBackup["objects"] = new Map();
  for (const file of manifest.files) {
    const bytes = await Deno.readFile(`${dir}/${file.path}`);
    if (bytes.byteLength !== file.bytes) {
      throw new Error(`${file.path}: ${bytes.byteLength} bytes, manifest says ${file.bytes}`);
    }
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (sha !== file.sha256) throw new Error(`${file.path}: sha256 ${sha} != ${file.sha256}`);
    const lines = new TextDecoder().decode(bytes).split("\n").filter(Boolean);
    if (lines.length !== file.objects) {
      throw new Error(`${file.path}: ${lines.length} lines, manifest says ${file.objects}`);
    }
    for (const line of lines) {
      const object = decodeObject(line);
      objects.set(object.id, {
        ...object,
        collection: file.collection,
        ...(file.tenant === undefined ? {} : { tenant: file.tenant }),
      });
    }
  }
  return { manifest, objects };
}

/** Whether two float32 vectors are identical bit for bit. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}
