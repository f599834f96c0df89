/**
 * Weaviate's own `backup-filesystem` backup and restore, run as a child
 * process: start it over REST, poll its status every 20 ms until `SUCCESS`.
 * The work is the server's: its CPU is what the driver reads from `/proc`.
 * A restore needs the collection gone (the driver drops it first) and brings
 * it back under its own name; it cannot rename.
 *
 *   deno run -A bench/e2e/weaviate_native.ts backup|restore --url U --collection C --id ID
 * @module
 */
import { parseArgs } from "node:util";
import { report } from "./measure.ts";

/** Runs a `backup-filesystem` backup or restore of `collection` as `id` and waits for it. */
export async function nativeBackup(
  url: string,
  action: "backup" | "restore",
  collection: string,
  id: string,
): Promise<void> {
  const base = `${url}/v1/backups/filesystem`;
  const status = action === "backup" ? `${base}/${id}` : `${base}/${id}/restore`;
  const res = await fetch(action === "backup" ? base : status, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(
      action === "backup" ? { id, include: [collection] } : {
        include: [collection],
      },
    ),
  });
  if (!res.ok) {
    throw new Error(`Cannot start Weaviate ${action}: ${res.status} ${await res.text()}`);
  }
  await res.body?.cancel();
  for (;;) {
    const poll = await fetch(status);
    const body = await poll.json() as { status: string; error?: string };
    if (body.status === "SUCCESS") return;
    if (body.status === "FAILED" || body.status === "CANCELED") {
      throw new Error(`Cannot finish Weaviate ${action} ${id}: ${body.status} ${body.error ?? ""}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      collection: { type: "string" },
      id: { type: "string" },
    },
  });
  const action = positionals[0] === "restore" ? "restore" : "backup";
  await nativeBackup(values.url!, action, values.collection!, values.id!);
  report({});
}
