/**
 * Keeps secrets out of logs, errors, summaries and manifests.
 * @module
 */

const SECRET_KEY = /(api[-_]?key|password|passwd|secret|token|credential|authorization)/i;

/** Whether a config key names a secret (`apiKey`, `secretAccessKey`, …). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A set of secret values that {@linkcode Redactor.redact} replaces with `***`. */
export class Redactor {
  #secrets = new Set<string>();

  /** Registers a secret value; values under 4 characters are ignored to keep text readable. */
  add(value: string | undefined): void {
    if (value && value.length >= 4) this.#secrets.add(value);
  }

  /** Registers every secret found in a config object (by key name or URL credentials). */
  addFromConfig(value: unknown, key = ""): void {
    if (typeof value === "string") {
      if (isSecretKey(key)) this.add(value);
      const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^@/\s]+)@/i.exec(value)?.[1];
      if (userinfo) this.add(userinfo);
    } else if (Array.isArray(value)) {
      for (const item of value) this.addFromConfig(item, key);
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) this.addFromConfig(v, k);
    }
  }

  /** Replaces every registered secret in `text`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.replaceAll(secret, "***");
    return out;
  }

  /** A deep copy of `value` with secret-named keys and registered secrets masked. */
  redactValue<T>(value: T, key = ""): T {
    if (typeof value === "string") {
      return (isSecretKey(key) && value ? "***" : this.redact(value)) as T;
    }
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v, key)) as T;
    if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.redactValue(v, k);
      return out as T;
    }
    return value;
  }
}

/** `url` without user info, query or fragment: safe to record. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(invalid url)";
  }
}
