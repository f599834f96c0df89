/**
 * The Python cases' environment: a virtualenv outside the repository
 * (`$XDG_CACHE_HOME/weft-bench/venv-<version>`, default `~/.cache/…`) holding
 * the official Python client, pinned, installed from PyPI on first use.
 * @module
 */

/** The Python client's version: a current 4.x supporting Weaviate 1.39. */
export const PYTHON_CLIENT = "4.24.1";

/** Folder of the Python case scripts. */
export const PYTHON_SCRIPTS = new URL("./python/", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.success ? out.stdout : out.stderr);
    return { ok: out.success, out: text.trim() };
  } catch (error) {
    return { ok: false, out: String(error) };
  }
}

/**
 * The venv's python with weaviate-client {@linkcode PYTHON_CLIENT}, creating
 * it when needed; undefined (with the reason on stderr) without python3 or PyPI.
 */
export async function pythonWithClient(): Promise<string | undefined> {
  const home = Deno.env.get("HOME") ?? "/tmp";
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`;
  const venv = `${cache}/weft-bench/venv-${PYTHON_CLIENT}`;
  const python = `${venv}/bin/python`;
  const probe = ["-c", "import weaviate; print(weaviate.__version__)"];
  if ((await run(python, probe)).out === PYTHON_CLIENT) return python;
  if (!(await run("python3", ["--version"])).ok) {
    console.error("e2e: python3 not found: skipping the Python cases");
    return undefined;
  }
  console.error(`e2e: installing weaviate-client==${PYTHON_CLIENT} into ${venv}…`);
  const steps: [string, string[]][] = [
    ["python3", ["-m", "venv", venv]],
    [python, ["-m", "pip", "install", "-q", `weaviate-client==${PYTHON_CLIENT}`]],
  ];
  for (const [cmd, args] of steps) {
    const result = await run(cmd, args);
    if (!result.ok) {
      console.error(
        `e2e: ${cmd} ${args.join(" ")} failed, skipping the Python cases:\n${result.out}`,
      );
      return undefined;
    }
  }
  return (await run(python, probe)).out === PYTHON_CLIENT ? python : undefined;
}
