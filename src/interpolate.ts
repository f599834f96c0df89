/**
 * `${VAR}`, `${VAR:-default}` (default when unset or empty) and
 * `${VAR-default}` (default when unset) in pipeline values; `$${` is a
 * literal `${`. Braces inside a default must balance (`${P:-./b-{timestamp}}`).
 * @module
 */

/** Result of {@linkcode interpolate}. */
export interface Interpolated {
  value: string;
  /** Variables that were unset and had no default, once each. */
  missing: string[];
  /**
   * Problems with the syntax itself, e.g. an unclosed `${`. They name a
   * position, never the text: a value may hold a secret.
   */
  errors: string[];
  /** Whether anything was substituted. */
  changed: boolean;
  /** Variables whose value (not a default) went into `value`, once each. */
  substituted: string[];
}

const NAME = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([\s\S]*))?$/;

/** Substitutes environment variables in `text`. */
export function interpolate(
  text: string,
  env: (name: string) => string | undefined,
): Interpolated {
  const missing = new Set<string>();
  const substituted = new Set<string>();
  const errors: string[] = [];
  let changed = false;
  let out = "";
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      out += "${";
      i += 3;
      changed = true;
      continue;
    }
    if (!text.startsWith("${", i)) {
      out += text[i++];
      continue;
    }
    let depth = 1;
    let j = i + 2;
    for (; j < text.length && depth > 0; j++) {
      if (text[j] === "{") depth++;
      else if (text[j] === "}") depth--;
    }
    if (depth > 0) {
      errors.push(`unclosed "\${" at character ${i + 1} of the value`);
      out += text.slice(i);
      break;
    }
    const inner = text.slice(i + 2, j - 1);
    const match = NAME.exec(inner);
    changed = true;
    if (!match) {
      errors.push(
        `"\${" at character ${i + 1} of the value does not start a variable reference ` +
          "like ${NAME} or ${NAME:-default}",
      );
    } else {
      const [, name, op, fallback = ""] = match;
      const found = env(name!);
      if (op === ":-" && !found) out += fallback;
      else if (op === "-" && found === undefined) out += fallback;
      else if (found === undefined) missing.add(name!);
      else {
        out += found;
        substituted.add(name!);
      }
    }
    i = j;
  }
  return { value: out, missing: [...missing], errors, changed, substituted: [...substituted] };
}
