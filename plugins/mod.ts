/**
 * The built-in plugins.
 * @module
 */
import type { AnyPlugin } from "../src/plugin.ts";
import { fileReader } from "./file_reader.ts";
import { fileWriter } from "./file_writer.ts";
import { weaviateClearer } from "./weaviate_clearer.ts";
import { weaviateReader } from "./weaviate_reader.ts";
import { weaviateVerifier } from "./weaviate_verifier.ts";
import { weaviateWriter } from "./weaviate_writer.ts";

export { fileReader } from "./file_reader.ts";
export { fileWriter } from "./file_writer.ts";
export { weaviateClearer } from "./weaviate_clearer.ts";
export { weaviateReader } from "./weaviate_reader.ts";
export { weaviateVerifier } from "./weaviate_verifier.ts";
export { weaviateWriter } from "./weaviate_writer.ts";

/** Every built-in plugin. */
export const builtinPlugins: readonly AnyPlugin[] = [
  weaviateReader,
  weaviateWriter,
  fileReader,
  fileWriter,
  weaviateVerifier,
  weaviateClearer,
];
