/**
 * Name patterns with `*` wildcards, matched case-insensitively (Weaviate
 * collection names are case-insensitive on their first letter).
 * @module
 */

/** A predicate that is true for names matching any of `patterns`. */
export function compilePatterns(patterns: readonly string[]): (name: string) => boolean {
  const res = patterns.map((p) =>
    new RegExp(
      `^${p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`,
      "i",
    )
  );
  return (name) => res.some((re) => re.test(name));
}
