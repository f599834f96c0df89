/**
 * Where weft's client CPU goes in a backup and a restore. Starts the harness
 * Weaviate, seeds articles, then runs `main.ts run pipelines/backup.yaml` and
 * `pipelines/restore.yaml` (into a new collection) as child processes under
 * `--cpu-prof` and `/usr/bin/time`, and prints for each: wall time, the
 * child's and the server's CPU, and from the V8 CPU profile the top functions
 * by self and inclusive time, a per-file and a per-area rollup.
 *
 *   deno run --allow-all bench/profile.ts
 *   BENCH_OBJECTS=20000 BENCH_DIMS=384 deno run --allow-all bench/profile.ts
 *   PROFILE_DIR=/tmp/weft-profile deno run --allow-all bench/profile.ts   # keeps the profiles
 *   deno run --allow-all bench/profile.ts --analyse /tmp/weft-profile    # reports on them again
 *   PROFILE_SET="flags.grpc-reader=off" deno run --allow-all bench/profile.ts
 *
 * Load a kept `.cpuprofile` in Chrome DevTools (Performance tab) for a flame chart.
 * @module
 */
import { join, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { articleRows, createArticles, insertArticles } from "./_articles.ts";
import { connectClient, useWeaviate, type WeaviateServer } from "../tests/harness/weaviate.ts";

const OBJECTS = Number(Deno.env.get("BENCH_OBJECTS") ?? 10_000);
const DIMS = Number(Deno.env.get("BENCH_DIMS") ?? 768);
/** Sampling interval of the profiler, in µs (V8's default is 1,000). */
const INTERVAL_US = Number(Deno.env.get("PROFILE_INTERVAL_US") ?? 250);
/** More `--set` values for both runs, space-separated (`PROFILE_SET`). */
const EXTRA_SETS = (Deno.env.get("PROFILE_SET") ?? "").split(/\s+/).filter(Boolean);
const TOP = 25;
const SOURCE = "ProfileArticles";
const RESTORED = "ProfileRestored";
const ROOT = fromFileUrl(new URL("..", import.meta.url));

// ---------------------------------------------------------------------------------------------
// The V8 profile format (`.cpuprofile`, as `--cpu-prof` writes it) and its analysis.

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  /** Samples by line of the script V8 ran: for TypeScript, the emitted JavaScript. */
  positionTicks?: { line: number; ticks: number }[];
}

/** Self and inclusive milliseconds by key, over every profile of one run. */
interface Tally {
  totalMs: number;
  self: Map<string, number>;
  inclusive: Map<string, number>;
  files: Map<string, number>;
  areas: Map<string, number>;
  /** Self time of weft's own code by emitted-JS line (`url#line`). */
  lines: Map<string, number>;
}

/**
 * The area a frame's own time belongs to, or `undefined` for runtime plumbing
 * (`ext:core`, Buffer, webidl, unnamed natives) that is counted in its
 * nearest caller's area instead: a Buffer allocation made by protobufjs is
 * protobuf time, a native write made by `node:http2` is http2 time.
 */
function frameArea(name: string, url: string): string | undefined {
  if (name === "(garbage collector)") return "GC";
  if (name === "(idle)") return "idle";
  if (name === "(program)" || name === "(root)") return "program (native, outside JS)";
  if (!url) {
    if (/^op_node_(hash|create_hash)|digest/i.test(name)) return "hashing (sha256, object hashes)";
    if (/^op_(fetch|http)/.test(name)) return "REST fetch / HTTP";
    if (/^op_(require|load_ext_script|import)/.test(name)) return "startup / module loading";
    if (/^op_(encoding|str_byte_length)/.test(name)) return "UTF-8 encode/decode";
    if (/^(JSON\.)?(parse|stringify)$|^Json(Parse|Stringify)/.test(name)) {
      return "JSON parse/stringify";
    }
    return undefined;
  }
  if (url.startsWith(`file://${ROOT}`)) {
    if (url.endsWith("/src/json.ts")) return "JSON parse/stringify";
    if (url.endsWith("/object_hash.ts")) return "hashing (sha256, object hashes)";
    if (url.endsWith("/grpc_batch.ts")) return "protobuf encode/decode";
    if (url.endsWith("/backup_format.ts") && /base64|Base64/.test(name)) return "base64";
    if (url.startsWith(`file://${ROOT}src/`)) return "weft core (src/)";
    if (url.startsWith(`file://${ROOT}plugins/`)) return "weft plugins (plugins/)";
    return "weft other";
  }
  if (url.includes("protobufjs")) return "protobuf encode/decode";
  // @js-sdsl/ordered-map is a grpc-js dependency.
  if (/@grpc\/grpc-js|@js-sdsl|http2/.test(url)) return "grpc-js / http2";
  if (url.includes("/zod/")) return "zod";
  if (url.includes("/npm/")) return "npm other";
  if (/crypto/.test(url)) return "hashing (sha256, object hashes)";
  if (/ext:deno_(fetch|http|net|tls)/.test(url)) return "REST fetch / HTTP";
  if (url.includes("ext:deno_web/06_streams")) return "web streams";
  if (/ext:deno_(fs|io)/.test(url)) return "file I/O";
  if (
    url.includes("08_text_encoding") || /ext:core\/01_core/.test(url) && /^(en|de)code$/.test(name)
  ) {
    return "UTF-8 encode/decode";
  }
  if (url === "node:module" || /^(loadExtScript|compileFunction|lazyLoad)$/.test(name)) {
    return "startup / module loading";
  }
  return undefined;
}

/** The area of a line of weft's code by the builtin it calls, if it calls a costly one. */
function lineArea(text: string): string | undefined {
  if (/JSON\.(parse|stringify)\(/.test(text)) return "JSON parse/stringify";
  if (/toBase64\(|fromBase64\(/.test(text)) return "base64";
  if (/Float32Array\.from\(/.test(text)) return "vectors: JS numbers → Float32Array";
  if (/indexOf\(NEWLINE/.test(text)) return "line splitting (indexOf)";
  return undefined;
}

/** A URL made short: repo-relative, `npm:pkg@version/…`, or as it is. */
function shortUrl(url: string): string {
  if (url.startsWith(`file://${ROOT}`)) return relative(ROOT, fromFileUrl(url));
  const npm = /\/npm\/[^/]+\/((?:@[^/]+\/)?[^/]+)\/([^/]+)\/(.*)$/.exec(url);
  if (npm) return `npm:${npm[1]}@${npm[2]}/${npm[3]}`;
  return url || "(native)";
}

function keyOf(frame: ProfileNode["callFrame"]): string {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  return `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function add(map: Map<string, number>, key: string, ms: number): void {
  map.set(key, (map.get(key) ?? 0) + ms);
}

/** Adds `profile` to `tally`: each sample weighs the time until the next one. */
function analyse(profile: CpuProfile, tally: Tally): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Keys on each node's stack, each once (recursion counts once towards inclusive time).
  const stacks = new Map<number, Set<string>>();
  const stackOf = (id: number): Set<string> => {
    const known = stacks.get(id);
    if (known) return known;
    const up = parent.get(id);
    const set = new Set(up === undefined ? [] : stackOf(up));
    set.add(keyOf(byId.get(id)!.callFrame));
    stacks.set(id, set);
    return set;
  };
  const areas = new Map<number, string>();
  const areaOf = (id: number): string => {
    const known = areas.get(id);
    if (known) return known;
    const { functionName, url } = byId.get(id)!.callFrame;
    const up = parent.get(id);
    const area = frameArea(functionName, url) ??
      (up === undefined ? "deno runtime other" : areaOf(up));
    areas.set(id, area);
    return area;
  };
  const { samples, timeDeltas } = profile;
  const fallback = (profile.endTime - profile.startTime) / Math.max(1, samples.length);
  const selfByNode = new Map<number, number>();
  for (let i = 0; i < samples.length; i++) {
    const ms = (timeDeltas[i + 1] ?? fallback) / 1000;
    const node = byId.get(samples[i]!)!;
    const { functionName, url } = node.callFrame;
    tally.totalMs += ms;
    add(tally.self, keyOf(node.callFrame), ms);
    add(tally.files, url ? shortUrl(url) : `(native) ${functionName}`, ms);
    const owned = url.startsWith(`file://${ROOT}`) && node.positionTicks?.length;
    if (!owned) add(tally.areas, areaOf(node.id), ms);
    selfByNode.set(node.id, (selfByNode.get(node.id) ?? 0) + ms);
    for (const key of stackOf(node.id)) add(tally.inclusive, key, ms);
  }
  // Self time of weft's code, shared out over its lines in proportion to their ticks; a line
  // calling a builtin (JSON.parse, toBase64) is counted in that builtin's area, since V8
  // counts a builtin's time in its caller.
  for (const [id, ms] of selfByNode) {
    const node = byId.get(id)!;
    const { url } = node.callFrame;
    if (!url.startsWith(`file://${ROOT}`) || !node.positionTicks?.length) continue;
    const ticks = node.positionTicks.reduce((n, p) => n + p.ticks, 0);
    for (const p of node.positionTicks) {
      const share = (ms * p.ticks) / ticks;
      add(tally.lines, `${url}#${p.line}`, share);
      add(tally.areas, lineArea(emittedText(url, p.line)) ?? areaOf(id), share);
    }
  }
}

async function readProfiles(dir: string): Promise<Tally> {
  const tally: Tally = {
    totalMs: 0,
    self: new Map(),
    inclusive: new Map(),
    files: new Map(),
    areas: new Map(),
    lines: new Map(),
  };
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".cpuprofile")) continue;
    analyse(JSON.parse(await Deno.readTextFile(join(dir, entry.name))) as CpuProfile, tally);
  }
  return tally;
}

// ---------------------------------------------------------------------------------------------
// Printing.

/** Keys that are not busy time: no share of it is printed for them. */
const NOT_BUSY = new Set(["(idle)", "(root)", "idle", "(native) (idle)"]);

function table(title: string, map: Map<string, number>, busyMs: number, rows = TOP): void {
  console.log(`\n${title}`);
  console.log(`${"ms".padStart(9)} ${"% busy".padStart(7)}  name`);
  const sorted = [...map].sort((a, b) => b[1] - a[1]).slice(0, rows);
  for (const [key, ms] of sorted) {
    const share = NOT_BUSY.has(key) ? "" : `${(100 * ms / busyMs).toFixed(1)}%`;
    console.log(`${ms.toFixed(0).padStart(9)} ${share.padStart(7)}  ${key}`);
  }
}

/** What `/usr/bin/time` said of the child, and the CPU seconds Weaviate spent meanwhile. */
interface Usage {
  wall: number;
  user: number;
  system: number;
  maxRssKiB: number;
  serverCpu?: number;
}

function report(label: string, usage: Usage, tally: Tally): void {
  const server = usage.serverCpu;
  const idle = tally.self.get("(idle)") ?? 0;
  const program = tally.self.get("(program)") ?? 0;
  const busy = tally.totalMs - idle;
  const cpu = usage.user + usage.system;
  console.log(`\n${"=".repeat(100)}\n${label}: ${OBJECTS} objects × ${DIMS} dims`);
  console.log(
    `wall ${usage.wall.toFixed(2)} s; client CPU ${
      cpu.toFixed(2)
    } s (user ${usage.user} s, sys ${usage.system} s, ${
      (100 * cpu / usage.wall).toFixed(0)
    }% of one core), max RSS ${(usage.maxRssKiB / 1024).toFixed(0)} MiB; ${
      (OBJECTS / usage.wall).toFixed(0)
    } objects/s` +
      (server === undefined ? "" : `; Weaviate CPU ${server.toFixed(2)} s`),
  );
  console.log(
    `profile (main JS thread): ${(tally.totalMs / 1000).toFixed(2)} s sampled, ${
      (busy / 1000).toFixed(2)
    } s busy (${(program / 1000).toFixed(2)} s of it in "(program)": native work outside JS), ${
      (idle / 1000).toFixed(2)
    } s idle; "% busy" is of the busy time`,
  );
  table(
    `${label}: areas (self time; plumbing counted in its caller's area)`,
    tally.areas,
    busy,
    30,
  );
  table(`${label}: top ${TOP} functions by self time`, tally.self, busy);
  table(`${label}: top ${TOP} functions by inclusive time`, tally.inclusive, busy);
  table(`${label}: top ${TOP} files by self time`, tally.files, busy);
  table(
    `${label}: top ${TOP} lines of weft's code by self time (line of the emitted JS, and its text)`,
    new Map([...tally.lines].map(([key, ms]) => [emittedLine(key), ms])),
    busy,
  );
}

/** Deno's cache of emitted JavaScript, where the profile's line numbers point. */
const GEN_DIR = await (async () => {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { typescriptCache?: string };
  return info.typescriptCache;
})();
const emitted = new Map<string, string[] | undefined>();

/** Line `line` of the JavaScript Deno emitted for `url`, when its cache still has it; or "". */
function emittedText(url: string, line: number): string {
  const path = fromFileUrl(url);
  if (!emitted.has(path)) {
    let text: string[] | undefined;
    try {
      text = GEN_DIR ? Deno.readTextFileSync(join(GEN_DIR, "file", `${path}.js`)).split("\n") : [];
    } catch {
      text = undefined;
    }
    emitted.set(path, text);
  }
  return emitted.get(path)?.[line - 1]?.trim() ?? "";
}

/** `file.ts:N  <text of line N of the emitted JS>` for a key of {@linkcode Tally.lines}. */
function emittedLine(key: string): string {
  const [url, line] = key.split("#") as [string, string];
  const text = emittedText(url, Number(line)).slice(0, 90);
  return `${relative(ROOT, fromFileUrl(url))}:${line}  ${text}`;
}

// ---------------------------------------------------------------------------------------------
// Running weft under the profiler.

/** The pid of the harness's Weaviate (found by its REST port), for its CPU time. */
async function serverPid(server: WeaviateServer): Promise<number | undefined> {
  const port = new URL(server.url).port;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const args = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).split("\0");
      if (args[0]?.endsWith("weaviate-server") && args.join(" ").includes(`--port ${port}`)) {
        return Number(entry.name);
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return undefined;
}

/** User + system CPU seconds of `pid` so far. */
async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function profileRun(
  label: string,
  pipeline: string,
  sets: string[],
  env: Record<string, string>,
  dir: string,
  pid: number | undefined,
): Promise<void> {
  const profiles = join(dir, "profiles", label);
  const timeFile = join(dir, `${label}.time`);
  const before = await cpuSeconds(pid);
  const out = await new Deno.Command("/usr/bin/time", {
    args: [
      "-f",
      "%e %U %S %M",
      "-o",
      timeFile,
      Deno.execPath(),
      "run",
      "--allow-all",
      "--cpu-prof",
      `--cpu-prof-dir=${profiles}`,
      `--cpu-prof-interval=${INTERVAL_US}`,
      "main.ts",
      "run",
      `pipelines/${pipeline}.yaml`,
      ...[...sets, ...EXTRA_SETS].flatMap((s) => ["--set", s]),
      "--set",
      "runtime.progressInterval=0",
      "--log-level",
      "warn",
    ],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const after = await cpuSeconds(pid);
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`Cannot profile ${label}: weft exited with ${out.code}:\n${text.slice(-4000)}`);
  }
  const [wall, user, system, rss] = (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1)!
    .split(" ").map(Number);
  const usage: Usage = {
    wall: wall!,
    user: user!,
    system: system!,
    maxRssKiB: rss!,
    ...(before === undefined || after === undefined ? {} : { serverCpu: after - before }),
  };
  await Deno.writeTextFile(join(dir, `${label}.usage.json`), JSON.stringify(usage));
  await reportRun(label, dir);
}

/** Prints the report of run `label` from what {@linkcode profileRun} left in `dir`. */
async function reportRun(label: string, dir: string): Promise<void> {
  const usage = JSON.parse(await Deno.readTextFile(join(dir, `${label}.usage.json`))) as Usage;
  report(label, usage, await readProfiles(join(dir, "profiles", label)));
}

// ---------------------------------------------------------------------------------------------

if (Deno.args[0] === "--analyse") {
  // Reports again on the profiles of an earlier run kept with PROFILE_DIR.
  const from = Deno.args[1];
  if (!from) throw new TypeError("Cannot analyse: usage: bench/profile.ts --analyse PROFILE_DIR");
  for (const label of ["backup", "restore"]) await reportRun(label, from);
  Deno.exit(0);
}

const kept = Deno.env.get("PROFILE_DIR");
const dir = kept ?? await Deno.makeTempDir({ prefix: "weft-profile-" });
await Deno.mkdir(dir, { recursive: true });
const server = await useWeaviate();
try {
  const client = await connectClient(server);
  const seedStart = performance.now();
  await createArticles(client, SOURCE, true);
  await insertArticles(client, SOURCE, articleRows(OBJECTS, DIMS));
  if (await client.collections.exists(RESTORED)) await client.collections.delete(RESTORED);
  console.error(
    `profile: seeded ${OBJECTS} × ${DIMS}-dim articles in ${
      ((performance.now() - seedStart) / 1000).toFixed(1)
    } s`,
  );
  const pid = await serverPid(server);
  const backupPath = join(dir, "backup-data");
  const env = {
    ...Deno.env.toObject(),
    WEAVIATE_URL: server.url,
    WEAVIATE_GRPC_URL: server.grpcUrl,
    BACKUP_PATH: backupPath,
  };
  await profileRun("backup", "backup", [`source.with.collections=[${SOURCE}]`], env, dir, pid);
  await profileRun("restore", "restore", [`sink.with.collection=${RESTORED}`], env, dir, pid);
  const restored = await client.collections.use(RESTORED).aggregate.overAll();
  if (restored.totalCount !== OBJECTS) {
    throw new Error(`Cannot trust the restore profile: ${restored.totalCount} objects restored`);
  }
  await client.collections.delete(RESTORED);
  await client.close();
  if (kept) console.log(`\nprofiles kept in ${dir}/profiles; report again with --analyse ${dir}`);
} finally {
  await server.stop();
  if (!kept) await Deno.remove(dir, { recursive: true });
}
