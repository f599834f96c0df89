/**
 * The end-to-end cases, by name (see `case.ts` for what a case is).
 * @module
 */
import {
  backupCase,
  type BenchCase,
  connection,
  deno,
  expectReported,
  restoreCase,
  weft,
} from "./case.ts";
import { type CaseContext, ROOT } from "./context.ts";
import { type Command, diskBytes } from "./measure.ts";
import { PYTHON_SCRIPTS } from "./python.ts";
import { countObjects, dropCollection } from "./server.ts";

/** What MB/s means, printed once with the results. */
export const BYTES_DEFINITION =
  "MB/s = MiB (2^20 bytes) of the files a backup writes or a restore reads (weft's backup folder, " +
  "the JSON Lines dump, Weaviate's backup folder) per second of wall time; migrate counts the size " +
  "of weft's backup of the same data (when one was made), ingest-ceiling the encoded gRPC requests; " +
  "clear has none.";

function weftBackup(ctx: CaseContext, path: string): Command {
  return weft("backup", [`source.with.collections=[${ctx.source}]`], {
    WEAVIATE_URL: ctx.target.url,
    WEAVIATE_GRPC_URL: ctx.target.grpcUrl,
    BACKUP_PATH: path,
  });
}

function rawBackup(ctx: CaseContext, path: string): Command {
  return {
    argv: deno("bench/e2e/raw_client.ts", [
      "backup",
      ...connection(ctx),
      "--collection",
      ctx.source,
      "--out",
      path,
    ]),
    cwd: ROOT,
  };
}

function pythonBackup(ctx: CaseContext, path: string): Command {
  return {
    argv: [
      ctx.settings.python!,
      `${PYTHON_SCRIPTS}backup.py`,
      ...connection(ctx),
      "--collection",
      ctx.source,
      "--out",
      path,
    ],
    cwd: PYTHON_SCRIPTS,
  };
}

const WEFT_BACKUP = { key: "weft-backup", make: weftBackup };
const RAW_DUMP = { key: "raw-dump", make: rawBackup };
const PYTHON_DUMP = { key: "python-dump", make: pythonBackup };

function rawRestore(batch: number, concurrency: number, name = "raw-restore"): BenchCase {
  return restoreCase(name, RAW_DUMP, (ctx, dump, collection) => ({
    argv: deno("bench/e2e/raw_client.ts", [
      "restore",
      ...connection(ctx),
      "--collection",
      collection,
      "--dump",
      dump,
      "--batch",
      String(batch),
      "--concurrency",
      String(concurrency),
    ]),
    cwd: ROOT,
  }));
}

function pythonRestore(mode: "fixed" | "dynamic" | "stream"): BenchCase {
  return restoreCase(`python-restore-${mode}`, PYTHON_DUMP, (ctx, dump, collection) => ({
    argv: [
      ctx.settings.python!,
      `${PYTHON_SCRIPTS}restore.py`,
      ...connection(ctx),
      "--collection",
      collection,
      "--dump",
      dump,
      "--mode",
      mode,
      "--batch-size",
      "500",
      "--concurrent-requests",
      "2",
    ],
    cwd: PYTHON_SCRIPTS,
  }), true);
}

/** Weaviate's own backup (`backup-filesystem`) of the source, under a fresh id. */
function nativeCommand(ctx: CaseContext, action: "backup" | "restore", id: string): Command {
  return {
    argv: deno("bench/e2e/weaviate_native.ts", [
      action,
      "--url",
      ctx.target.url,
      "--collection",
      ctx.source,
      "--id",
      id,
    ]),
    cwd: ROOT,
  };
}

/** Size of Weaviate's backup `id`, when its folder is known (harness server). */
function nativeBytes(ctx: CaseContext, id: string): Promise<number | undefined> {
  const dir = ctx.bench.server.backupPath;
  return dir ? diskBytes(`${dir}/${id}`) : Promise.resolve(undefined);
}

let nativeIds = 0;
const nativeId = () => `e2e-${Date.now().toString(36)}-${++nativeIds}`;

const weaviateBackup: BenchCase = {
  name: "weaviate-backup",
  start(ctx) {
    const id = nativeId();
    return Promise.resolve({
      command: nativeCommand(ctx, "backup", id),
      async finish() {
        const bytes = await nativeBytes(ctx, id);
        const dir = ctx.bench.server.backupPath;
        if (dir) await Deno.remove(`${dir}/${id}`, { recursive: true }).catch(() => {});
        return bytes;
      },
    });
  },
};

/** One backup of the source made before the rounds, restored in place on every run. */
const weaviateRestore: BenchCase = {
  name: "weaviate-restore",
  async prepare(ctx) {
    await restoreId(ctx);
  },
  async start(ctx) {
    const id = await restoreId(ctx);
    await dropCollection(ctx.bench, ctx.source);
    return {
      command: nativeCommand(ctx, "restore", id),
      async finish() {
        await ctx.expectFull(ctx.source, "weaviate-restore");
        return await nativeBytes(ctx, id);
      },
    };
  },
};

const restoreIds = new WeakMap<CaseContext, Promise<string>>();
function restoreId(ctx: CaseContext): Promise<string> {
  let id = restoreIds.get(ctx);
  if (!id) {
    const fresh = nativeId();
    id = ctx.fixture("weaviate-backup", () => nativeCommand(ctx, "backup", fresh)).then(() =>
      fresh
    );
    restoreIds.set(ctx, id);
  }
  return id;
}

const weftRestore = restoreCase(
  "weft-restore",
  WEFT_BACKUP,
  (ctx, path, collection) =>
    weft("restore", [`sink.with.collection=${collection}`], {
      WEAVIATE_URL: ctx.target.url,
      WEAVIATE_GRPC_URL: ctx.target.grpcUrl,
      BACKUP_PATH: path,
    }),
);

const weftMigrate: BenchCase = {
  name: "weft-migrate",
  start(ctx) {
    const collection = ctx.name("WeftMigrate");
    const { url, grpcUrl } = ctx.target;
    return Promise.resolve({
      command: weft("migrate", [], {
        SOURCE_URL: url,
        SOURCE_GRPC_URL: grpcUrl,
        TARGET_URL: url,
        TARGET_GRPC_URL: grpcUrl,
        COLLECTION: ctx.source,
        TARGET_COLLECTION: collection,
      }),
      async finish() {
        await ctx.expectFull(collection, "weft-migrate");
        await ctx.keep(collection);
        return (await ctx.made(WEFT_BACKUP.key))?.bytes;
      },
    });
  },
};

const weftClear: BenchCase = {
  name: "weft-clear",
  async start(ctx) {
    const collection = await ctx.full();
    return {
      command: weft("clear", [], { WEAVIATE_URL: ctx.target.url, COLLECTION: collection }, true),
      async finish() {
        const left = await countObjects(ctx.bench, collection, ctx.data.tenants);
        if (left !== 0) throw new Error(`weft-clear: ${collection} still holds ${left} objects`);
        await dropCollection(ctx.bench, collection);
        return undefined;
      },
    };
  },
};

function ingestCeiling(concurrency: number, batch: number): BenchCase {
  return {
    name: `ingest-ceiling ×${concurrency}`,
    start(ctx) {
      const collection = ctx.name(`Ceiling${concurrency}x`);
      return Promise.resolve({
        command: {
          argv: deno("bench/e2e/ingest_ceiling.ts", [
            "--spec",
            JSON.stringify({
              name: ctx.data.name,
              objects: ctx.data.objects,
              dims: ctx.data.dims,
              index: ctx.data.index,
            }),
            ...connection(ctx),
            "--collection",
            collection,
            "--concurrency",
            String(concurrency),
            "--batch",
            String(batch),
          ]),
          cwd: ROOT,
        },
        async finish(result) {
          expectReported(ctx, result, "ingest-ceiling");
          await ctx.expectFull(collection, "ingest-ceiling");
          await ctx.keep(collection);
          return result.reported?.bytes as number | undefined;
        },
      });
    },
  };
}

/** Every case name `--cases` accepts, in run order. */
export const CASE_NAMES = [
  "weft-backup",
  "raw-backup",
  "python-backup",
  "weaviate-backup",
  "weft-restore",
  "raw-restore",
  "python-restore-fixed",
  "python-restore-dynamic",
  "python-restore-stream",
  "weaviate-restore",
  "weft-migrate",
  "ingest-ceiling",
  "weft-clear",
] as const;

/** Cases left out unless named in `--cases`. */
export const OPT_IN = ["python-restore-stream"];

/**
 * raw-restore's default: objects per `insertMany` × calls in flight, the best
 * of `bench/e2e.ts --sweep` on this machine (see bench/e2e.ts's module doc).
 */
export const RAW_RESTORE_DEFAULT: [number, number] = [1000, 4];

/** Options of {@linkcode makeCases}. */
export interface CaseOptions {
  /** raw-restore variants (batch × concurrency); more than one for `--sweep`. */
  rawRestore: [number, number][];
  ceilingConcurrency: number[];
  ceilingBatch: number;
}

/** The cases called `names`, expanded into their variants. */
export function makeCases(names: readonly string[], options: CaseOptions): BenchCase[] {
  const build: Record<string, () => BenchCase[]> = {
    "weft-backup": () => [backupCase("weft-backup", weftBackup, false)],
    "raw-backup": () => [backupCase("raw-backup", rawBackup, true)],
    "python-backup": () => [backupCase("python-backup", pythonBackup, true, true)],
    "weaviate-backup": () => [weaviateBackup],
    "weft-restore": () => [weftRestore],
    "raw-restore": () =>
      options.rawRestore.length === 1
        ? [rawRestore(...options.rawRestore[0]!)]
        : options.rawRestore.map(([b, c]) => rawRestore(b, c, `raw-restore ${b}×${c}`)),
    "python-restore-fixed": () => [pythonRestore("fixed")],
    "python-restore-dynamic": () => [pythonRestore("dynamic")],
    "python-restore-stream": () => [pythonRestore("stream")],
    "weaviate-restore": () => [weaviateRestore],
    "weft-migrate": () => [weftMigrate],
    "ingest-ceiling": () =>
      options.ceilingConcurrency.map((c) => ingestCeiling(c, options.ceilingBatch)),
    "weft-clear": () => [weftClear],
  };
  return CASE_NAMES.filter((n) => names.includes(n)).flatMap((n) => build[n]!());
}
