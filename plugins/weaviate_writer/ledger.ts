/**
 * What the writer did with every object, per target collection and tenant:
 * written, skipped, waiting (for a retry by the core, or for its reference
 * targets), refused; and references left out. It answers what the checks
 * expect and what a stopped run says it left behind.
 * @module
 */
import { messageOf, ServerError } from "../../src/errors.ts";
import type { PluginContext } from "../../src/plugin.ts";

/** Counts of one target collection and tenant. */
export interface Counts {
  /** Handed to the writer (each object once, however often it is sent). */
  received: number;
  /** Written by this run. */
  written: number;
  /** There already (`mode: skip-existing`). */
  skipped: number;
  /** Set aside until their reference targets exist. */
  deferred: number;
  /** Refused by the last answer; the core may try them again. */
  retrying: number;
  /** Given up. */
  refused: number;
}

/** Refused objects and left-out references listed one by one in the log; the rest are counted. */
const LISTED = 20;

interface Waiting {
  target: string;
  tenant: string | undefined;
  error: string;
}

/** The writer's account of one run. */
export class Ledger {
  /** Target → tenant ("" without) → counts. */
  #counts = new Map<string, Map<string, Counts>>();
  /** Source partition → UUID → last error, of objects the core may send again. */
  #waiting = new Map<string, Map<string, Waiting>>();
  #refusals: string[] = [];
  #refused = 0;
  /** Refused objects that are not in the core's dead-letter file. */
  #refusedHere = 0;
  #dropped: string[] = [];
  #droppedTotal = 0;
  #reported = false;
  /** Objects received before (the core sends the same object again on a retry). */
  #seen = new WeakSet<object>();

  constructor(readonly ctx: PluginContext) {}

  /** Accounts for `target`, even before any of its objects arrived. */
  track(target: string): void {
    if (!this.#counts.has(target)) this.#counts.set(target, new Map());
  }

  /** Counts of `target` and `tenant` (created on first use). */
  counts(target: string, tenant: string | undefined): Counts {
    let byTenant = this.#counts.get(target);
    if (!byTenant) this.#counts.set(target, byTenant = new Map());
    let counts = byTenant.get(tenant ?? "");
    if (!counts) {
      counts = { received: 0, written: 0, skipped: 0, deferred: 0, retrying: 0, refused: 0 };
      byTenant.set(tenant ?? "", counts);
    }
    return counts;
  }

  /** Counts `objects` of `target` and `tenant` as received, each once; resolves with the counts. */
  received(target: string, tenant: string | undefined, objects: object[]): Counts {
    const counts = this.counts(target, tenant);
    for (const object of objects) {
      if (this.#seen.has(object)) continue;
      this.#seen.add(object);
      counts.received++;
    }
    return counts;
  }

  /** Objects this run knows `target` holds, per tenant ("" without): what the count check expects. */
  present(target: string): Map<string, number> {
    return new Map(
      [...this.#counts.get(target) ?? []].map(([t, c]) => [t, c.written + c.skipped]),
    );
  }

  /** Object `id` of source `partition` got an answer: `error` (the core may retry it), or none. */
  answered(
    partition: string,
    id: string,
    where: { target: string; tenant: string | undefined },
    error?: string,
  ): void {
    let waiting = this.#waiting.get(partition);
    const before = waiting?.get(id);
    if (before) this.counts(before.target, before.tenant).retrying--;
    if (error === undefined) {
      waiting?.delete(id);
      return;
    }
    if (!waiting) this.#waiting.set(partition, waiting = new Map());
    waiting.set(id, { ...where, error });
    this.counts(where.target, where.tenant).retrying++;
  }

  /** The core is done with source `partition` (or, without one, with every partition). */
  partitionDone(partition?: string): void {
    const keys = partition === undefined ? [...this.#waiting.keys()] : [partition];
    for (const key of keys) {
      for (const [id, w] of this.#waiting.get(key) ?? []) {
        this.counts(w.target, w.tenant).retrying--;
        this.refuse(w.target, w.tenant, id, w.error, { deadLettered: true });
      }
      this.#waiting.delete(key);
    }
  }

  /**
   * Records a refused object. `deadLettered`: the core wrote it to its
   * dead-letter file; `present`: it was written, without (some of) its references.
   */
  refuse(
    target: string,
    tenant: string | undefined,
    id: string,
    error: string,
    options: { deadLettered?: boolean; present?: boolean } = {},
  ): void {
    if (!options.present) this.counts(target, tenant).refused++;
    this.#refused++;
    if (!options.deadLettered) this.#refusedHere++;
    this.ctx.metrics.add("objectsRefused");
    if (this.#refusals.length >= LISTED) return;
    const where = `"${target}"${tenant === undefined ? "" : ` tenant "${tenant}"`}`;
    this.#refusals.push(`${id} in ${where}: ${error}`);
    this.ctx.log.warn(`object refused: ${error}`, {
      collection: target,
      ...(tenant === undefined ? {} : { tenant }),
      id,
    });
  }

  /** Records a reference left out because its target is not in the copy. */
  drop(target: string, tenant: string | undefined, id: string, property: string, to: string) {
    this.#droppedTotal++;
    this.ctx.metrics.add("referencesDropped");
    if (this.#dropped.length >= LISTED) return;
    this.#dropped.push(`${target}/${id}.${property} → ${to}`);
    this.ctx.log.warn(
      "reference left out: its target is not in the copy (refused, or deleted at the source)",
      { collection: target, ...(tenant === undefined ? {} : { tenant }), id, property, to },
    );
  }

  /** Whether every object was written and, unless `dropOk`, every reference. */
  complete(dropOk: boolean): boolean {
    return this.#refused === 0 && (dropOk || this.#droppedTotal === 0);
  }

  /**
   * Throws what keeps the copy from being complete, unless the core reports
   * it (objects in its dead-letter file, and nothing else wrong).
   */
  finish(dropOk: boolean): void {
    if (this.#droppedTotal > 0 && dropOk) {
      this.ctx.log.warn(
        `${this.#droppedTotal} references were left out: their targets are not in the copy (danglingReferences: drop)`,
      );
    }
    const dropped = dropOk ? 0 : this.#droppedTotal;
    if (this.#refused > 0) {
      this.ctx.log.warn(
        `Weaviate refused ${this.#refused} objects (first: ${
          this.#refusals[0]
        }); aliases were left as they were`,
      );
    }
    if (this.#refusedHere === 0 && dropped === 0) return;
    this.#reported = true;
    const problems: string[] = [];
    if (this.#refused > 0) {
      const inFile = this.#refused - this.#refusedHere;
      problems.push(
        `Weaviate refused ${this.#refused} objects (first: ${this.#refusals[0]}${
          inFile ? `; ${inFile} of them are in the run's dead-letter file` : ""
        })`,
      );
    }
    if (dropped > 0) {
      problems.push(
        `${dropped} references point at objects that are not in the copy — refused, or deleted at the source, where Weaviate keeps such references — and were left out (first: ${
          this.#dropped[0]
        }; set danglingReferences: drop to accept that)`,
      );
    }
    throw new ServerError(
      `Cannot copy everything: ${
        problems.join("; ")
      }. Every other object and reference was written and checked, tenants have their recorded status, aliases were left as they were`,
      { retryable: false },
    );
  }

  /** The run stopped early: says, once, what each target holds. */
  interrupted(reason?: unknown): void {
    if (this.#reported) return;
    this.#reported = true;
    for (const [target, byTenant] of this.#counts) {
      let written = 0, received = 0;
      for (const c of byTenant.values()) {
        written += c.written;
        received += c.received;
      }
      this.ctx.log.warn(
        `"${target}" holds a partial copy: ${written} of the ${received} objects received were written; run again with mode: overwrite to complete it`,
        reason === undefined ? {} : { reason: messageOf(reason) },
      );
    }
  }

  /** Marks the run as reported (it finished): a later `interrupted()` says nothing. */
  finished(): void {
    this.#reported = true;
  }
}
