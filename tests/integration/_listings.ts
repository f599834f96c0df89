/**
 * Backups of the same collections with the gRPC listing on and off, and the
 * assertion that they are the same bytes (naming the first property that is
 * not), shared by the gRPC reader tests.
 * @module
 */
import assert from "node:assert/strict";
import type { WeaviateServer } from "../harness/weaviate.ts";
import { denoTask, type ReadBackup, readBackup, serverEnv, tempDir } from "./_helpers.ts";

/** A backup with where it is, what the run printed and its counters. */
export interface Backup extends ReadBackup {
  dir: string;
  stderr: string;
  counters: Record<string, number>;
}

/** Backs `collections` of `server` up with the flag `grpc-reader` set to `flag`. */
export async function backupWithFlag(
  server: WeaviateServer,
  collections: string[],
  flag: "on" | "off",
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<Backup> {
  const dir = await tempDir(`weft-test-grpc-${flag}-`);
  const run = await denoTask(
    [
      "backup",
      "pipelines/backup.yaml",
      "--set",
      `source.with.collections=[${collections}]`,
      ...extra,
    ],
    { ...serverEnv(server, dir), WEFT_FLAG_GRPC_READER: flag, ...env },
  );
  assert.equal(run.code, 0, run.stderr);
  const { counters } = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
  return { dir, stderr: run.stderr, counters, ...await readBackup(dir) };
}

/** Every data line of a backup, by object id. */
async function lines(b: Backup): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of b.manifest.files) {
    for (const line of (await Deno.readTextFile(`${b.dir}/${f.path}`)).split("\n")) {
      if (line) out.set(`${f.collection}/${f.tenant ?? ""}/${JSON.parse(line).id}`, line);
    }
  }
  return out;
}

/** The first place two JSON lines differ: the property path and both values. */
function firstDifference(rest: string, grpc: string): string {
  const walk = (a: unknown, b: unknown, path: string): string | undefined => {
    if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
    if (a && b && typeof a === "object" && typeof b === "object") {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
        const found = walk(x[k], y[k], `${path}.${k}`);
        if (found) return found;
      }
      return `${path}: key order ${Object.keys(x)} ≠ ${Object.keys(y)}`;
    }
    const show = (v: unknown) => v === undefined ? "absent" : JSON.stringify(v).slice(0, 200);
    return `${path}: REST ${show(a)} ≠ gRPC ${show(b)}`;
  };
  return walk(JSON.parse(rest), JSON.parse(grpc), "$") ??
    `same JSON values, different bytes: REST ${rest.slice(0, 300)} ≠ gRPC ${grpc.slice(0, 300)}`;
}

/** Both backups hold the same lines, and the data files are byte-identical. */
export async function assertSameBackups(grpc: Backup, overRest: Backup) {
  const g = await lines(grpc);
  const r = await lines(overRest);
  assert.deepEqual([...g.keys()].sort(), [...r.keys()].sort(), "the same objects");
  const differ = [...r].filter(([k, line]) => g.get(k) !== line)
    .map(([k, line]) => `${k}: ${firstDifference(line, g.get(k)!)}`);
  assert.deepEqual(differ, [], `gRPC and REST backups differ:\n${differ.join("\n")}`);
  const files = (b: Backup) =>
    b.manifest.files.map((f) => [f.path, f.objects, f.sha256]).sort((x, y) =>
      String(x[0]) < String(y[0]) ? -1 : 1
    );
  assert.deepEqual(files(grpc), files(overRest), "data files identical byte for byte");
}
