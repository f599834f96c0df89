/**
 * Objects whose references point at objects not written yet. Weaviate refuses
 * a reference to an object it does not hold, so such objects are set aside
 * (in a {@linkcode SpillFile}: memory stays bounded) and written once every
 * other object is there. Those that still point at set-aside objects (cycles,
 * within or across collections, and references to themselves) are written
 * without references first, then again with them; a reference whose target
 * never arrives is left out and recorded.
 * @module
 */
import type { WeftObject } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { decodeObject, encodeObject } from "../_shared/backup_format.ts";
import { stringifyJson } from "../_shared/json.ts";
import { SpillFile } from "../_shared/spill.ts";
import { MISSING_TARGET } from "./inserts.ts";
import type { Target } from "./target.ts";

/** What writing set-aside objects needs from the writer; tenants are named as at the source. */
export interface DeferredWriter {
  /** The target collection of source collection `source`. */
  target(source: string): Target;
  /** Inserts `objects` (retrying the request); resolves with refused ones' errors by lower-case UUID. */
  send(
    target: Target,
    tenant: string | undefined,
    objects: WeftObject[],
  ): Promise<Map<string, string>>;
  /** `objects` are in the target now: count, acknowledge, hash. */
  written(target: Target, tenant: string | undefined, objects: WeftObject[]): Promise<void>;
  /** `object` was refused (as it is, with every reference); `present`: it is there, without (some of) its references. */
  refused(
    target: Target,
    tenant: string | undefined,
    object: WeftObject,
    error: string,
    present: boolean,
  ): Promise<void>;
  /** A reference of object `id` was left out: its target is not in the copy. */
  dropped(
    target: Target,
    tenant: string | undefined,
    id: string,
    property: string,
    to: string,
  ): void;
}

/** How often an object is written again, each time without one more missing reference target. */
const MAX_DROP_ROUNDS = 16;
/** Objects per request when the set-aside objects are written. */
const DEFERRED_BATCH = 200;

/** Objects set aside until their reference targets exist. */
export class DeferredObjects {
  #file = new SpillFile();

  constructor(ctx: PluginContext) {
    ctx.onClose(() => this.#file.close());
  }

  /** Sets `objects` of source collection `source` (and tenant) aside. */
  async hold(source: string, tenant: string | undefined, objects: WeftObject[]): Promise<void> {
    await hold(this.#file, source, tenant, objects);
  }

  /** Writes every set-aside object; see the module documentation. */
  async writeAll(writer: DeferredWriter, ctx: PluginContext): Promise<void> {
    const file = this.#file;
    if (file.size === 0) return;
    ctx.log.info(
      `writing ${file.size} objects whose references point at objects written after them`,
    );
    const cyclic = new SpillFile();
    try {
      for await (const [source, tenant, batch] of batches(file)) {
        const target = writer.target(source);
        const failures = await writer.send(target, tenant, batch);
        const waiting = batch.filter((o) => MISSING_TARGET.test(failures.get(key(o)) ?? ""));
        await hold(cyclic, source, tenant, waiting);
        await settle(writer, target, tenant, batch, failures, new Set(waiting.map(key)));
      }
      await file.close();
      if (cyclic.size === 0) return;
      ctx.log.info(`writing ${cyclic.size} objects that point at each other or themselves`);
      // Refused bare, an object is not there at all; otherwise it is, if without references.
      const absent = new Set<string>();
      for await (const [source, tenant, batch] of batches(cyclic)) {
        const bare = batch.map(({ references: _, ...o }) => o);
        const target = writer.target(source);
        for (const id of (await writer.send(target, tenant, bare)).keys()) {
          absent.add(id);
        }
      }
      for await (const [source, tenant, batch] of batches(cyclic)) {
        await writeLast(writer, writer.target(source), tenant, batch, absent);
      }
    } finally {
      await cyclic.close();
    }
  }
}

const key = (o: WeftObject) => o.id.toLowerCase();

/** Counts what a send did: written, refused, or (`skip`) set aside again. */
async function settle(
  writer: DeferredWriter,
  target: Target,
  tenant: string | undefined,
  objects: WeftObject[],
  failures: Map<string, string>,
  skip: ReadonlySet<string> = new Set(),
): Promise<void> {
  const written = objects.filter((o) => !failures.has(key(o)));
  await writer.written(target, tenant, written);
  for (const o of objects) {
    const error = failures.get(key(o));
    if (error !== undefined && !skip.has(key(o))) {
      await writer.refused(target, tenant, o, error, false);
    }
  }
}

/**
 * The last try for objects that exist (bare) unless in `absent`: a reference
 * whose target is still missing is not in the copy at all (its object was
 * refused, or deleted at the source, where Weaviate keeps such references):
 * it is left out, recorded, and the object written with the rest.
 */
async function writeLast(
  writer: DeferredWriter,
  target: Target,
  tenant: string | undefined,
  objects: WeftObject[],
  absent: ReadonlySet<string>,
): Promise<void> {
  const originals = new Map(objects.map((o) => [key(o), o]));
  const byId = new Map(originals);
  const failures = await writer.send(target, tenant, objects);
  for (let round = 0; round < MAX_DROP_ROUNDS; round++) {
    const again: WeftObject[] = [];
    for (const [id, error] of failures) {
      const gone = MISSING_TARGET.exec(error)?.[1]?.toLowerCase();
      const object = byId.get(id);
      if (!gone || !object || absent.has(id)) continue;
      const kept = withoutReferencesTo(writer, target, tenant, object, gone);
      byId.set(id, kept);
      again.push(kept);
    }
    if (again.length === 0) break;
    const retried = await writer.send(target, tenant, again);
    for (const o of again) {
      const error = retried.get(key(o));
      if (error === undefined) failures.delete(key(o));
      else failures.set(key(o), error);
    }
  }
  await writer.written(target, tenant, [...byId.values()].filter((o) => !failures.has(key(o))));
  for (const [id, error] of failures) {
    // Present without (some of) its references: written, and reported.
    const object = originals.get(id)!;
    const present = !absent.has(id);
    const why = present ? `written without its references: ${error}` : error;
    await writer.refused(target, tenant, object, why, present);
  }
}

/** `object` without its references to `gone`, each one recorded. */
function withoutReferencesTo(
  writer: DeferredWriter,
  target: Target,
  tenant: string | undefined,
  object: WeftObject,
  gone: string,
): WeftObject {
  const references: NonNullable<WeftObject["references"]> = {};
  for (const [prop, refs] of Object.entries(object.references ?? {})) {
    references[prop] = refs.filter((ref) => {
      if (ref.id.toLowerCase() !== gone) return true;
      writer.dropped(target, tenant, object.id, prop, `${ref.collection ?? "?"}/${ref.id}`);
      return false;
    });
  }
  return { ...object, references };
}

async function hold(
  file: SpillFile,
  source: string,
  tenant: string | undefined,
  objects: WeftObject[],
): Promise<void> {
  const where = stringifyJson([source, tenant ?? null]);
  await file.append(objects.map((o) => `${where}\t${encodeObject(o)}`));
}

/** Reads set-aside objects back as batches of one collection and tenant. */
async function* batches(
  file: SpillFile,
): AsyncGenerator<[string, string | undefined, WeftObject[]]> {
  let batch: WeftObject[] = [];
  let where: string | undefined;
  const current = (): [string, string | undefined, WeftObject[]] => {
    const [source, tenant] = JSON.parse(where!) as [string, string | null];
    return [source, tenant ?? undefined, batch];
  };
  for await (const line of file.lines()) {
    const tab = line.indexOf("\t");
    const lineKey = line.slice(0, tab);
    if (batch.length && (lineKey !== where || batch.length >= DEFERRED_BATCH)) {
      yield current();
      batch = [];
    }
    where = lineKey;
    batch.push(decodeObject(line.slice(tab + 1)));
  }
  if (batch.length) yield current();
}
