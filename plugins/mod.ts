/**
 * The built-in plugins.
 * @module
 */
import type { AnyPlugin } from "../src/plugin.ts";
import { fileWriter } from "./file_writer.ts";
import { weaviateReader } from "./weaviate_reader.ts";

export { fileWriter } from "./file_writer.ts";
export { weaviateReader } from "./weaviate_reader.ts";

/** Every built-in plugin. */
export const builtinPlugins: readonly AnyPlugin[] = [weaviateReader, fileWriter];
