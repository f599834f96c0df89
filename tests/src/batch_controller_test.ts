import assert from "node:assert/strict";
import { BatchController, type BatchControllerOptions } from "../../src/batch_controller.ts";

// ---------------------------------------------------------------------------
// Simulated server, virtual time. A CPU-bound server (HNSW indexing) shares its
// capacity among the requests it holds, so throughput plateaus once it is busy
// and more load only adds latency; each request also costs fixed server work
// and client/network time. Requests fail as overload when they pass the client
// timeout or when the server refuses load past `maxObjectsInFlight` (503).
// ---------------------------------------------------------------------------

interface Server {
  /** Objects per second the server indexes when busy, at speed 1. */
  capacity: number;
  /** Server work per request, in ms at speed 1. */
  overheadMs: number;
  /** Client and wire time per request; uses no server capacity. */
  networkMs: number;
  /** The client gives up (overload) after this long. */
  timeoutMs: number;
  /** Objects being processed past which a new request is refused at once. */
  maxObjectsInFlight?: number;
  /** Requests served without contention; each one more costs `contention` of capacity. */
  cores?: number;
  contention?: number;
  /** Work of a request varies by up to this share either way. */
  noise?: number;
}

interface Done {
  end: number;
  objects: number;
  latencyMs: number;
  overloaded: boolean;
}

interface Request {
  objects: number;
  start: number;
  deadline: number;
  work: number;
  refused: boolean;
  returnsAt: number;
}

interface Run {
  done: Done[];
  /** Objects written per second between `from` and `to` (ms). */
  throughput(from?: number, to?: number): number;
  /** Share of requests that failed as overload between `from` and `to` (ms). */
  overloadRate(from?: number, to?: number): number;
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Drives `make(now)`'s controller like the batching driver does (an endless
 * source, every free slot filled at once) against `server` for `durationMs`.
 * `slowdowns` maps a time to the server's speed from then on (1 = as given).
 */
function simulate(
  make: (now: () => number) => BatchController,
  server: Server,
  durationMs: number,
  options: { seed?: number; slowdowns?: [at: number, speed: number][] } = {},
  onRecord: (controller: BatchController) => void = () => {},
): Run {
  let now = 0;
  const controller = make(() => now);
  const random = prng(options.seed ?? 1);
  const slowdowns = options.slowdowns ?? [];
  const speedAt = (t: number) =>
    slowdowns.reduce((speed, [at, value]) => (at <= t ? value : speed), 1);
  const processing: Request[] = [];
  const returning: Request[] = [];
  const done: Done[] = [];
  let inFlight = 0;

  const finish = (request: Request, overloaded: boolean) => {
    inFlight--;
    const latencyMs = now - request.start;
    done.push({ end: now, objects: request.objects, latencyMs, overloaded });
    controller.record({ objects: request.objects, latencyMs, overloaded });
    onRecord(controller);
  };
  const send = () => {
    const objects = controller.size;
    inFlight++;
    const held = processing.reduce((sum, r) => sum + r.objects, 0);
    const refused = held + objects > (server.maxObjectsInFlight ?? Infinity);
    const noise = 1 + (server.noise ?? 0.2) * (random() * 2 - 1);
    const work = (server.overheadMs + (objects * 1000) / server.capacity) * noise;
    const request = {
      objects,
      start: now,
      deadline: now + server.timeoutMs,
      work,
      refused,
      returnsAt: refused ? now + server.networkMs : Infinity,
    };
    (refused ? returning : processing).push(request);
  };
  // Work done per ms of each of `n` requests held at once.
  const rate = (n: number) => {
    const extra = Math.max(0, n - (server.cores ?? 2));
    return speedAt(now) / (1 + (server.contention ?? 0) * extra) / n;
  };

  while (now < durationMs) {
    while (inFlight < controller.concurrency) send();
    const perRequest = rate(processing.length);
    const events = [
      durationMs,
      ...slowdowns.map(([at]) => at).filter((at) => at > now),
      ...processing.map((r) => Math.min(r.deadline, now + r.work / perRequest)),
      ...returning.map((r) => Math.min(r.deadline, r.returnsAt)),
    ];
    const next = Math.min(...events);
    for (const r of processing) r.work -= (next - now) * perRequest;
    now = next;
    for (const r of [...processing]) {
      if (r.work > 1e-9 && r.deadline > now) continue;
      processing.splice(processing.indexOf(r), 1);
      if (r.deadline <= now) finish(r, true); // the server drops what the client gave up on
      else returning.push({ ...r, returnsAt: now + server.networkMs });
    }
    for (const r of [...returning]) {
      if (r.returnsAt > now && r.deadline > now) continue;
      returning.splice(returning.indexOf(r), 1);
      finish(r, r.refused || r.deadline <= now);
    }
  }

  const between = (from: number, to: number) =>
    done.filter((d) => d.end > from && d.end <= to);
  return {
    done,
    throughput(from = 0, to = durationMs) {
      const written = between(from, to).filter((d) => !d.overloaded);
      return written.reduce((sum, d) => sum + d.objects, 0) / ((to - from) / 1000);
    },
    overloadRate(from = 0, to = durationMs) {
      const all = between(from, to);
      return all.filter((d) => d.overloaded).length / Math.max(1, all.length);
    },
  };
}

const SIZES = [25, 50, 100, 200, 400, 800, 1600, 2000];
const CONCURRENCIES = [1, 2, 3, 4, 6, 8, 12, 16];

/** Best throughput (objects/s) of a sweep of fixed size × concurrency. */
function bestFixed(
  server: Server,
  durationMs: number,
  options: { seed?: number; slowdowns?: [number, number][] } = {},
): { throughput: number; size: number; concurrency: number } {
  let best = { throughput: 0, size: 0, concurrency: 0 };
  for (const size of SIZES) {
    for (const concurrency of CONCURRENCIES) {
      const run = simulate((now) => fixed(size, concurrency, now), server, durationMs, options);
      const throughput = run.throughput();
      if (throughput > best.throughput) best = { throughput, size, concurrency };
    }
  }
  return best;
}

function fixed(size: number, concurrency: number, now: () => number): BatchController {
  return new BatchController({
    adaptive: false,
    initialSize: size,
    maxSize: size,
    initialConcurrency: concurrency,
    maxConcurrency: concurrency,
    now,
  });
}

/** Starting point and limits of the batching driver's `batch: auto`. */
function auto(now: () => number, overrides: Partial<BatchControllerOptions> = {}) {
  return new BatchController({
    adaptive: true,
    initialSize: 100,
    maxSize: 2000,
    initialConcurrency: 2,
    maxConcurrency: 16,
    now,
    ...overrides,
  });
}

/** 768-dim vectors on a 2-core machine: indexing dominates. */
const DIM_768: Server = {
  capacity: 1500,
  overheadMs: 8,
  networkMs: 15,
  timeoutMs: 30_000,
  cores: 2,
  contention: 0.05,
};
/** 32-dim vectors: cheap indexing, so per-request costs matter more. */
const DIM_32: Server = {
  capacity: 25_000,
  overheadMs: 4,
  networkMs: 6,
  timeoutMs: 30_000,
  cores: 2,
  contention: 0.05,
};

// ---------------------------------------------------------------------------

for (const [name, server] of [["768-dim", DIM_768], ["32-dim", DIM_32]] as const) {
  Deno.test(`BatchController reaches 90% of the best fixed setting from a small start (${name})`, () => {
    const best = bestFixed(server, 60_000);
    const run = simulate((now) => auto(now, { initialSize: 10, initialConcurrency: 1 }), server, 120_000);
    const ratio = run.throughput() / best.throughput;
    assert.ok(
      ratio >= 0.9,
      `adaptive ${run.throughput().toFixed(0)}/s is ${(ratio * 100).toFixed(1)}% of fixed ` +
        `${best.size}×${best.concurrency} at ${best.throughput.toFixed(0)}/s`,
    );
    assert.equal(run.overloadRate(), 0);
  });
}

Deno.test("BatchController backs off under refusals past a load threshold and stays below it", () => {
  const server: Server = { ...DIM_768, maxObjectsInFlight: 1200 };
  let controller: BatchController | undefined;
  const run = simulate((now) => (controller = auto(now, { initialConcurrency: 8 })), server, 300_000);
  const best = bestFixed(server, 60_000);
  const stats = controller!.stats();
  assert.ok(stats.decreases >= 1, "expected at least one back-off");
  assert.ok(run.overloadRate(0, 300_000) > 0, "expected the threshold to be met at least once");
  assert.ok(run.overloadRate(60_000) < 0.03, `overload rate ${run.overloadRate(60_000)}`);
  const ratio = run.throughput() / best.throughput;
  assert.ok(ratio >= 0.85, `${(ratio * 100).toFixed(1)}% of the best fixed setting`);
});

Deno.test("BatchController adapts when the server becomes 4× slower mid-run", () => {
  const server: Server = { ...DIM_768, timeoutMs: 5000 };
  const slowdowns: [number, number][] = [[150_000, 0.25]];
  let controller: BatchController | undefined;
  const run = simulate((now) => (controller = auto(now)), server, 450_000, { slowdowns });
  const slow = bestFixed(server, 60_000, { slowdowns: [[0, 0.25]] });
  const fast = bestFixed(server, 60_000);
  assert.ok(run.throughput(60_000, 150_000) >= 0.9 * fast.throughput, "fast phase");
  assert.ok(run.overloadRate(300_000) < 0.02, `late overload rate ${run.overloadRate(300_000)}`);
  const ratio = run.throughput(300_000, 450_000) / slow.throughput;
  assert.ok(ratio >= 0.85, `${(ratio * 100).toFixed(1)}% of the slow server's best fixed setting`);
  const late = run.done.filter((d) => d.end > 300_000);
  assert.ok(late.every((d) => d.latencyMs < server.timeoutMs));
  assert.ok(controller!.stats().decreases >= 1);
});
