/**
 * One backup line: `encodeObject` / `decodeObject` of an article (768-dim
 * vector, ~0.5 KB of properties), against what the REST reader pays for the
 * same object (`JSON.parse` of the listing JSON with 768 numbers, then
 * `toWeftObject`), and the share of `stringifyJson`'s replacer (kept for
 * `-0`) in writing a line.
 *
 *   deno bench -A bench/micro/lines.bench.ts
 * @module
 */
import { decodeObject, encodeObject } from "../../plugins/_shared/backup_format.ts";
import { toWeftObject } from "../../plugins/_shared/weaviate_objects.ts";
import { stringifyJson } from "../../src/json.ts";
import { article, restListingJson } from "./_fixtures.ts";

let sink = 0;

const object = article(1);
const line = encodeObject(object);
const rest = restListingJson(1);
const noRefs = new Set<string>();
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const lineBytes = encoder.encode(line);
/** The stored shape `encodeObject` serialises, vector already in base64. */
const stored = JSON.parse(line) as Record<string, unknown>;

Deno.bench({
  name: `encodeObject (line of ${line.length} chars)`,
  group: "line encode",
  baseline: true,
  fn: () => void (sink += encodeObject(object).length),
});
Deno.bench({
  name: "encodeObject + TextEncoder.encode (as written to the file)",
  group: "line encode",
  fn: () => void (sink += encoder.encode(encodeObject(object)).length),
});
Deno.bench({
  name: "stringifyJson(stored shape): scan for -0 first",
  group: "line encode",
  fn: () => void (sink += stringifyJson(stored).length),
});
Deno.bench({
  name: "JSON.stringify(stored shape): no replacer",
  group: "line encode",
  fn: () => void (sink += JSON.stringify(stored).length),
});

Deno.bench({
  name: "decodeObject (backup line)",
  group: "line decode",
  baseline: true,
  fn: () => void (sink += decodeObject(line).id.length),
});
Deno.bench({
  name: "TextDecoder.decode + decodeObject (as file-reader does)",
  group: "line decode",
  fn: () => void (sink += decodeObject(decoder.decode(lineBytes)).id.length),
});
Deno.bench({
  name: `JSON.parse of the REST listing object (${rest.length} chars)`,
  group: "line decode",
  fn: () => void (sink += (JSON.parse(rest) as { id: string }).id.length),
});
Deno.bench({
  name: "JSON.parse + toWeftObject (REST reader, per object)",
  group: "line decode",
  fn: () => void (sink += toWeftObject(JSON.parse(rest), noRefs).id.length),
});

addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
