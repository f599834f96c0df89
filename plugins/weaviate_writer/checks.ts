/**
 * The writer's checks of its copy: object counts per collection and tenant,
 * and (`check: content`) every written object read back and compared with
 * the content hash of what was sent. Hashes are kept in a {@linkcode SpillMap}:
 * memory stays bounded however many objects are written.
 * @module
 */
import type { WeftObject } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { checkContents, checkCounts, type ExpectedContent } from "../_shared/copy_checks.ts";
import { hashObject } from "../_shared/object_hash.ts";
import { SpillMap } from "../_shared/spill.ts";
import type { WeaviateConnection } from "../_shared/weaviate.ts";
import type { Ledger } from "./ledger.ts";
import type { Target } from "./target.ts";

/** Separates collection, tenant and UUID in a hash key (none of them holds it). */
const SEP = "\u0001";

/** Content hashes of what was written, and the checks at the end. */
export class CopyChecks {
  #hashes: SpillMap | undefined;

  constructor(
    readonly conn: WeaviateConnection,
    readonly options: { content: boolean; skipVectors: boolean },
    /** Source → target collection names, for references. */
    readonly renames: ReadonlyMap<string, string>,
    readonly ctx: PluginContext,
  ) {
    if (options.content) {
      const hashes = this.#hashes = new SpillMap();
      ctx.onClose(() => hashes.close());
    }
  }

  /** Records what `objects` were written as (with `check: content`). */
  async written(target: string, tenant: string | undefined, objects: WeftObject[]): Promise<void> {
    if (!this.#hashes) return;
    for (const object of objects) {
      const key = [target, tenant ?? "", object.id.toLowerCase()].join(SEP);
      // Waits only when the map writes a run to its file.
      const spilling = this.#hashes.set(key, this.#hash(object, this.renames));
      if (spilling) await spilling;
    }
  }

  /** Compares counts, then content, of every target; throws on the first difference. */
  async run(targets: Target[], ledger: Ledger): Promise<void> {
    const ordered = [...targets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const target of ordered) {
      const present = ledger.present(target.name);
      await checkCounts(this.conn, target.name, present, target.preexisting, this.ctx);
    }
    if (!this.#hashes) return;
    const entries = new Peekable(this.#hashes.entries());
    const options = { includeVectors: !this.options.skipVectors };
    for (const target of ordered) {
      const groups = tenantsOf(entries, target.name);
      await checkContents(this.conn, target.name, groups, (o) => this.#hash(o), options, this.ctx);
    }
  }

  /** One string for an object's content; vectors left out when they were not written. */
  #hash(object: WeftObject, renames?: ReadonlyMap<string, string>): string {
    const h = hashObject(object, renames);
    return `${h.properties}|${this.options.skipVectors ? "" : h.vectors}|${h.references}`;
  }
}

/** The hashes of `target`'s tenants, read off the sorted stream of every key. */
async function* tenantsOf(
  entries: Peekable<[string, string]>,
  target: string,
): AsyncGenerator<ExpectedContent> {
  const prefix = target + SEP;
  for (;;) {
    let head = await entries.peek();
    // Keys of targets that sort before this one and were not checked: none are expected.
    while (head && head[0] < prefix) {
      await entries.next();
      head = await entries.peek();
    }
    if (!head || !head[0].startsWith(prefix)) return;
    const tenant = head[0].slice(prefix.length, head[0].indexOf(SEP, prefix.length));
    const group = `${prefix}${tenant}${SEP}`;
    yield { tenant, expected: within(entries, group) };
    // Whatever the check left unread of this tenant.
    for await (const _ of within(entries, group));
  }
}

async function* within(
  entries: Peekable<[string, string]>,
  group: string,
): AsyncGenerator<[string, string]> {
  for (let head = await entries.peek(); head?.[0].startsWith(group); head = await entries.peek()) {
    await entries.next();
    yield [head[0].slice(group.length), head[1]];
  }
}

/** An async iterator whose next value can be looked at first. */
class Peekable<T> {
  #head: IteratorResult<T> | undefined;

  constructor(readonly iterator: AsyncIterator<T>) {}

  async peek(): Promise<T | undefined> {
    this.#head ??= await this.iterator.next();
    return this.#head.done ? undefined : this.#head.value;
  }

  async next(): Promise<T | undefined> {
    const value = await this.peek();
    this.#head = undefined;
    return value;
  }
}
