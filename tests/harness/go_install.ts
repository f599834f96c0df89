/**
 * Builds a Go program once with `go install` and caches it per version under
 * `$GOPATH/bin/weft/`, so later runs start at once.
 * @module
 */
import { join } from "node:path";

/** A Go program to build. */
export interface GoProgram {
  /** Package path, e.g. `github.com/weaviate/weaviate/cmd/weaviate-server`. */
  pkg: string;
  /** Module version (a tag or a pseudo-version). */
  version: string;
  /** Binary name `go install` produces. */
  binary: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function goEnv(name: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("go", { args: ["env", name], stdout: "piped", stderr: "piped" })
      .output();
  } catch {
    throw new Error(
      "Cannot start test servers: Go is not installed; install Go >= 1.26 (the harness builds Weaviate and MinIO with `go install`), or set WEAVIATE_URL and S3_ENDPOINT to running servers",
    );
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/** Path of `program`'s binary, building it first if it is not cached. */
export async function ensureGoBinary(program: GoProgram): Promise<string> {
  const gopath = (await goEnv("GOPATH")).split(":")[0] || join(Deno.env.get("HOME") ?? "/", "go");
  const dir = join(gopath, "bin", "weft", `${program.binary}@${program.version}`);
  const bin = join(dir, program.binary);
  if (await exists(bin)) return bin;
  console.error(
    `weft: building ${program.binary} ${program.version} with go install (first run only; takes several minutes)…`,
  );
  const started = performance.now();
  const result = await new Deno.Command("go", {
    args: ["install", `${program.pkg}@${program.version}`],
    env: { GOBIN: dir, CGO_ENABLED: "0" },
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!result.success) {
    const tail = new TextDecoder().decode(result.stderr).trim().split("\n").slice(-5).join(" | ");
    throw new Error(
      `Cannot build ${program.binary} ${program.version}: go install failed: ${tail}`,
    );
  }
  console.error(
    `weft: built ${program.binary} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  return bin;
}
