/**
 * The benchmark's Weaviate: the harness server (or `WEAVIATE_URL`), its
 * process id for CPU and memory readings from `/proc`, and the few REST calls
 * the driver makes between timed runs.
 * @module
 */
import { dirname } from "node:path";
import { useWeaviate, type WeaviateServer } from "../../tests/harness/weaviate.ts";

/** A Weaviate to benchmark against, with what the driver reads from it. */
export interface BenchServer {
  server: WeaviateServer;
  /** Server process id, when it could be found (for CPU and peak-RSS readings). */
  pid: number | undefined;
  /** `version` from `/v1/meta`. */
  version: string;
  /** Calls the REST API; throws on a non-2xx answer; resolves with the parsed JSON (or null). */
  rest(method: string, path: string, body?: unknown): Promise<unknown>;
}

/** Starts the harness Weaviate (`ASYNC_INDEXING=true` when `asyncIndexing`), or uses `WEAVIATE_URL`. */
export async function openServer(options: { asyncIndexing: boolean }): Promise<BenchServer> {
  const env: Record<string, string> = options.asyncIndexing ? { ASYNC_INDEXING: "true" } : {};
  const server = await useWeaviate({ env });
  if (!server.owned && options.asyncIndexing) {
    console.error("e2e: WEAVIATE_URL is set: --async-indexing is up to that server's settings");
  }
  const rest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        "content-type": "application/json",
        ...(server.apiKey ? { authorization: `Bearer ${server.apiKey}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Cannot ${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : null;
  };
  const meta = await rest("GET", "/v1/meta") as { version: string };
  const pid = await serverPid(server);
  if (pid === undefined) {
    console.error(`e2e: cannot find the server's process for ${server.url}: server CPU shows "—"`);
  }
  return { server, pid, version: meta.version, rest };
}

/**
 * The server's pid: the harness writes it next to the backup directory
 * (`$WEFT_DIR/server.pid`); for `WEAVIATE_URL`, the local process listening on its port.
 */
async function serverPid(server: WeaviateServer): Promise<number | undefined> {
  if (server.owned && server.backupPath) {
    const text = await Deno.readTextFile(`${dirname(server.backupPath)}/server.pid`).catch(() =>
      ""
    );
    if (Number(text) > 0) return Number(text);
  }
  const url = new URL(server.url);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) return undefined;
  return listeningPid(Number(url.port || 80));
}

/** The process holding a listening TCP socket on `port`, found through `/proc`. */
export async function listeningPid(port: number): Promise<number | undefined> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await Deno.readTextFile(table).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is "HEXIP:HEXPORT"; state 0A is LISTEN; column 10 is the inode.
      const local = cols[1]?.split(":")[1];
      if (local && parseInt(local, 16) === port && cols[3] === "0A" && cols[9]) {
        inodes.add(cols[9]);
      }
    }
  }
  if (inodes.size === 0) return undefined;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      for await (const fd of Deno.readDir(`/proc/${entry.name}/fd`)) {
        const target = await Deno.readLink(`/proc/${entry.name}/fd/${fd.name}`).catch(() => "");
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode && inodes.has(inode)) return Number(entry.name);
      }
    } catch {
      // Not ours to read, or gone.
    }
  }
  return undefined;
}

let ticks: number | undefined;
/** Clock ticks per second for `/proc/<pid>/stat` (`getconf CLK_TCK`, almost always 100). */
async function clockTicks(): Promise<number> {
  if (ticks === undefined) {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output()
      .catch(() => undefined);
    ticks = Number(new TextDecoder().decode(out?.stdout ?? new Uint8Array()).trim()) || 100;
  }
  return ticks;
}

/** User + system CPU seconds `pid` has used so far, or undefined when it cannot be read. */
export async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => undefined);
  if (!stat) return undefined;
  // Fields after the command name (which may hold spaces): utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / await clockTicks();
}

/** Resets `pid`'s peak resident size (`clear_refs` 5); false when the kernel refuses. */
export async function resetPeakRss(pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return false;
  try {
    await Deno.writeTextFile(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** `pid`'s peak resident size in MB (`VmHWM`), or undefined. */
export async function peakRssMb(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : undefined;
}

/** Objects in `collection` (every tenant's, for a multi-tenant one). */
export async function countObjects(
  bench: BenchServer,
  collection: string,
  tenants?: string[],
): Promise<number> {
  const one = async (tenant?: string) => {
    const args = tenant === undefined ? "" : `(tenant: ${JSON.stringify(tenant)})`;
    const result = await bench.rest("POST", "/v1/graphql", {
      query: `{ Aggregate { ${collection}${args} { meta { count } } } }`,
    }) as {
      data?: { Aggregate?: Record<string, { meta: { count: number } }[]> };
      errors?: unknown[];
    };
    const count = result.data?.Aggregate?.[collection]?.[0]?.meta.count;
    if (count === undefined) {
      throw new Error(`Cannot count ${collection}: ${JSON.stringify(result.errors)}`);
    }
    return count;
  };
  if (!tenants) return await one();
  let total = 0;
  for (const tenant of tenants) total += await one(tenant);
  return total;
}

/** Drops `collection` if it exists. */
export async function dropCollection(bench: BenchServer, collection: string): Promise<void> {
  const res = await fetch(`${bench.server.url}/v1/schema/${collection}`, {
    method: "DELETE",
    ...(bench.server.apiKey ? { headers: { authorization: `Bearer ${bench.server.apiKey}` } } : {}),
  });
  await res.body?.cancel();
}
