/**
 * JSON text that keeps `-0` and exact integer literals; the core's
 * {@linkcode stringifyJson}, re-exported for plugins.
 * @module
 */
export { JsonLiteral, stringifyJson } from "../../src/json.ts";
