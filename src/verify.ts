/**
 * `weft verify`: a pipeline built from flags — a backup directory or a
 * Weaviate collection as the source, `weaviate-verifier` as the sink.
 * @module
 */
import { PipelineError, type PipelineIssue } from "./errors.ts";
import { type ResolvedPipeline, type ResolvedStep, runtimeSchema } from "./pipeline.ts";
import type { PluginRegistry } from "./registry.ts";
import { isHostPort } from "./units.ts";

/** What `weft verify` compares. */
export interface VerifyOptions {
  /** A backup directory, or a Weaviate URL. */
  source: string;
  /** The Weaviate URL to compare with. */
  against: string;
  /** Only this collection (of the source). */
  collection?: string | undefined;
  /** The collection's name in the target, when it differs. */
  as?: string | undefined;
  apiKey?: string | undefined;
  report?: string | undefined;
  /** Tenant renames of the copy, source name → target name (`a=b,c=d`). */
  tenants?: string | undefined;
  /** Leave vectors out of the comparison (a copy restored with `skipVectors`). */
  skipVectors?: boolean | undefined;
}

/** Whether `source` names a Weaviate (a URL, or `host:port` that is not a directory here). */
function isServer(source: string): boolean {
  if (/^https?:\/\//i.test(source)) return true;
  if (!isHostPort(source)) return false;
  try {
    return !Deno.statSync(source).isDirectory;
  } catch {
    return true;
  }
}

/** Builds the verify pipeline; throws {@linkcode PipelineError} for bad flags. */
export function verifyPipeline(options: VerifyOptions, registry: PluginRegistry): ResolvedPipeline {
  const fromServer = isServer(options.source);
  const collections = options.collection ? [options.collection] : ["*"];
  const auth = options.apiKey ? { apiKey: options.apiKey } : {};
  const issues: PipelineIssue[] = [];
  const step = (id: string, name: string, config: Record<string, unknown>) => {
    const plugin = registry.get(name)!;
    const parsed = plugin.config.safeParse(config);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        issues.push({ file: "weft verify", path: issue.path.join("."), message: issue.message });
      }
    }
    return { id, plugin, config: parsed.data } as ResolvedStep;
  };
  const source = fromServer
    ? step("source", "weaviate-reader", { url: options.source, collections, ...auth })
    : step("source", "file-reader", { path: options.source, collections });
  const tenants: Record<string, string> = {};
  for (const pair of options.tenants?.split(",").filter(Boolean) ?? []) {
    const [from, to, ...rest] = pair.split("=").map((t) => t.trim());
    if (!from || !to || rest.length) {
      issues.push({
        file: "weft verify",
        path: "--tenants",
        message: `expected source=target pairs separated by commas, got "${pair}"`,
      });
    } else tenants[from] = to;
  }
  const sink = step("verify", "weaviate-verifier", {
    ...(Object.keys(tenants).length ? { tenants } : {}),
    url: options.against,
    ...auth,
    ...(options.as ? { collection: options.as } : {}),
    ...(options.report ? { report: options.report } : {}),
    ...(options.skipVectors ? { vectors: false } : {}),
  });
  if (issues.length) throw new PipelineError(issues);
  return {
    name: "verify",
    source,
    transforms: [],
    sink,
    runtime: runtimeSchema.parse({ progressInterval: 0 }),
  };
}
