/**
 * weft: plugin-based ETL pipelines over web streams; first job: back up,
 * restore, migrate and clear Weaviate collections.
 *
 * This module is the public API for plugin authors and embedders.
 *
 * @example Run a pipeline file
 * ```ts ignore
 * import { builtinPlugins, loadPipeline, PluginRegistry, runPipeline } from "./mod.ts";
 * const pipeline = await loadPipeline("pipelines/backup.yaml", {
 *   registry: new PluginRegistry(builtinPlugins),
 * });
 * const summary = await runPipeline(pipeline);
 * console.log(summary.objects);
 * ```
 * @module
 */
export {
  CancelledError,
  formatIssue,
  IntegrityError,
  messageOf,
  PipelineError,
  type PipelineIssue,
  PluginError,
  type PluginErrorTag,
  ServerError,
  WeftError,
  type WeftErrorCode,
} from "./src/errors.ts";
export { createLogger, type LogFormat, type Logger, type LogLevel } from "./src/logger.ts";
export type {
  CollectionMessage,
  IndexStatsMessage,
  Message,
  ObjectReference,
  ObjectsMessage,
  SourceInfoMessage,
  TenantInfo,
  Vector,
  WeftObject,
} from "./src/messages.ts";
export { type LoadOptions, loadPipeline, parsePipeline } from "./src/loader.ts";
export type { ResolvedPipeline, ResolvedStep, RuntimeConfig } from "./src/pipeline.ts";
export {
  type AnyPlugin,
  type ConfirmRequest,
  definePlugin,
  type Metrics,
  type Plugin,
  type PluginContext,
  type PluginKind,
} from "./src/plugin.ts";
export { PluginRegistry } from "./src/registry.ts";
export { backoffDelay, retry, type RetryOptions, sleep, TimeoutError } from "./src/retry.ts";
export { RunError, type RunOptions, runPipeline } from "./src/runner.ts";
export { formatSummary, type RunSummary } from "./src/summary.ts";
export { byteSize, duration, optionalString } from "./src/units.ts";
export { VERSION } from "./src/version.ts";
export { builtinPlugins } from "./plugins/mod.ts";
