/**
 * The shape of a pipeline file, and of a pipeline once its plugins are resolved.
 * @module
 */
import { z } from "zod";
import type { AnyPlugin } from "./plugin.ts";
import { duration } from "./units.ts";

/** One step of a pipeline: a plugin and its options. */
export const stepSchema = z.strictObject({
  use: z.string().min(1).describe("Built-in plugin name, or a path to a plugin module (./x.ts)"),
  id: z.string().regex(/^[a-z][a-z0-9-]*$/, "expected a kebab-case id").optional()
    .describe("Step id shown in logs and errors"),
  with: z.record(z.string(), z.unknown()).default({}).describe("The plugin's options"),
});

const RETRY_DEFAULTS = { attempts: 6, minDelay: 250, maxDelay: 15_000, timeout: 120_000 };

/** Run-wide settings every plugin shares. */
export const runtimeSchema = z.strictObject({
  retry: z.strictObject({
    attempts: z.number().int().min(1).max(100).default(RETRY_DEFAULTS.attempts)
      .describe("Tries per call (and per object of a batch), the first included"),
    minDelay: duration().default(RETRY_DEFAULTS.minDelay).describe("Delay before the first retry"),
    maxDelay: duration().default(RETRY_DEFAULTS.maxDelay).describe("Longest delay between tries"),
    timeout: duration().default(RETRY_DEFAULTS.timeout).describe("Time limit of one call"),
  }).default(RETRY_DEFAULTS),
  progressInterval: duration().default(5_000)
    .describe("How often progress is logged (0 turns it off)"),
  concurrency: z.number().int().min(1).max(64).default(4)
    .describe("Partitions (collections or tenants) a source reads at once"),
  batch: z.union([
    z.literal("auto"),
    z.strictObject({
      size: z.number().int().min(1).max(100_000).describe("Objects per batch"),
      concurrency: z.number().int().min(1).max(64).describe("Batches in flight"),
    }),
  ]).default("auto")
    .describe(
      "Batches a server sink gets: auto (adapted to latency and errors) or a fixed { size, concurrency }",
    ),
  deadLetter: z.string().min(1).optional()
    .describe(
      "JSON Lines file for objects a sink refused after every retry (default: <pipeline>-<time>.dead-letter.jsonl in the working directory)",
    ),
}).default({
  retry: RETRY_DEFAULTS,
  progressInterval: 5_000,
  concurrency: 4,
  batch: "auto",
});

/** A pipeline file. */
export const pipelineSchema = z.strictObject({
  name: z.string().min(1).describe("Pipeline name, shown in logs and summaries"),
  description: z.string().optional(),
  source: stepSchema,
  transforms: z.array(stepSchema).default([]),
  sink: stepSchema,
  runtime: runtimeSchema,
  flags: z.record(z.string(), z.union([z.boolean(), z.enum(["on", "off"])])).default({})
    .describe("Feature flags by name (see `weft flags`): true/on or false/off"),
});

/** A pipeline file after parsing (before plugins are resolved). */
export type PipelineFile = z.output<typeof pipelineSchema>;
/** Run-wide settings. */
export type RuntimeConfig = z.output<typeof runtimeSchema>;

/** One step with its plugin found and its options validated. */
export interface ResolvedStep {
  /** `source`, `sink`, `transforms[0]`, or the step's own `id`. */
  id: string;
  plugin: AnyPlugin;
  config: unknown;
}

/** A pipeline ready to run. */
export interface ResolvedPipeline {
  name: string;
  /** File it was loaded from, if any. */
  file?: string;
  source: ResolvedStep;
  transforms: ResolvedStep[];
  sink: ResolvedStep;
  runtime: RuntimeConfig;
  /** Feature flags set in the pipeline file (validated; env and defaults are applied at run time). */
  flags?: Record<string, boolean>;
}
