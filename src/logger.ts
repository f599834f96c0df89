/**
 * Structured logs with levels, as text for people or JSON lines for machines.
 * Every line passes through the run's {@linkcode Redactor}.
 * @module
 */
import { Redactor } from "./redact.ts";

/** Log levels, quietest last. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Output format of a {@linkcode Logger}. */
export type LogFormat = "text" | "json";

/** Extra fields on a log line. */
export type LogFields = Record<string, unknown>;

/** A structured logger. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  redactor?: Redactor;
  /** Where lines go; defaults to stderr. */
  write?: (line: string) => void;
}

const encoder = new TextEncoder();
const toStderr = (line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n"));

/** Creates a logger. */
export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const format = options.format ?? "text";
  const redactor = options.redactor ?? new Redactor();
  const write = options.write ?? toStderr;

  const log = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    // Masked before formatting too: JSON escaping would hide a secret holding `"` or `\`.
    const all = redactor.redactValue({ ...base, ...fields });
    const msg = redactor.redact(message);
    let line: string;
    if (format === "json") {
      line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...all });
    } else {
      const { plugin, ...rest } = all;
      const time = new Date().toISOString().slice(11, 19);
      const tag = plugin ? ` [${plugin}]` : "";
      const extra = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      line = `${time} ${level.toUpperCase().padEnd(5)}${tag} ${msg}${extra ? " " + extra : ""}`;
    }
    write(redactor.redact(line));
  };

  return {
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}
