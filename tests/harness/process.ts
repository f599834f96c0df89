/**
 * Starts a server process under a bash watchdog: the server is stopped and
 * its temporary directory removed when `stop()` is called, when this process
 * exits, or when this process dies without a chance to clean up.
 * @module
 */

/** A running server process. */
export interface ServerProcess {
  /** Temporary directory holding the server's data and log. */
  dir: string;
  /** Whether the process is still running. */
  running(): boolean;
  /** Last lines of the server's log. */
  logTail(lines?: number): string;
  /** Stops the server and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

const WATCHDOG = `
"$@" >"$WEFT_DIR/server.log" 2>&1 &
child=$!
echo $child >"$WEFT_DIR/server.pid"
cleanup() { kill -TERM $child 2>/dev/null; for i in $(seq 1 100); do kill -0 $child 2>/dev/null || break; sleep 0.1; done; kill -KILL $child 2>/dev/null; wait $child 2>/dev/null; rm -rf "$WEFT_DIR"; exit 0; }
trap cleanup TERM INT HUP
while kill -0 "$WEFT_PARENT" 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5 & wait $!; done
cleanup
`;

const live = new Set<Deno.ChildProcess>();
addEventListener("unload", () => {
  for (const child of live) {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
  }
});

/** Starts `bin args…` with `env`, in a fresh temporary directory (`$WEFT_DIR`). */
export async function startProcess(
  name: string,
  bin: string,
  args: (dir: string) => string[],
  env: (dir: string) => Record<string, string>,
): Promise<ServerProcess> {
  const dir = await Deno.makeTempDir({ prefix: `weft-${name}-` });
  const child = new Deno.Command("bash", {
    args: ["-c", WATCHDOG, `weft-${name}-watchdog`, bin, ...args(dir)],
    env: { ...env(dir), WEFT_DIR: dir, WEFT_PARENT: String(Deno.pid) },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  live.add(child);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    live.delete(child);
    return s;
  });
  child.unref();
  let stopped: Promise<void> | undefined;
  return {
    dir,
    running: () => !exited,
    logTail(lines = 15) {
      try {
        return Deno.readTextFileSync(`${dir}/server.log`).trim().split("\n").slice(-lines).join(
          "\n",
        );
      } catch {
        return "(no log)";
      }
    },
    stop() {
      stopped ??= (async () => {
        if (!exited) child.kill("SIGTERM");
        const timeout = setTimeout(() => {
          if (!exited) child.kill("SIGKILL");
        }, 20_000);
        await status;
        clearTimeout(timeout);
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      })();
      return stopped;
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Polls `check` until it returns true, the process dies, or `timeoutMs` passes. */
export async function waitUntil(
  what: string,
  proc: ServerProcess,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (!proc.running()) {
      const tail = proc.logTail();
      await proc.stop();
      throw new Error(`Cannot start ${what}: the process exited.\n${tail}`);
    }
    try {
      if (await check()) return;
    } catch {
      // Not up yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = proc.logTail();
  await proc.stop();
  throw new Error(`Cannot start ${what}: not ready after ${timeoutMs / 1000} s.\n${tail}`);
}
