/**
 * Backup with the REST listing vs the gRPC listing (flag `grpc-reader`), each
 * a separate `weft run` process timed by `/usr/bin/time`: wall time, client
 * CPU (user + system) and peak memory, and the server's CPU (from /proc, when
 * `ss` names the process listening on its port), rounds interleaved, medians
 * reported.
 *
 *   deno run --allow-all bench/grpc_reader_bench.ts
 *   BENCH_OBJECTS=10000 BENCH_DIMS=768 BENCH_ROUNDS=3 deno run --allow-all bench/grpc_reader_bench.ts
 * @module
 */
import { articleRows, createArticles, DIMS, insertArticles, OBJECTS } from "./_articles.ts";
import { connectClient, useWeaviate } from "../tests/harness/weaviate.ts";

const COLLECTION = `BenchGrpcReader${DIMS}`;
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const ROOT = new URL("../", import.meta.url).pathname;

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());
const client = await connectClient(server);
const loaded = await client.collections.exists(COLLECTION) &&
  (await client.collections.use(COLLECTION).aggregate.overAll()).totalCount === OBJECTS;
if (!loaded) {
  await createArticles(client, COLLECTION, true);
  await insertArticles(client, COLLECTION, articleRows(OBJECTS, DIMS));
}
await client.close();
console.error(`bench: ${OBJECTS} objects × ${DIMS} dims in ${COLLECTION}`);

interface Sample {
  wall: number;
  cpu: number;
  kb: number;
  /** Server CPU seconds during the run, when its process is known. */
  server?: number;
}

/** The process listening on the server's REST port, if `ss` can tell. */
async function serverPid(): Promise<number | undefined> {
  try {
    const port = new URL(server.url).port;
    const out = await new Deno.Command("ss", { args: ["-ltnpH", `sport = :${port}`] }).output();
    const pid = /pid=(\d+)/.exec(new TextDecoder().decode(out.stdout))?.[1];
    return pid ? Number(pid) : undefined;
  } catch {
    return undefined;
  }
}
const pid = await serverPid();

/** CPU seconds (user + system) process `pid` has used. */
async function cpuOf(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

const scratch = await Deno.makeTempDir({ prefix: "weft-bench-grpc-" });
addEventListener("unload", () => Deno.removeSync(scratch, { recursive: true }));

async function backup(flag: "on" | "off", round: number): Promise<Sample> {
  const path = `${scratch}/${flag}-${round}`;
  const serverBefore = await cpuOf(pid);
  const out = await new Deno.Command("/usr/bin/time", {
    args: [
      "-f",
      "TIME %e %U %S %M",
      Deno.execPath(),
      "run",
      "--allow-all",
      "main.ts",
      "run",
      "pipelines/backup.yaml",
      "--set",
      `source.with.collections=[${COLLECTION}]`,
    ],
    cwd: ROOT,
    env: {
      WEAVIATE_URL: server.url,
      WEAVIATE_GRPC_URL: server.grpcUrl,
      BACKUP_PATH: path,
      WEFT_FLAG_GRPC_READER: flag,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const serverAfter = await cpuOf(pid);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`backup (grpc-reader ${flag}) failed:\n${stderr}`);
  const [, wall, user, sys, kb] = /TIME (\S+) (\S+) (\S+) (\S+)/.exec(stderr)!;
  await Deno.remove(path, { recursive: true });
  return {
    wall: Number(wall),
    cpu: round2(Number(user) + Number(sys)),
    kb: Number(kb),
    ...(serverBefore === undefined ? {} : { server: round2(serverAfter! - serverBefore) }),
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const samples: Record<"on" | "off", Sample[]> = { on: [], off: [] };
await backup("on", -1); // warm-up: module cache, server caches
for (let round = 0; round < ROUNDS; round++) {
  for (const flag of round % 2 ? ["on", "off"] as const : ["off", "on"] as const) {
    const s = await backup(flag, round);
    samples[flag].push(s);
    console.error(`round ${round} ${flag === "on" ? "gRPC" : "REST"}: ${JSON.stringify(s)}`);
  }
}
for (const flag of ["off", "on"] as const) {
  const s = samples[flag];
  const server = pid === undefined
    ? ""
    : `, ${median(s.map((x) => x.server!)).toFixed(2)} s server CPU`;
  console.log(
    `${flag === "on" ? "gRPC" : "REST"} listing: ${
      median(s.map((x) => x.wall)).toFixed(2)
    } s wall, ${median(s.map((x) => x.cpu)).toFixed(2)} s client CPU, ${
      Math.round(median(s.map((x) => x.kb)) / 1024)
    } MiB peak${server} (median of ${ROUNDS})`,
  );
}
