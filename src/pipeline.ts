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

/** Run-wide settings every plugin shares. */
export const runtimeSchema = z.strictObject({
  retry: z.strictObject({
    attempts: z.number().int().min(1).max(100).default(6)
      .describe("Tries per call, the first included"),
    minDelay: duration().default(250).describe("Delay before the first retry"),
    maxDelay: duration().default(15_000).describe("Longest delay between tries"),
    timeout: duration().default(120_000).describe("Time limit of one call"),
  }).default({ attempts: 6, minDelay: 250, maxDelay: 15_000, timeout: 120_000 }),
  progressInterval: duration().default(5_000)
    .describe("How often progress is logged (0 turns it off)"),
}).default({
  retry: { attempts: 6, minDelay: 250, maxDelay: 15_000, timeout: 120_000 },
  progressInterval: 5_000,
});

/** A pipeline file. */
export const pipelineSchema = z.strictObject({
  name: z.string().min(1).describe("Pipeline name, shown in logs and summaries"),
  description: z.string().optional(),
  source: stepSchema,
  transforms: z.array(stepSchema).default([]),
  sink: stepSchema,
  runtime: runtimeSchema,
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
}
