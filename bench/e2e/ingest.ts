/**
 * Loading a dataset the fastest way we have: gRPC `BatchObjects` requests
 * encoded by weft's own {@linkcode GrpcBatcher} (vectors as raw float32
 * bytes), sent several at a time. Used to seed source collections and, with
 * every request encoded up front, to measure the server's ingest ceiling.
 * @module
 */
import { type BatchItem, GrpcBatcher } from "../../plugins/_shared/grpc_batch.ts";
import type { Dataset } from "./datasets.ts";

/** Where to send: REST for the collection and tenants, gRPC for objects. */
export interface Target {
  url: string;
  grpcUrl: string;
  apiKey?: string | undefined;
}

/** An encoded request with its object count. */
export type EncodedRequest = { body: Uint8Array; ids: string[] };

async function rest(target: Target, method: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${target.url}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Cannot ${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
}

/** Creates collection `name` for `data` (and its tenants). */
export async function createCollection(target: Target, data: Dataset, name: string) {
  await rest(target, "POST", "/v1/schema", data.definition(name));
  if (!data.tenants) return;
  for (let i = 0; i < data.tenants.length; i += 100) {
    const names = data.tenants.slice(i, i + 100).map((tenant) => ({ name: tenant }));
    await rest(target, "POST", `/v1/schema/${name}/tenants`, names);
  }
}

/** Opens a batcher on `target`'s gRPC port. */
export function batcher(target: Target): GrpcBatcher {
  return new GrpcBatcher(new URL(target.grpcUrl), { apiKey: target.apiKey, headers: {} });
}

/** Encodes objects `from` ≤ i < `to` of `data` into requests of at most `size` objects. */
export function encodeRange(
  grpc: GrpcBatcher,
  data: Dataset,
  collection: string,
  from: number,
  to: number,
  size: number,
): EncodedRequest[] {
  const requests: EncodedRequest[] = [];
  for (let i = from; i < to; i += size) {
    const items: BatchItem[] = [];
    for (let k = i; k < Math.min(to, i + size); k++) {
      const { tenant, object } = data.object(k);
      items.push({ collection, tenant, object, withVectors: true });
    }
    requests.push(...grpc.encode(items));
  }
  return requests;
}

/** Sends `requests` with `concurrency` in flight; throws on the first refused object. */
export async function sendAll(
  grpc: GrpcBatcher,
  requests: Iterable<EncodedRequest> | AsyncIterable<EncodedRequest>,
  concurrency: number,
): Promise<number> {
  const signal = new AbortController().signal;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  for await (const request of requests) {
    const p: Promise<void> = grpc.send(request, signal).then((failures) => {
      if (failures.length) {
        throw new Error(
          `Cannot insert ${failures.length} objects: ${failures[0]!.id}: ${failures[0]!.error}`,
        );
      }
      sent += request.ids.length;
    }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return sent;
}

/** Creates `name` and loads all of `data` into it, encoding as it goes; resolves with seconds. */
export async function seed(
  target: Target,
  data: Dataset,
  name: string,
  options: { batch?: number; concurrency?: number } = {},
): Promise<number> {
  const started = performance.now();
  await createCollection(target, data, name);
  const grpc = batcher(target);
  const size = options.batch ?? 500;
  // Encoding 2,000 objects at a time keeps memory flat for the 1,000,000-object dataset.
  async function* requests() {
    for (let i = 0; i < data.objects; i += 2000) {
      yield* encodeRange(grpc, data, name, i, Math.min(data.objects, i + 2000), size);
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  try {
    const sent = await sendAll(grpc, requests(), options.concurrency ?? 2);
    if (sent !== data.objects) throw new Error(`Cannot seed ${name}: sent ${sent} objects`);
  } finally {
    grpc.close();
  }
  return (performance.now() - started) / 1000;
}
