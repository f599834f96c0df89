/** Shared helpers of the integration tests (real Weaviate, real MinIO). */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type BackupManifest, decodeObject } from "../../plugins/_shared/backup_format.ts";
import { stringifyJson } from "../../plugins/_shared/json.ts";
import type { WeftObject } from "../../src/messages.ts";
import { connectClient, type WeaviateServer } from "../harness/weaviate.ts";

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
export const connect = connectClient;

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

/**
 * Runs `weft run <args>`, sends `signal` once stderr shows `after` (and 300 ms
 * have passed), and collects the outcome.
 */
export async function signalAfter(
  args: string[],
  env: Record<string, string>,
  after: string,
  signal: Deno.Signal,
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "main.ts", "run", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let stderr = "";
  const reader = child.stderr.getReader();
  while (!stderr.includes(after)) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += decoder.decode(value);
  }
  await new Promise((r) => setTimeout(r, 300));
  child.kill(signal);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += decoder.decode(value);
  }
  const { code } = await child.status;
  const stdout = decoder.decode(await new Response(child.stdout).arrayBuffer());
  return { code, stdout, stderr };
}

/** Backs `collections` of `server` up with `deno task backup` into a new temporary directory. */
export async function backupTo(server: WeaviateServer, collections: string[]): Promise<string> {
  const dir = await tempDir("weft-test-backup-");
  const run = await denoTask(
    ["backup", "pipelines/backup.yaml", "--set", `source.with.collections=[${collections}]`],
    serverEnv(server, dir),
  );
  assert.equal(run.code, 0, run.stderr);
  return dir;
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

/** Calls Weaviate's REST API; throws on a non-2xx answer. */
export async function rest<T>(
  server: WeaviateServer,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface Listed {
  id: string;
  properties: Record<string, unknown>;
  vector?: number[];
  vectors?: Record<string, unknown>;
}

/** Every object of a collection (and tenant), by id, without timestamps. */
export async function listAll(server: WeaviateServer, name: string, tenant?: string) {
  const out = new Map<string, Listed>();
  let after = "";
  for (;;) {
    const q = new URLSearchParams({ class: name, limit: "200", include: "vector" });
    if (tenant) q.set("tenant", tenant);
    if (after) q.set("after", after);
    const { objects } = await rest<{ objects: Listed[] }>(server, "GET", `/v1/objects?${q}`);
    if (!objects.length) return out;
    for (const o of objects) {
      out.set(o.id, {
        id: o.id,
        properties: o.properties,
        ...(o.vector ? { vector: o.vector } : {}),
        ...(o.vectors ? { vectors: o.vectors } : {}),
      });
    }
    after = objects.at(-1)!.id;
  }
}

/** Replaces collection names in beacons so objects of renamed collections compare equal. */
export function renamed(objects: Map<string, Listed>, from: string, to: string) {
  return new Map(
    [...objects].map((
      [id, o],
    ) => [id, JSON.parse(JSON.stringify(o).replaceAll(`/${from}/`, `/${to}/`))]),
  );
}

/** Three collections covering every property type, vector kind, references and tenants. */
export async function createFixture(server: WeaviateServer) {
  const authors = uniqueName("Authors");
  const things = uniqueName("Things");
  const tenants = uniqueName("Tenants");
  const vector = { vectorizer: { none: {} }, vectorIndexType: "hnsw" };
  // Authors keeps the pre-named-vectors shape: one unnamed collection-level vector.
  await rest(server, "POST", "/v1/schema", {
    class: authors,
    vectorizer: "none",
    vectorIndexConfig: { distance: "l2-squared" },
    properties: [{ name: "name", dataType: ["text"] }],
  });
  await rest(server, "POST", "/v1/schema", {
    class: things,
    invertedIndexConfig: {
      bm25: { b: 0.6, k1: 1.4 },
      indexNullState: true,
      indexPropertyLength: true,
      indexTimestamps: true,
    },
    replicationConfig: { factor: 1, deletionStrategy: "DeleteOnConflict" },
    // Two shards on one node: the most sharding a single node shows.
    shardingConfig: { desiredCount: 2 },
    properties: [
      { name: "title", dataType: ["text"], tokenization: "field" },
      { name: "tags", dataType: ["text[]"], tokenization: "lowercase" },
      { name: "count", dataType: ["int"], indexRangeFilters: true },
      { name: "counts", dataType: ["int[]"] },
      { name: "amount", dataType: ["number"] },
      { name: "price", dataType: ["number[]"] },
      { name: "flag", dataType: ["boolean"] },
      { name: "flags", dataType: ["boolean[]"] },
      { name: "when", dataType: ["date"] },
      { name: "whens", dataType: ["date[]"] },
      { name: "ref_id", dataType: ["uuid"] },
      { name: "ref_ids", dataType: ["uuid[]"] },
      {
        name: "items",
        dataType: ["object[]"],
        nestedProperties: [{ name: "k", dataType: ["text"] }],
      },
      { name: "geo", dataType: ["geoCoordinates"] },
      { name: "phone", dataType: ["phoneNumber"] },
      { name: "data", dataType: ["blob"] },
      {
        name: "meta",
        dataType: ["object"],
        nestedProperties: [{ name: "label", dataType: ["text"] }, {
          name: "at",
          dataType: ["date"],
        }],
      },
      { name: "author", dataType: [authors] },
      { name: "related", dataType: [authors, things] },
    ],
    vectorConfig: {
      small: {
        ...vector,
        vectorIndexConfig: { distance: "dot", ef: 77, maxConnections: 24, rq: { enabled: true } },
      },
      large: { ...vector, vectorIndexType: "flat" },
      colbert: { ...vector, vectorIndexConfig: { multivector: { enabled: true } } },
    },
  });
  await rest(server, "POST", "/v1/schema", {
    class: tenants,
    multiTenancyConfig: { enabled: true },
    properties: [{ name: "n", dataType: ["int"] }],
  });
  const authorId = crypto.randomUUID();
  const a = crypto.randomUUID();
  const b = crypto.randomUUID();
  // References go inside the inserts (targets first): Weaviate 1.39 leaves the null-state
  // index stale for references added with POST /v1/batch/references.
  await rest(server, "POST", "/v1/batch/objects", {
    objects: [
      { class: authors, id: authorId, properties: { name: "Ada" }, vector: [0.5, -1.25, 3] },
      {
        class: things,
        id: b,
        properties: { title: "sparse" },
        vectors: { small: [1, 1, 1], large: [0, 0, 0, 1], colbert: [[0, 1]] },
      },
    ],
  });
  await rest(server, "POST", "/v1/batch/objects", {
    objects: [
      {
        class: things,
        id: a,
        properties: {
          title: "Grüße, 世界 ✓",
          tags: ["a", "b"],
          count: 42,
          counts: [1, -2, 3],
          amount: 0.1,
          price: [1.5, -0.25],
          flag: true,
          flags: [true, false],
          when: "2024-01-02T03:04:05.123456Z",
          whens: ["2020-02-29T00:00:00Z", "1999-12-31T23:59:59.999Z"],
          ref_ids: ["11111111-2222-4333-8444-555555555555"],
          items: [{ k: "x" }, { k: "ÿ" }],
          ref_id: "9f9a8a5e-0c43-4a8e-9b1f-1a2b3c4d5e6f",
          geo: { latitude: 52.52, longitude: 13.405 },
          phone: { input: "+49 30 1234567" },
          data: "aGVsbG8gd2VmdA==",
          meta: { label: "m", at: "2023-06-01T12:00:00.5Z" },
          author: [{ beacon: `weaviate://localhost/${authors}/${authorId}` }],
          related: [
            { beacon: `weaviate://localhost/${authors}/${authorId}` },
            { beacon: `weaviate://localhost/${things}/${b}` },
          ],
        },
        vectors: { small: [0.1, 0.2, 0.3], large: [1, 2, 3, 4], colbert: [[1, 2], [3, 4]] },
      },
    ],
  });
  await rest(server, "POST", `/v1/schema/${tenants}/tenants`, [{ name: "t1" }, { name: "t2" }, {
    name: "t3",
  }]);
  for (const [tenant, n] of [["t1", 2], ["t2", 3], ["t3", 4]] as const) {
    await rest(server, "POST", "/v1/batch/objects", {
      objects: Array.from(
        { length: n },
        (_, i) => ({ class: tenants, tenant, properties: { n: i } }),
      ),
    });
  }
  await rest(server, "PUT", `/v1/schema/${tenants}/tenants`, [{
    name: "t2",
    activityStatus: "COLD",
  }]);
  return { authors, things, tenants };
}

/** A collection's tenants by name, with their activity status. */
export async function tenantStatuses(
  server: WeaviateServer,
  name: string,
): Promise<Record<string, string>> {
  const tenants = await rest<{ name: string; activityStatus: string }[]>(
    server,
    "GET",
    `/v1/schema/${name}/tenants`,
  );
  return Object.fromEntries(tenants.map((t) => [t.name, t.activityStatus]));
}

/** Objects of `name` (and `tenant`) matching a GraphQL `where` literal, as Weaviate counts them. */
export async function aggregateCount(
  server: WeaviateServer,
  name: string,
  where: string,
  tenant?: string,
): Promise<number> {
  const args = `${tenant ? `tenant: ${JSON.stringify(tenant)}, ` : ""}where: ${where}`;
  const result = await rest<{
    data?: { Aggregate?: Record<string, { meta: { count: number } }[]> };
    errors?: { message: string }[];
  }>(server, "POST", "/v1/graphql", {
    query: `{ Aggregate { ${name}(${args}) { meta { count } } } }`,
  });
  const n = result.data?.Aggregate?.[name]?.[0]?.meta.count;
  assert.equal(typeof n, "number", `${name} ${where}: ${JSON.stringify(result.errors)}`);
  return n!;
}

/**
 * Inserts `objects` in one REST batch, negative zeros and `JsonLiteral`s kept
 * (`JSON.stringify` would lose them); resolves with the errors by object id.
 */
export async function insertObjects(
  server: WeaviateServer,
  objects: unknown[],
): Promise<Record<string, string>> {
  const res = await fetch(`${server.url}/v1/batch/objects`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: stringifyJson({ objects }),
  });
  const body = await res.json() as {
    id: string;
    result?: { errors?: { error: { message: string }[] } };
  }[];
  assert.ok(res.ok, JSON.stringify(body).slice(0, 500));
  const errors: Record<string, string> = {};
  for (const r of body) {
    if (r.result?.errors) errors[r.id] = r.result.errors.error.map((e) => e.message).join("; ");
  }
  return errors;
}

/** Like {@linkcode insertObjects}, failing on any refused object. */
export async function insertAll(server: WeaviateServer, objects: unknown[]): Promise<void> {
  assert.deepEqual(await insertObjects(server, objects), {}, "the source takes every object");
}
