/** File helpers shared by unit and integration tests. */
import { createHash } from "node:crypto";
import { join } from "node:path";

/** Every file under `dir` with its sha256; directories end with `/`. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string) => {
    for await (const entry of Deno.readDir(join(dir, rel))) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory) {
        out.set(`${path}/`, "");
        await walk(path);
      } else {
        const bytes = await Deno.readFile(join(dir, path));
        out.set(path, createHash("sha256").update(bytes).digest("hex"));
      }
    }
  };
  await walk("");
  return out;
}
