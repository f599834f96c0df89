/** Runs a source and a sink as a pipeline, for the plugin tests. */
import { FlagSet, resolveFlags } from "../../src/flags.ts";
import { createLogger } from "../../src/logger.ts";
import { type ResolvedStep, runtimeSchema } from "../../src/pipeline.ts";
import { runPipeline } from "../../src/runner.ts";

const silent = createLogger({ level: "silent" });
const flags = new FlagSet(resolveFlags({ "parallel-partitions": true }, {}));

/** `source` → `sink`, one try per call, silent, reading `concurrency` partitions at once. */
export function runSteps(source: ResolvedStep, sink: ResolvedStep, concurrency = 1) {
  return runPipeline({
    name: "plugin-test",
    source,
    transforms: [],
    sink,
    runtime: runtimeSchema.parse({
      retry: { attempts: 1, minDelay: 1, maxDelay: 1, timeout: 10_000 },
      progressInterval: 0,
      concurrency,
    }),
  }, { log: silent, flags });
}
