/**
 * Errors users meet. Each has a stable `code`; programming mistakes stay
 * `TypeError` / `RangeError`.
 * @module
 */

/** Stable codes, alphabetised. */
export type WeftErrorCode =
  | "CANCELLED"
  | "INTEGRITY"
  | "INVALID_PIPELINE"
  | "PLUGIN_FAILED"
  | "SERVER_UNAVAILABLE";

/** Options shared by every {@linkcode WeftError}. */
export interface WeftErrorOptions extends ErrorOptions {
  /** Whether repeating the failed call may succeed. Defaults to `true`. */
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
    this.retryable = options.retryable ?? true;
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

/** A server (Weaviate, S3) cannot be reached or refused a call. */
export class ServerError extends WeftError {
  /** HTTP status, when there was a response. */
  readonly status: number | undefined;

  constructor(message: string, options: WeftErrorOptions & { status?: number } = {}) {
    super("SERVER_UNAVAILABLE", message, options);
    this.name = "ServerError";
    this.status = options.status;
  }
}

/** The message of anything thrown, on one line. */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, " ").trim();
}
