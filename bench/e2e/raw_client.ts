/**
 * The "raw client" cases, run as a child process: what a user would write with
 * the TypeScript weaviate-client alone.
 *
 *   backup:  `query.fetchObjects` pages with `after` (the client's
 *            `iterator()` asks for one page per object), every vector, one
 *            JSON line per object, per tenant;
 *   restore: `data.insertMany` of `--batch` objects, `--concurrency` calls in
 *            flight (one `insertMany` of everything is many times slower).
 *
 * The dump (shared with the Python cases): `schema.json` (`GET /v1/schema/{name}`),
 * `tenants.json` (names, multi-tenant only) and `objects.jsonl`
 * (`{"id","tenant"?,"properties","vectors"}` per line).
 *
 *   deno run -A bench/e2e/raw_client.ts backup --url U --grpc-url G --collection C --out DIR
 *   deno run -A bench/e2e/raw_client.ts restore --url U --grpc-url G --collection C --dump DIR \
 *     [--batch 500] [--concurrency 2]
 * @module
 */
import { parseArgs } from "node:util";
import weaviate, { type WeaviateClient, type WeaviateField } from "weaviate-client";
import { readLines } from "../../plugins/_shared/lines.ts";
import { report } from "./measure.ts";

type Row = {
  id: string;
  tenant?: string;
  properties: Record<string, WeaviateField>;
  vectors: Record<string, number[] | number[][]>;
};

async function connect(url: URL, grpc: URL): Promise<WeaviateClient> {
  return await weaviate.connectToCustom({
    httpHost: url.hostname,
    httpPort: Number(url.port),
    grpcHost: grpc.hostname,
    grpcPort: Number(grpc.port),
  });
}

/** Writes `collection` to `out` as JSON Lines; resolves with the object count. */
export async function rawBackup(
  client: WeaviateClient,
  url: URL,
  collection: string,
  out: string,
  page: number,
): Promise<number> {
  await Deno.mkdir(out, { recursive: true });
  const schema = await (await fetch(`${url.origin}/v1/schema/${collection}`)).json();
  await Deno.writeTextFile(`${out}/schema.json`, JSON.stringify(schema));
  const handle = client.collections.use(collection);
  let tenants: (string | undefined)[] = [undefined];
  if (schema.multiTenancyConfig?.enabled) {
    const names = Object.keys(await handle.tenants.get()).sort();
    await Deno.writeTextFile(`${out}/tenants.json`, JSON.stringify(names));
    tenants = names;
  }
  const file = await Deno.open(`${out}/objects.jsonl`, {
    write: true,
    create: true,
    truncate: true,
  });
  const encoder = new TextEncoder();
  let count = 0;
  try {
    for (const tenant of tenants) {
      const target = tenant === undefined ? handle : handle.withTenant(tenant);
      let after: string | undefined;
      for (;;) {
        const result = await target.query.fetchObjects({
          limit: page,
          includeVector: true,
          ...(after ? { after } : {}),
        });
        if (result.objects.length === 0) break;
        const lines = result.objects.map((o) =>
          JSON.stringify({
            id: o.uuid,
            ...(tenant === undefined ? {} : { tenant }),
            properties: o.properties,
            vectors: o.vectors,
          })
        );
        const bytes = encoder.encode(lines.join("\n") + "\n");
        for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
        count += result.objects.length;
        after = result.objects.at(-1)!.uuid;
      }
    }
  } finally {
    file.close();
  }
  return count;
}

/** Restores a dump into a new collection `collection`; resolves with the object count. */
export async function rawRestore(
  client: WeaviateClient,
  url: URL,
  collection: string,
  dump: string,
  batch: number,
  concurrency: number,
): Promise<number> {
  const schema = JSON.parse(await Deno.readTextFile(`${dump}/schema.json`));
  const res = await fetch(`${url.origin}/v1/schema`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    // GET returns the sharding config of a multi-tenant collection too, which POST refuses.
    body: JSON.stringify({
      ...schema,
      class: collection,
      ...(schema.multiTenancyConfig?.enabled ? { shardingConfig: undefined } : {}),
    }),
  });
  if (!res.ok) throw new Error(`Cannot create ${collection}: ${await res.text()}`);
  await res.body?.cancel();
  const handle = client.collections.use(collection);
  if (schema.multiTenancyConfig?.enabled) {
    const names: string[] = JSON.parse(await Deno.readTextFile(`${dump}/tenants.json`));
    for (let i = 0; i < names.length; i += 100) {
      await handle.tenants.create(names.slice(i, i + 100).map((name) => ({ name })));
    }
  }
  let count = 0;
  const inFlight = new Set<Promise<void>>();
  const send = async (tenant: string | undefined, rows: Row[]) => {
    const target = tenant === undefined ? handle : handle.withTenant(tenant);
    const p: Promise<void> = target.data.insertMany(
      rows.map((r) => ({ id: r.id, properties: r.properties, vectors: r.vectors })),
    ).then((result) => {
      if (result.hasErrors) {
        throw new Error(`insertMany: ${JSON.stringify(Object.values(result.errors)[0])}`);
      }
      count += rows.length;
    }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  };
  let rows: Row[] = [];
  let tenant: string | undefined;
  for await (const line of readLines(`${dump}/objects.jsonl`)) {
    if (!line) continue;
    const row: Row = JSON.parse(line);
    if (rows.length >= batch || (rows.length > 0 && row.tenant !== tenant)) {
      await send(tenant, rows);
      rows = [];
    }
    tenant = row.tenant;
    rows.push(row);
  }
  if (rows.length) await send(tenant, rows);
  await Promise.all(inFlight);
  return count;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      "grpc-url": { type: "string" },
      collection: { type: "string" },
      out: { type: "string" },
      dump: { type: "string" },
      page: { type: "string", default: "500" },
      batch: { type: "string", default: "500" },
      concurrency: { type: "string", default: "2" },
    },
  });
  const url = new URL(values.url!);
  const client = await connect(url, new URL(values["grpc-url"]!));
  const objects = positionals[0] === "backup"
    ? await rawBackup(client, url, values.collection!, values.out!, Number(values.page))
    : await rawRestore(
      client,
      url,
      values.collection!,
      values.dump!,
      Number(values.batch),
      Number(values.concurrency),
    );
  await client.close();
  report({ objects });
}
