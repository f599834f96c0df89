/**
 * Keeps secrets out of logs, errors, summaries, manifests and dry-run plans.
 * @module
 */

const SECRET_KEY =
  /(api[-_]?key|access[-_]?key(?![-_]?id)|private[-_]?key|password|passwd|passphrase|secret|token(?!iz)|credential|auth(?!or(?!iz))|cookie|signature)/i;
/** Option keys whose every value is secret, whatever the name under them (`headers`). */
const SECRET_CONTAINER = /headers$/i;
/** Variable names such as `OPENAI_KEY`, `SMTP_PASS`, `DB_PWD`, beyond {@linkcode SECRET_KEY}. */
const SECRET_VARIABLE = /(^|_)(KEY|PASS|PWD|PAT)(_|$)|PASSWORD/i;
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^@/\s]+)@/i;

/** Whether a config key names a secret (`apiKey`, `secretAccessKey`, …). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Whether an environment variable's name says it holds a secret
 * (`*_KEY`, `*_TOKEN`, `*_SECRET`, `*PASSWORD*`, `*_PASS`, …).
 */
export function isSecretVariable(name: string): boolean {
  return isSecretKey(name) || SECRET_VARIABLE.test(name);
}

/** A set of secret values that {@linkcode Redactor.redact} replaces with `***`. */
export class Redactor {
  #secrets = new Set<string>();

  /** Registers a secret value; values under 4 characters are ignored to keep text readable. */
  add(value: string | undefined): void {
    if (!value || value.length < 4) return;
    this.#secrets.add(value);
    // Messages are put on one line (line breaks become a space): mask that form and each line too.
    if (/\s*\n\s*/.test(value)) {
      this.add(value.replace(/\s*\n\s*/g, " ").trim());
      for (const line of value.split(/\r?\n/)) this.add(line.trim());
    }
  }

  /**
   * Registers every secret found in a config object: values under secret-named
   * keys or under `headers`, and the user info of URLs.
   */
  addFromConfig(value: unknown, key = "", secret = false): void {
    const inSecret = secret || isSecretKey(key) || SECRET_CONTAINER.test(key);
    if (typeof value === "string") {
      if (inSecret) this.add(value);
      this.add(USERINFO.exec(value)?.[2]);
    } else if (Array.isArray(value)) {
      for (const item of value) this.addFromConfig(item, key, inSecret);
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) this.addFromConfig(v, k, inSecret);
    }
  }

  /** Replaces every registered secret in `text`, longest first. */
  redact(text: string): string {
    let out = text;
    const secrets = [...this.#secrets].sort((a, b) => b.length - a.length);
    for (const secret of secrets) out = out.replaceAll(secret, "***");
    return out;
  }

  /**
   * A deep copy of `value` with masked: strings under secret-named keys or
   * under `headers`, the user info of URLs, and registered secrets.
   */
  redactValue<T>(value: T, key = "", secret = false): T {
    const inSecret = secret || isSecretKey(key) || SECRET_CONTAINER.test(key);
    if (typeof value === "string") {
      if (inSecret && value) return "***" as T;
      return this.redact(value).replace(USERINFO, "$1***@") as T;
    }
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v, key, inSecret)) as T;
    if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.redactValue(v, k, inSecret);
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
