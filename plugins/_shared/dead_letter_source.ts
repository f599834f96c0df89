/**
 * Reads a dead-letter file (see `src/dead_letter.ts`) back as messages, so the
 * objects a sink refused can be fed through a restore again once the cause is
 * fixed: `BACKUP_PATH=x.dead-letter.jsonl deno task restore pipelines/restore.yaml`.
 * @module
 */
import { DEAD_LETTER_FORMAT, decodeDeadLetterObject } from "../../src/dead_letter.ts";
import { messageOf } from "../../src/errors.ts";
import {
  type CollectionMessage,
  type Message,
  partitionKey,
  type TenantInfo,
  type WeftObject,
} from "../../src/messages.ts";
import { readLines } from "./lines.ts";

/** Whether the file at `path` starts like a dead-letter file. */
export async function isDeadLetterFile(path: string): Promise<boolean> {
  const file = await Deno.open(path);
  try {
    const head = new Uint8Array(512);
    const n = await file.read(head) ?? 0;
    return new TextDecoder().decode(head.subarray(0, n)).includes(`"${DEAD_LETTER_FORMAT}"`);
  } finally {
    file.close();
  }
}

interface Pending {
  collection: string;
  tenant?: string;
  objects: WeftObject[];
  seq: number;
  sent: number;
}

/**
 * The file's collections (their `collection` messages first, with every
 * definition in `source-info`), then its objects by partition in batches of
 * `batchSize`. A line that cannot be read fails with the file and line number.
 */
export async function* readDeadLetter(
  path: string,
  batchSize: number,
  collections: (name: string) => boolean = () => true,
): AsyncGenerator<Message> {
  const headers: CollectionMessage[] = [];
  const objectLines: { line: number; raw: Record<string, unknown> }[] = [];
  // A dead-letter file is small (objects refused after every retry); reading
  // its lines first lets every definition go out before the first object.
  let number = 0;
  for await (const line of readLines(path)) {
    number++;
    if (!line.trim()) continue;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(line);
    } catch (error) {
      throw new Error(`Cannot read dead-letter file ${path}:${number}: ${messageOf(error)}`);
    }
    if (raw.type === "collection") {
      const name = String(raw.collection);
      if (!collections(name)) continue;
      headers.push({
        type: "collection",
        collection: name,
        definition: raw.definition as Record<string, unknown>,
        ...(raw.tenants ? { tenants: raw.tenants as TenantInfo[] } : {}),
      });
    } else if (raw.type === "object") {
      if (collections(String(raw.collection))) objectLines.push({ line: number, raw });
    } else {
      throw new Error(`Cannot read dead-letter file ${path}:${number}: unknown line type`);
    }
  }
  yield {
    type: "source-info",
    system: "weft-dead-letter",
    definitions: headers.map((h) => h.definition),
  };
  const partitions = new Map<string, Pending>();
  for (const header of headers) {
    yield header;
    for (const { line, raw } of objectLines) {
      if (raw.collection !== header.collection) continue;
      const tenant = raw.tenant === undefined ? undefined : String(raw.tenant);
      const key = partitionKey(header.collection, tenant);
      let p = partitions.get(key);
      if (!p) {
        p = {
          collection: header.collection,
          ...(tenant === undefined ? {} : { tenant }),
          objects: [],
          seq: 0,
          sent: 0,
        };
        partitions.set(key, p);
        yield {
          type: "partition-start",
          partition: key,
          collection: header.collection,
          ...(tenant === undefined ? {} : { tenant }),
        };
      }
      try {
        p.objects.push(decodeDeadLetterObject(raw.object as Record<string, unknown>));
      } catch (error) {
        throw new Error(`Cannot read dead-letter file ${path}:${line}: ${messageOf(error)}`);
      }
      if (p.objects.length >= batchSize) yield batch(key, p, `${path}:${line}`);
    }
    for (const [key, p] of partitions) {
      if (p.collection !== header.collection) continue;
      if (p.objects.length) yield batch(key, p);
      yield {
        type: "partition-end",
        partition: key,
        collection: p.collection,
        ...(p.tenant === undefined ? {} : { tenant: p.tenant }),
        objects: p.sent,
      };
    }
  }
}

function batch(key: string, p: Pending, cursor?: string): Message {
  const objects = p.objects.splice(0);
  p.sent += objects.length;
  return {
    type: "objects",
    partition: key,
    collection: p.collection,
    ...(p.tenant === undefined ? {} : { tenant: p.tenant }),
    seq: p.seq++,
    ...(cursor ? { cursor } : {}),
    objects,
  };
}
