/**
 * Adaptive batch size and requests in flight for one write target: an AIMD
 * controller driven by measured throughput, latency and overload signals.
 *
 * Keep one controller per target server: state shared across unrelated
 * targets mixes their latencies (a trap vector's adaptive concurrency met).
 * @module
 */

/** Limits and starting point of a {@linkcode BatchController}. */
export interface BatchControllerOptions {
  /** `false` keeps the initial size and concurrency for the whole run. */
  adaptive: boolean;
  /** Objects per batch at start. */
  initialSize: number;
  /** Floor of the batch size. Default 1. */
  minSize?: number;
  /** Ceiling of the batch size (the sink's or the user's limit). */
  maxSize: number;
  /** Requests in flight at start. */
  initialConcurrency: number;
  /** Floor of the requests in flight. Default 1. */
  minConcurrency?: number;
  /** Ceiling of the requests in flight. */
  maxConcurrency: number;
  /** Mean request latency the controller will not grow past, in ms. Default 2,000. */
  targetLatencyMs?: number;
  /** Clock in ms; tests pass a virtual one. Default `performance.now`. */
  now?: () => number;
}

/** What one finished request reports to {@linkcode BatchController.record}. */
export interface BatchSample {
  /** Objects in the request. */
  objects: number;
  /** Time the request took, in ms. */
  latencyMs: number;
  /** The server signalled overload: timeout, 429/503, UNAVAILABLE/RESOURCE_EXHAUSTED, 5xx. */
  overloaded: boolean;
  /** Objects refused inside an OK reply (not an overload signal by itself). */
  failed?: number;
}

/** Counters of a {@linkcode BatchController}, for the run summary. */
export interface BatchControllerStats {
  size: number;
  concurrency: number;
  maxSizeSeen: number;
  maxConcurrencySeen: number;
  /** Times the size or the concurrency went up. */
  increases: number;
  /** Times the size or the concurrency went down (back-offs and reverted probes). */
  decreases: number;
  requests: number;
  /** Over the last 512 requests. */
  latencyP50Ms: number;
  /** Over the last 512 requests. */
  latencyP95Ms: number;
}

/** A probe: larger batches, more requests in flight, or fewer (to find the knee again). */
type Move = "size" | "concurrency" | "fewer";
const MOVES: readonly Move[] = ["size", "concurrency", "fewer"];
const INVERSE: Partial<Record<Move, Move>> = { concurrency: "fewer", fewer: "concurrency" };

interface Window {
  /** End of the window's first request; occupancy is measured from there. */
  anchor: number | undefined;
  /** Requests, objects, objects written and summed latency, the first request included. */
  count: number;
  objects: number;
  written: number;
  latency: number;
  /** Summed latency of the requests after the first. */
  busy: number;
}

/**
 * Throughput ratio a probe must show to be kept, given its load ratio (new
 * size × concurrency over old). Larger batches only amortise per-request cost
 * on a CPU-bound server, so they stay unless throughput drops by more than
 * noise; the latency target bounds them. A change of concurrency stays when
 * throughput's elasticity to load is at least a small share: one rule both
 * ways, so "more" and "fewer" do not undo each other.
 */
const ELASTICITY = 0.05;
const REQUIRED_RATIO: Record<Move, (load: number) => number> = {
  size: () => 0.97,
  concurrency: (load) => load ** ELASTICITY,
  fewer: (load) => load ** ELASTICITY,
};
/** Requests per measuring window (and at least two rounds of the concurrency). */
const MIN_WINDOW = 8;
/** Multiplier on a timeout or refusal: leave the congested region fast. */
const OVERLOAD_CUT = 0.5;
/** Multiplier when latency passes the target or doubles at a steady setting. */
const LATENCY_CUT = 0.75;
/** Latency at an unchanged setting this many times its baseline means the server slowed. */
const LATENCY_RISE = 2;
/** Windows a failed probe waits before it is tried again; doubles while probes keep failing. */
const MAX_COOLDOWN = 32;
/** Windows probes stay below the load that last failed; doubles while failures repeat. */
const MIN_FAILURE_HOLD = 16;
const MAX_FAILURE_HOLD = 128;
const LATENCY_SAMPLES = 512;
const CANNOT = "Cannot create batch controller";
/** Clock noise between the caller's latency and our `now()`. */
const EPSILON_MS = 1e-3;

/**
 * Chooses the size of the next batch and how many requests may be in flight.
 *
 * Each setting is measured over a window of at least 8 requests and two
 * rounds of the concurrency, counted only once every request issued under an
 * older setting has finished. Growth is a probe of one dimension at a time:
 * the size grows by up to ×2 while latency is far below its target, by +25%
 * near it; the concurrency doubles until a probe fails, then moves by ±1. A
 * probe is kept when throughput pays for it (see `REQUIRED_RATIO`) and
 * latency stays under target, otherwise it is reverted and cools down.
 * Overload (a timeout, a refusal) halves the concurrency, or the size once
 * the concurrency is at its floor, and holds growth below that load for a
 * while; latency over the target, or doubled at an unchanged setting, cuts by
 * a quarter. Samples of requests issued before a change are ignored, so one
 * congestion event causes one decrease however many requests it fails. Keep
 * one controller per target server.
 *
 * @example
 * ```ts
 * import { BatchController } from "./batch_controller.ts";
 * let now = 0;
 * const controller = new BatchController({
 *   adaptive: true, initialSize: 100, maxSize: 1000,
 *   initialConcurrency: 4, maxConcurrency: 8, now: () => now,
 * });
 * now = 50;
 * controller.record({ objects: 100, latencyMs: 50, overloaded: true });
 * if (controller.concurrency !== 2) throw new Error("expected the concurrency to halve");
 * ```
 */
export class BatchController {
  readonly #adaptive: boolean;
  readonly #minSize: number;
  readonly #maxSize: number;
  readonly #minConcurrency: number;
  readonly #maxConcurrency: number;
  readonly #targetLatency: number;
  readonly #now: () => number;

  #size: number;
  #concurrency: number;
  #changedAt: number;
  /** From then on the server holds only requests issued under the current setting. */
  #cleanFrom: number;
  #window: Window = emptyWindow(undefined);
  #windows = 0;
  /** Throughput (objects/ms) and latency of the current setting, once measured. */
  #baseline: { throughput: number; latency: number } | undefined;
  #probe: { move: Move; size: number; concurrency: number } | undefined;
  #lastMove: Move = "fewer";
  /** Concurrency doubles until a probe fails or the server signals overload. */
  #slowStart = true;
  #cooldown: Record<Move, number> = { size: 0, concurrency: 0, fewer: 0 };
  #nextCooldown: Record<Move, number> = { size: 1, concurrency: 1, fewer: 1 };
  #failedLoad = Infinity;
  #failedUntil = 0;
  #failureHold = MIN_FAILURE_HOLD;
  #lastFailure = -Infinity;

  #maxSizeSeen: number;
  #maxConcurrencySeen: number;
  #increases = 0;
  #decreases = 0;
  #requests = 0;
  readonly #latencies: number[] = [];

  constructor(options: BatchControllerOptions) {
    const minSize = options.minSize ?? 1;
    const minConcurrency = options.minConcurrency ?? 1;
    const { maxSize, initialSize, maxConcurrency, initialConcurrency } = options;
    const integers = {
      minSize,
      maxSize,
      initialSize,
      minConcurrency,
      maxConcurrency,
      initialConcurrency,
    };
    for (const [name, value] of Object.entries(integers)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`${CANNOT}: ${name} must be a positive integer, got ${value}`);
      }
    }
    if (minSize > maxSize || minConcurrency > maxConcurrency) {
      throw new RangeError(
        `${CANNOT}: the floors (${minSize}, ${minConcurrency}) exceed the ceilings (${maxSize}, ${maxConcurrency})`,
      );
    }
    const target = options.targetLatencyMs ?? 2000;
    if (!(target > 0)) {
      throw new RangeError(`${CANNOT}: targetLatencyMs must be positive, got ${target}`);
    }
    this.#adaptive = options.adaptive;
    this.#minSize = minSize;
    this.#maxSize = options.maxSize;
    this.#minConcurrency = minConcurrency;
    this.#maxConcurrency = options.maxConcurrency;
    this.#targetLatency = target;
    this.#now = options.now ?? (() => performance.now());
    this.#size = clamp(options.initialSize, minSize, options.maxSize);
    this.#concurrency = clamp(options.initialConcurrency, minConcurrency, options.maxConcurrency);
    this.#maxSizeSeen = this.#size;
    this.#maxConcurrencySeen = this.#concurrency;
    this.#changedAt = this.#now();
    this.#cleanFrom = this.#changedAt;
  }

  /** Objects for the next batch. */
  get size(): number {
    return this.#size;
  }

  /** Requests allowed in flight. */
  get concurrency(): number {
    return this.#concurrency;
  }

  /** Reports a finished request; call it for every request, in completion order. */
  record(sample: BatchSample): void {
    if (!(sample.objects >= 0) || !(sample.latencyMs >= 0)) {
      throw new RangeError(
        `Cannot record batch sample: objects and latencyMs must be non-negative, got ${sample.objects} and ${sample.latencyMs}`,
      );
    }
    this.#latencies[this.#requests++ % LATENCY_SAMPLES] = sample.latencyMs;
    if (!this.#adaptive) return;
    const end = this.#now();
    const start = end - sample.latencyMs;
    if (start < this.#changedAt - EPSILON_MS) {
      // Issued under an older setting: the change it would call for is made already. Until
      // it ended it shared the server with current requests, so no window counts that time.
      if (end > this.#cleanFrom) this.#cleanFrom = end;
      if (this.#window.anchor !== undefined) this.#window = emptyWindow(undefined);
      return;
    }
    if (sample.overloaded) return this.#backOff(OVERLOAD_CUT, true);
    const window = this.#window;
    if (window.anchor === undefined) {
      if (start < this.#cleanFrom - EPSILON_MS) return;
      window.anchor = end;
    } else {
      window.busy += sample.latencyMs;
    }
    window.count++;
    window.objects += sample.objects;
    window.written += Math.max(0, sample.objects - (sample.failed ?? 0));
    window.latency += sample.latencyMs;
    const short = window.count <= Math.max(MIN_WINDOW, 2 * this.#concurrency);
    if (short || end <= window.anchor || window.latency <= 0) return;
    this.#evaluate(end);
  }

  /** Current setting, extremes and latency percentiles. */
  stats(): BatchControllerStats {
    const sorted = this.#latencies.toSorted((a, b) => a - b);
    return {
      size: this.#size,
      concurrency: this.#concurrency,
      maxSizeSeen: this.#maxSizeSeen,
      maxConcurrencySeen: this.#maxConcurrencySeen,
      increases: this.#increases,
      decreases: this.#decreases,
      requests: this.#requests,
      latencyP50Ms: percentile(sorted, 0.5),
      latencyP95Ms: percentile(sorted, 0.95),
    };
  }

  #evaluate(end: number): void {
    const window = this.#window;
    // Little's law with every slot busy: completions bunch up in time, so objects over
    // elapsed time swings with where the window starts; latency sums do not.
    const throughput = (this.#concurrency * window.written) / window.latency;
    const latency = window.latency / window.count;
    // Little's law again, to tell whether the slots are busy (an idle source leaves them free).
    const inFlight = window.busy / (end - window.anchor!);
    const fill = window.objects / window.count / this.#size;
    this.#window = emptyWindow(end);
    this.#windows++;
    for (const move of MOVES) {
      if (this.#cooldown[move] > 0) this.#cooldown[move]--;
    }

    const probe = this.#probe;
    const baseline = this.#baseline;
    this.#probe = undefined;
    if (probe && baseline) {
      const ratio = (this.#size * this.#concurrency) / (probe.size * probe.concurrency);
      const paid = throughput >= baseline.throughput * REQUIRED_RATIO[probe.move](ratio);
      const move = probe.move;
      // Past the target, fewer requests in flight are kept whatever they cost.
      const overTarget = latency > this.#targetLatency;
      if (move === "fewer" ? !paid && !overTarget : !paid || overTarget) {
        if (move === "concurrency") this.#slowStart = false;
        this.#cooldown[move] = this.#nextCooldown[move];
        this.#nextCooldown[move] = Math.min(MAX_COOLDOWN, this.#nextCooldown[move] * 2);
        return this.#set(probe.size, probe.concurrency);
      }
      this.#nextCooldown[move] = 1;
      // Do not undo at once what was just measured to pay.
      const inverse = INVERSE[move];
      if (inverse) this.#cooldown[inverse] = Math.max(this.#cooldown[inverse], 4);
      this.#baseline = { throughput, latency };
    } else if (baseline) {
      if (latency > this.#targetLatency || latency > LATENCY_RISE * baseline.latency) {
        return this.#backOff(LATENCY_CUT, false);
      }
      // Smoothed, so one noisy window neither starts nor blocks a probe.
      this.#baseline = {
        throughput: (baseline.throughput + throughput) / 2,
        latency: (baseline.latency + latency) / 2,
      };
    } else {
      if (latency > this.#targetLatency) return this.#backOff(LATENCY_CUT, false);
      this.#baseline = { throughput, latency };
    }
    this.#startProbe(latency, inFlight, fill);
  }

  #startProbe(latency: number, inFlight: number, fill: number): void {
    const first = MOVES.indexOf(this.#lastMove) + 1;
    for (let i = 0; i < MOVES.length; i++) {
      const move = MOVES[(first + i) % MOVES.length]!;
      if (this.#cooldown[move] > 0) continue;
      let size = this.#size;
      let concurrency = this.#concurrency;
      if (move === "fewer") {
        // Ramping up: nothing to take back yet.
        if (this.#slowStart) continue;
        concurrency = Math.max(this.#minConcurrency, concurrency - 1);
      } else {
        const current = move === "size" ? size : concurrency;
        // A limit the caller does not reach (short batches, idle slots) gains nothing when raised.
        if (move === "size" ? fill < 0.9 : inFlight < 0.6 * current) continue;
        // Latency grows about in proportion to load once the server is saturated, so steps
        // shrink near the target: doubling far from it, then +25% for size and +1 for concurrency.
        const headroom = this.#targetLatency / Math.max(latency, EPSILON_MS);
        let next: number;
        if (move === "size") {
          if (headroom < 1.1) continue;
          next = Math.ceil(current * Math.min(2, Math.max(1.25, headroom / 2)));
        } else {
          next = this.#slowStart && headroom >= 2 ? current * 2 : current + 1;
        }
        if (move === "size") size = Math.min(this.#maxSize, next);
        else concurrency = Math.min(this.#maxConcurrency, next);
        if (size === this.#size && concurrency === this.#concurrency) {
          if (move === "concurrency") this.#slowStart = false; // at the ceiling
          continue;
        }
        const load = size * concurrency;
        if (this.#windows < this.#failedUntil && load > 0.9 * this.#failedLoad) continue;
      }
      if (size === this.#size && concurrency === this.#concurrency) continue;
      this.#probe = { move, size: this.#size, concurrency: this.#concurrency };
      this.#lastMove = move;
      return this.#set(size, concurrency);
    }
  }

  #backOff(cut: number, overload: boolean): void {
    let size = this.#size;
    let concurrency = this.#concurrency;
    if (overload) {
      // Failures that keep coming soon after the last one hold growth back longer.
      const repeated = this.#windows - this.#lastFailure < 2 * this.#failureHold;
      this.#failureHold = repeated
        ? Math.min(MAX_FAILURE_HOLD, this.#failureHold * 2)
        : MIN_FAILURE_HOLD;
      this.#lastFailure = this.#windows;
      this.#failedLoad = size * concurrency;
      this.#failedUntil = this.#windows + this.#failureHold;
    }
    // A larger batch that overloaded the server is undone on its own dimension.
    if (this.#probe?.move !== "size" && concurrency > this.#minConcurrency) {
      concurrency = Math.max(this.#minConcurrency, Math.floor(concurrency * cut));
    } else {
      size = Math.max(this.#minSize, Math.floor(size * cut));
    }
    this.#probe = undefined;
    this.#baseline = undefined;
    this.#slowStart = false;
    this.#set(size, concurrency);
  }

  #set(size: number, concurrency: number): void {
    if (size === this.#size && concurrency === this.#concurrency) return;
    for (const change of [size - this.#size, concurrency - this.#concurrency]) {
      if (change > 0) this.#increases++;
      if (change < 0) this.#decreases++;
    }
    this.#size = size;
    this.#concurrency = concurrency;
    this.#maxSizeSeen = Math.max(this.#maxSizeSeen, size);
    this.#maxConcurrencySeen = Math.max(this.#maxConcurrencySeen, concurrency);
    this.#changedAt = this.#now();
    this.#cleanFrom = this.#changedAt;
    this.#window = emptyWindow(undefined);
  }
}

function emptyWindow(anchor: number | undefined): Window {
  return { anchor, count: 0, objects: 0, written: 0, latency: 0, busy: 0 };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
