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
  DeadLetterError,
  formatIssue,
  IntegrityError,
  isTransientStatus,
  messageOf,
  PipelineError,
  type PipelineIssue,
  PluginError,
  type PluginErrorTag,
  RunError,
  ServerError,
  TimeoutError,
  WeftError,
  type WeftErrorCode,
} from "./src/errors.ts";
export { type BatchingStats, estimateBytes } from "./src/batching.ts";
export { type CacheOptions, type CacheStats, RunCache } from "./src/cache.ts";
export { type DeadLetterEntry, decodeDeadLetterObject } from "./src/dead_letter.ts";
export {
  type FlagDefinition,
  type FlagName,
  FLAGS,
  FlagSet,
  type FlagSource,
  type FlagStage,
  type ResolvedFlag,
  resolveFlags,
} from "./src/flags.ts";
export { mergePartitions, type PartitionReader } from "./src/partitions.ts";
export { createLogger, type LogFormat, type Logger, type LogLevel } from "./src/logger.ts";
export { partitionKey } from "./src/messages.ts";
export type {
  CollectionMessage,
  IndexStatsMessage,
  Message,
  ObjectReference,
  ObjectsMessage,
  PartitionEndMessage,
  PartitionStartMessage,
  SourceInfoMessage,
  TenantInfo,
  Vector,
  WeftObject,
} from "./src/messages.ts";
export { type LoadOptions, loadPipeline, parsePipeline } from "./src/loader.ts";
export type { ResolvedPipeline, ResolvedStep, RuntimeConfig } from "./src/pipeline.ts";
export {
  type AnyPlugin,
  type Batch,
  type BatchLimits,
  type BatchSink,
  type Cache,
  type ConfirmRequest,
  definePlugin,
  type Flags,
  type Metrics,
  type ObjectOutcome,
  type Plugin,
  type PluginContext,
  type PluginKind,
  type SinkClosing,
} from "./src/plugin.ts";
export { PluginRegistry } from "./src/registry.ts";
export {
  backoffDelay,
  isOverload,
  isTransient,
  retry,
  type RetryOptions,
  sleep,
} from "./src/retry.ts";
export { type RunOptions, runPipeline } from "./src/runner.ts";
export { formatSummary, type RunSummary } from "./src/summary.ts";
export { byteSize, duration, optionalString } from "./src/units.ts";
export { VERSION } from "./src/version.ts";
export { builtinPlugins } from "./plugins/mod.ts";
