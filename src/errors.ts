/**
 * Errors users meet. Each has a stable `code`; programming mistakes stay
 * `TypeError` / `RangeError`.
 * @module
 */
import type { RunSummary } from "./summary.ts";

/** Stable codes, alphabetised. */
export type WeftErrorCode =
  | "CANCELLED"
  | "INTEGRITY"
  | "INVALID_PIPELINE"
  | "PLUGIN_FAILED"
  | "SERVER_UNAVAILABLE";

/** Options shared by every {@linkcode WeftError}. */
export interface WeftErrorOptions extends ErrorOptions {
  /**
   * Whether repeating the failed call may succeed. Defaults to `false`: only
   * what is known to be transient is retried.
   */
  retryable?: boolean;
}

/** Base class of every error weft reports to users. */
export class WeftError extends Error {
  /** Stable machine-readable code. */
  readonly code: WeftErrorCode;
  /** Whether repeating the failed call may succeed. */
  readonly retryable: boolean;

  constructor(code: WeftErrorCode, message: string, options: WeftErrorOptions = {}) {
    super(message, options);
    this.name = "WeftError";
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A run was stopped by its abort signal (Ctrl-C, SIGTERM, a caller). */
export class CancelledError extends WeftError {
  constructor(message = "Cannot finish run: cancelled", options: WeftErrorOptions = {}) {
    super("CANCELLED", message, { ...options, retryable: false });
    this.name = "CancelledError";
  }
}

/** Stored data does not match its checksum or its manifest. */
export class IntegrityError extends WeftError {
  constructor(message: string, options: WeftErrorOptions = {}) {
    super("INTEGRITY", message, { ...options, retryable: false });
    this.name = "IntegrityError";
  }
}

/** One problem found in a pipeline file, with where it is. */
export interface PipelineIssue {
  /** The pipeline file (or `--set`). */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  col?: number;
  /** Path inside the document, e.g. `source.with.pageSize`. */
  path: string;
  /** What is wrong. */
  message: string;
}

/** Formats an issue as `file:line:col: path: message`. */
export function formatIssue(issue: PipelineIssue): string {
  const where = issue.line === undefined
    ? issue.file
    : `${issue.file}:${issue.line}:${issue.col ?? 1}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** A pipeline file that cannot run; carries every problem found. */
export class PipelineError extends WeftError {
  /** Every problem, in document order. */
  readonly issues: PipelineIssue[];

  constructor(issues: PipelineIssue[]) {
    super("INVALID_PIPELINE", issues.map(formatIssue).join("\n"), { retryable: false });
    this.name = "PipelineError";
    this.issues = issues;
  }
}

/** Where a plugin error happened. */
export interface PluginErrorTag {
  /** Plugin name, e.g. `weaviate-writer`. */
  plugin: string;
  /** Step id in the pipeline, e.g. `sink`. */
  step: string;
}

/** An error thrown by a plugin, tagged by the runner with plugin and step. */
export class PluginError extends WeftError {
  /** Plugin name. */
  readonly plugin: string;
  /** Step id. */
  readonly step: string;

  constructor(tag: PluginErrorTag, cause: unknown) {
    super("PLUGIN_FAILED", `[${tag.plugin}] step "${tag.step}": ${messageOf(cause)}`, {
      cause,
      retryable: false,
    });
    this.name = "PluginError";
    this.plugin = tag.plugin;
    this.step = tag.step;
  }
}

/** HTTP statuses a later try may not meet: timeout, rate limit, server trouble. */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Whether an HTTP status is worth another try: 408, 429, 500, 502, 503, 504.
 *
 * @example
 * ```ts
 * import { isTransientStatus } from "./errors.ts";
 * if (!isTransientStatus(503) || isTransientStatus(422)) throw new Error("wrong classification");
 * ```
 */
export function isTransientStatus(status: number): boolean {
  return TRANSIENT_STATUSES.has(status);
}

/**
 * A server (Weaviate, S3) cannot be reached or refused a call. Unless
 * `retryable` says otherwise, it is retryable when there was no answer, or
 * when the answer's status is one {@linkcode isTransientStatus} accepts.
 */
export class ServerError extends WeftError {
  /** HTTP status, when there was a response. */
  readonly status: number | undefined;

  constructor(message: string, options: WeftErrorOptions & { status?: number } = {}) {
    const { status } = options;
    super("SERVER_UNAVAILABLE", message, {
      ...options,
      retryable: options.retryable ?? (status === undefined || isTransientStatus(status)),
    });
    this.name = "ServerError";
    this.status = status;
  }
}

/** A call passed its time limit (`RetryOptions.timeoutMs`); retryable. */
export class TimeoutError extends WeftError {
  /** The limit that passed, in ms. */
  readonly timeoutMs: number;

  constructor(ms: number, options: ErrorOptions = {}) {
    super("SERVER_UNAVAILABLE", `Cannot finish call: timed out after ${ms} ms`, {
      ...options,
      retryable: true,
    });
    this.name = "TimeoutError";
    this.timeoutMs = ms;
  }
}

/** The message of anything thrown, on one line. */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** What a failed run throws: the error, plus the summary of what was done. */
export class RunError extends Error {
  constructor(readonly summary: RunSummary, options: ErrorOptions) {
    super(summary.error ?? "run failed", options);
    this.name = "RunError";
  }
}

/** A run stops on this after objects were dead-lettered; the summary names the file. */
export class DeadLetterError extends WeftError {
  constructor(
    readonly count: number,
    readonly path: string,
    first: { id: string; collection: string; tenant?: string; error: string },
  ) {
    super(
      "PLUGIN_FAILED",
      `Cannot write ${count} object(s): refused after every retry, e.g. ${first.id} of "${first.collection}"${
        first.tenant === undefined ? "" : ` (tenant "${first.tenant}")`
      }: ${first.error}; all are in ${path}, to restore once fixed with BACKUP_PATH=${path} and mode overwrite`,
      { retryable: false },
    );
    this.name = "DeadLetterError";
  }
}
