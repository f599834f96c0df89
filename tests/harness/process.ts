/**
 * Starts a server process under a bash watchdog: the server is stopped and
 * its temporary directory removed when `stop()` is called, when this process
 * exits, or when this process dies without a chance to clean up. `restart()`
 * stops the server but keeps its directory, then starts it again.
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
  /**
   * Stops the server with `signal` (keeping its directory), waits `downMs`,
   * then starts it again with the same arguments and environment. Resolves
   * once the new process is spawned, not when it is ready.
   */
  restart(options?: RestartOptions): Promise<void>;
  /** Stops the server and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@linkcode ServerProcess.restart}. */
export interface RestartOptions {
  /** How the server is stopped: `SIGKILL` (a crash, the default) or `SIGTERM` (a clean stop). */
  signal?: "SIGKILL" | "SIGTERM";
  /** Time the server stays down before it starts again, in ms. Default 0. */
  downMs?: number;
}

// USR1 / USR2 stop the server with KILL / TERM and leave the directory for a restart.
const WATCHDOG = `
"$@" >>"$WEFT_DIR/server.log" 2>&1 &
child=$!
echo $child >"$WEFT_DIR/server.pid"
halt() { { kill -$1 $child 2>/dev/null; for i in $(seq 1 100); do kill -0 $child 2>/dev/null || break; sleep 0.1; done; kill -KILL $child 2>/dev/null; wait $child 2>/dev/null; } 2>/dev/null; }
cleanup() { halt TERM; rm -rf "$WEFT_DIR"; exit 0; }
trap cleanup TERM INT HUP
trap 'halt KILL; exit 0' USR1
trap 'halt TERM; exit 0' USR2
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
  const spawn = () => {
    const child = new Deno.Command("bash", {
      args: ["-c", WATCHDOG, `weft-${name}-watchdog`, bin, ...args(dir)],
      env: { ...env(dir), WEFT_DIR: dir, WEFT_PARENT: String(Deno.pid) },
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    live.add(child);
    const watched = {
      child,
      exited: false,
      status: child.status.then((s) => {
        watched.exited = true;
        live.delete(child);
        return s;
      }),
    };
    child.unref();
    return watched;
  };
  const logTail = (lines = 15) => {
    try {
      return Deno.readTextFileSync(`${dir}/server.log`).trim().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  };
  let current = spawn();
  let stopped: Promise<void> | undefined;
  let restarting: Promise<void> | undefined;
  return {
    dir,
    running: () => !current.exited,
    logTail,
    restart({ signal = "SIGKILL", downMs = 0 } = {}) {
      if (stopped) return Promise.reject(new Error(`Cannot restart ${name}: it was stopped`));
      restarting ??= (async () => {
        if (current.exited) {
          throw new Error(`Cannot restart ${name}: the process exited.\n${logTail()}`);
        }
        current.child.kill(signal === "SIGKILL" ? "SIGUSR1" : "SIGUSR2");
        await current.status;
        if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
        if (!stopped) current = spawn();
      })().finally(() => restarting = undefined);
      return restarting;
    },
    stop() {
      stopped ??= (async () => {
        await restarting?.catch(() => {});
        const { child, status } = current;
        if (!current.exited) child.kill("SIGTERM");
        const timeout = setTimeout(() => {
          if (!current.exited) child.kill("SIGKILL");
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
