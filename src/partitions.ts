/**
 * Parallel partitions for sources: a bounded pool that reads several
 * partitions (collections or tenants) at once and merges their messages into
 * one stream, keeping the order inside each partition.
 * @module
 */
import type { Message } from "./messages.ts";

/** Reads one partition: its `partition-start`, `objects` and `partition-end` messages. */
export type PartitionReader = () => AsyncIterable<Message>;

interface Running {
  iterator: AsyncIterator<Message>;
  next: Promise<Step>;
  /** False while a `next()` is pending. */
  idle: boolean;
}

type Step = { running: Running; result?: IteratorResult<Message>; error?: unknown };

/**
 * Yields what `items` lists, in order: a message is passed on as it comes, a
 * {@linkcode PartitionReader} is started once fewer than `concurrency` are
 * running, and the messages of running partitions are passed on as they
 * arrive. Backpressure holds across the pool: a partition is asked for its
 * next message only after its previous one was taken. A failing partition
 * fails the whole merge; the others are stopped.
 *
 * @example
 * ```ts
 * import { mergePartitions, type PartitionReader } from "./partitions.ts";
 * import type { Message } from "./messages.ts";
 * const part = (name: string): PartitionReader => async function* () {
 *   yield { type: "partition-start", partition: name, collection: name };
 *   yield { type: "partition-end", partition: name, collection: name, objects: 0 };
 * };
 * const items: (Message | PartitionReader)[] = [part("A"), part("B")];
 * const seen: string[] = [];
 * for await (const m of mergePartitions(items, 2)) seen.push(`${m.type}:${"partition" in m ? m.partition : ""}`);
 * if (seen.length !== 4) throw new Error("expected 4 messages");
 * ```
 */
export async function* mergePartitions(
  items: AsyncIterable<Message | PartitionReader> | Iterable<Message | PartitionReader>,
  concurrency: number,
): AsyncGenerator<Message> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`Cannot read partitions: concurrency must be ≥ 1, got ${concurrency}`);
  }
  const source = Symbol.asyncIterator in items
    ? items[Symbol.asyncIterator]()
    : (async function* () {
      yield* items;
    })();
  const running = new Set<Running>();
  const advance = (run: Running) => {
    run.idle = false;
    // Never rejects: a failure is carried in the step, so a partition that
    // fails while another is awaited is not an unhandled rejection.
    run.next = run.iterator.next().then(
      (result) => {
        run.idle = true;
        return { running: run, result };
      },
      (error) => {
        run.idle = true;
        return { running: run, error };
      },
    );
  };
  let sourceDone = false;
  try {
    for (;;) {
      while (!sourceDone && running.size < concurrency) {
        const item = await source.next();
        if (item.done) {
          sourceDone = true;
          break;
        }
        if (typeof item.value !== "function") {
          yield item.value;
          continue;
        }
        const run = { iterator: item.value()[Symbol.asyncIterator]() } as Running;
        advance(run);
        running.add(run);
      }
      if (running.size === 0) return;
      const step = await Promise.race([...running].map((r) => r.next));
      if (step.error !== undefined) throw step.error;
      if (step.result!.done) {
        running.delete(step.running);
        continue;
      }
      yield step.result!.value;
      advance(step.running);
    }
  } finally {
    const stops: Promise<unknown>[] = [];
    for (const run of running) {
      // An idle partition is stopped and awaited (its cleanups run); one
      // blocked in a call is told to stop, and the run's abort signal ends the call.
      const stop = run.iterator.return?.().catch(() => {});
      if (run.idle && stop) stops.push(stop);
    }
    if (!sourceDone) stops.push(source.return?.(undefined).catch(() => {}) ?? Promise.resolve());
    await Promise.all(stops);
  }
}
