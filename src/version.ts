/** weft's version, from deno.json. */
import config from "../deno.json" with { type: "json" };

/** The running weft version. */
export const VERSION: string = config.version;
