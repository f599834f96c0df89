/** `weft` entry point: `deno run -A main.ts <command> …`. */
import { main } from "./src/cli.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
