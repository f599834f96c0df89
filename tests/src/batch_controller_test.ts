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

interface SimulationOptions {
  seed?: number;
  /** From each time on, the server runs at that speed (1 = as described). */
  slowdowns?: [at: number, speed: number][];
  /** Objects per second the source supplies; default endless. */
  sourceRate?: number;
}

/**
 * Drives `make(now)`'s controller like the batching driver does (a batch goes
 * out as soon as a slot is free and the source has filled it) against `server`
 * for `durationMs` of virtual time, calling `onRecord` after each sample.
 */
function simulate(
  make: (now: () => number) => BatchController,
  server: Server,
  durationMs: number,
  options: SimulationOptions = {},
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
  const sourceRate = options.sourceRate ?? Infinity;
  let available = sourceRate === Infinity ? Infinity : 0;

  const finish = (request: Request, overloaded: boolean) => {
    inFlight--;
    const latencyMs = now - request.start;
    done.push({ end: now, objects: request.objects, latencyMs, overloaded });
    controller.record({ objects: request.objects, latencyMs, overloaded });
    onRecord(controller);
  };
  const send = () => {
    const objects = controller.size;
    available -= objects;
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
    // Rounding must not leave an event a hair after `now` forever.
    while (inFlight < controller.concurrency && available + 1e-6 >= controller.size) send();
    const perRequest = rate(processing.length);
    const missing = controller.size - available;
    const events = [
      durationMs,
      inFlight < controller.concurrency && missing > 1e-6
        ? now + (missing * 1000) / sourceRate
        : Infinity,
      ...slowdowns.map(([at]) => at).filter((at) => at > now),
      ...processing.map((r) => Math.min(r.deadline, now + r.work / perRequest)),
      ...returning.map((r) => Math.min(r.deadline, r.returnsAt)),
    ];
    const next = Math.min(...events);
    for (const r of processing) r.work -= (next - now) * perRequest;
    if (available < Infinity) available += ((next - now) * sourceRate) / 1000;
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

  const between = (from: number, to: number) => done.filter((d) => d.end > from && d.end <= to);
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
const CONCURRENCIES = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64];

/** Best throughput (objects/s) of a sweep of fixed size × concurrency within limits. */
function bestFixed(
  server: Server,
  durationMs: number,
  options: SimulationOptions = {},
  limits = { maxSize: 2000, maxConcurrency: 16 },
): { throughput: number; size: number; concurrency: number } {
  let best = { throughput: 0, size: 0, concurrency: 0 };
  for (const size of [...SIZES.filter((s) => s < limits.maxSize), limits.maxSize]) {
    for (const concurrency of CONCURRENCIES.filter((c) => c <= limits.maxConcurrency)) {
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
/** A remote server behind 200 ms of round trip: concurrency, not size, is the lever. */
const REMOTE: Server = {
  capacity: 50_000,
  overheadMs: 1,
  networkMs: 200,
  timeoutMs: 30_000,
  cores: 2,
  contention: 0,
};

// ---------------------------------------------------------------------------

const PROFILES: [string, Server, { maxSize: number; maxConcurrency: number }][] = [
  ["768-dim", DIM_768, { maxSize: 2000, maxConcurrency: 16 }],
  ["32-dim", DIM_32, { maxSize: 2000, maxConcurrency: 16 }],
  ["remote, batches capped at 500", REMOTE, { maxSize: 500, maxConcurrency: 64 }],
];

for (const [name, server, limits] of PROFILES) {
  Deno.test(`BatchController reaches 90% of the best fixed setting from a small start (${name})`, () => {
    const best = bestFixed(server, 60_000, {}, limits);
    const start = { initialSize: 10, initialConcurrency: 1, ...limits };
    const run = simulate((now) => auto(now, start), server, 120_000);
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
  const run = simulate(
    (now) => (controller = auto(now, { initialConcurrency: 8 })),
    server,
    300_000,
  );
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
  // Best fixed settings, found by sweeps on the fast and on the slow server alone.
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

Deno.test("BatchController brings latency back under target when the server slows without failing", () => {
  const server: Server = { ...DIM_768, contention: 0, timeoutMs: 60_000 };
  const run = simulate((now) => auto(now), server, 400_000, { slowdowns: [[100_000, 0.25]] });
  const late = run.done.filter((d) => d.end > 250_000);
  const mean = late.reduce((sum, d) => sum + d.latencyMs, 0) / late.length;
  assert.ok(mean <= 2000 * 1.1, `mean latency ${mean.toFixed(0)} ms after the slowdown`);
  assert.equal(run.overloadRate(), 0);
  assert.ok(run.throughput(250_000) >= 0.9 * 1500 / 4, `${run.throughput(250_000)}/s`);
});

Deno.test("BatchController does not raise a concurrency the source leaves unused", () => {
  let controller: BatchController | undefined;
  const run = simulate((now) => (controller = auto(now)), DIM_768, 300_000, { sourceRate: 300 });
  const stats = controller!.stats();
  assert.ok(stats.maxConcurrencySeen <= 4, `concurrency rose to ${stats.maxConcurrencySeen}`);
  assert.ok(run.throughput(60_000) >= 0.95 * 300, `${run.throughput(60_000)}/s of 300/s`);
});

Deno.test("BatchController grows batches only while latency stays under its target", () => {
  let controller: BatchController | undefined;
  const server: Server = { ...DIM_768, contention: 0 };
  const run = simulate(
    (now) => (controller = auto(now, { targetLatencyMs: 400 })),
    server,
    120_000,
  );
  const late = run.done.filter((d) => d.end > 60_000).map((d) => d.latencyMs);
  const mean = late.reduce((sum, l) => sum + l, 0) / late.length;
  assert.ok(mean <= 400 * 1.1, `mean latency ${mean.toFixed(0)} ms`);
  assert.ok(controller!.stats().maxSizeSeen < 2000);
  // Still close to what the same latency allows: about 1,500 objects/s.
  assert.ok(run.throughput(60_000) >= 0.9 * 1500, `${run.throughput(60_000)}/s`);
});

Deno.test("BatchController never leaves its limits, whatever the server does", () => {
  const random = prng(42);
  for (let trial = 0; trial < 25; trial++) {
    const minSize = 1 + Math.floor(random() * 50);
    const maxSize = minSize + Math.floor(random() * 3000);
    const minConcurrency = 1 + Math.floor(random() * 3);
    const maxConcurrency = minConcurrency + Math.floor(random() * 20);
    const server: Server = {
      capacity: 20 + random() * 30_000,
      overheadMs: random() * 20,
      networkMs: random() * 100,
      timeoutMs: 200 + random() * 5000,
      contention: random() * 0.2,
      noise: random() * 0.5,
      ...(random() < 0.5 ? { maxObjectsInFlight: 10 + random() * 5000 } : {}),
    };
    const options: BatchControllerOptions = {
      adaptive: true,
      // Out of range on purpose: the controller clamps it.
      initialSize: random() < 0.5 ? 1 : maxSize * 2,
      minSize,
      maxSize,
      initialConcurrency: random() < 0.5 ? 1 : maxConcurrency + 5,
      minConcurrency,
      maxConcurrency,
      targetLatencyMs: 100 + random() * 3000,
    };
    let checks = 0;
    const check = (c: BatchController) => {
      checks++;
      const { size, concurrency } = c;
      assert.ok(Number.isInteger(size) && size >= minSize && size <= maxSize, `size ${size}`);
      assert.ok(
        Number.isInteger(concurrency) && concurrency >= minConcurrency &&
          concurrency <= maxConcurrency,
        `concurrency ${concurrency}`,
      );
    };
    const slowdowns: [number, number][] = [[20_000, 0.05 + random()], [40_000, 1]];
    simulate(
      (now) => {
        const controller = new BatchController({ ...options, now });
        check(controller);
        return controller;
      },
      server,
      60_000,
      { seed: trial, slowdowns },
      check,
    );
    assert.ok(checks > 10, `trial ${trial} ran ${checks} requests`);
  }
});

Deno.test("BatchController backs off to its floors under constant overload, not below", () => {
  let now = 0;
  const controller = new BatchController({
    adaptive: true,
    initialSize: 500,
    minSize: 5,
    maxSize: 1000,
    initialConcurrency: 16,
    maxConcurrency: 16,
    now: () => now,
  });
  for (let i = 0; i < 200; i++) {
    now += 10;
    controller.record({ objects: controller.size, latencyMs: 10, overloaded: true });
    assert.ok(controller.concurrency >= 1 && controller.size >= 5);
  }
  assert.equal(controller.concurrency, 1);
  assert.equal(controller.size, 5);
});

Deno.test("BatchController decreases once per congestion event, not once per failed request", () => {
  let now = 0;
  const controller = new BatchController({
    adaptive: true,
    initialSize: 100,
    maxSize: 1000,
    initialConcurrency: 8,
    maxConcurrency: 16,
    now: () => now,
  });
  // Eight requests issued together at 0 all time out at 100.
  now = 100;
  for (let i = 0; i < 8; i++) controller.record({ objects: 100, latencyMs: 100, overloaded: true });
  assert.equal(controller.concurrency, 4);
  assert.equal(controller.size, 100);
  assert.equal(controller.stats().decreases, 1);
  // A request issued after that back-off and still refused is a new event.
  now = 150;
  controller.record({ objects: 100, latencyMs: 50, overloaded: true });
  assert.equal(controller.concurrency, 2);
  assert.equal(controller.stats().decreases, 2);
});

Deno.test("BatchController with adaptive: false keeps its fixed setting whatever happens", () => {
  let controller: BatchController | undefined;
  const server: Server = { ...DIM_768, timeoutMs: 500, maxObjectsInFlight: 300 };
  const run = simulate(
    (now) => (controller = fixed(250, 3, now)),
    server,
    60_000,
    { slowdowns: [[30_000, 0.1]] },
    (c) => assert.deepEqual([c.size, c.concurrency], [250, 3]),
  );
  assert.ok(run.overloadRate() > 0.1, "the server should have refused requests");
  const stats = controller!.stats();
  assert.equal(stats.increases, 0);
  assert.equal(stats.decreases, 0);
  assert.equal(stats.requests, run.done.length);
  assert.deepEqual([stats.maxSizeSeen, stats.maxConcurrencySeen], [250, 3]);
});

Deno.test("BatchController.stats() reports latency percentiles of recent requests only", () => {
  const controller = fixed(10, 1, () => 0);
  for (let i = 0; i < 2000; i++) {
    controller.record({ objects: 10, latencyMs: 5000, overloaded: false });
  }
  for (let i = 1; i <= 512; i++) {
    controller.record({ objects: 10, latencyMs: i, overloaded: false });
  }
  const stats = controller.stats();
  assert.equal(stats.requests, 2512);
  assert.equal(stats.latencyP50Ms, 257);
  assert.equal(stats.latencyP95Ms, 487);
});

Deno.test("BatchController rejects limits that cannot hold and clamps its start", () => {
  const base = {
    adaptive: true,
    initialSize: 100,
    maxSize: 1000,
    initialConcurrency: 2,
    maxConcurrency: 8,
  };
  assert.throws(() => new BatchController({ ...base, minSize: 2000 }), RangeError);
  assert.throws(() => new BatchController({ ...base, maxConcurrency: 0 }), RangeError);
  assert.throws(() => new BatchController({ ...base, initialSize: 1.5 }), RangeError);
  assert.throws(() => new BatchController({ ...base, targetLatencyMs: 0 }), RangeError);
  const controller = new BatchController({ ...base, initialSize: 5000, initialConcurrency: 20 });
  assert.deepEqual([controller.size, controller.concurrency], [1000, 8]);
  assert.throws(
    () => controller.record({ objects: -1, latencyMs: 5, overloaded: false }),
    RangeError,
  );
});
