/**
 * Regex filter patterns. turbopuffer evaluates Rust `regex` syntax; elax uses JavaScript RegExp with the `u`
 * flag, which agrees on the common subset (classes, quantifiers, anchors, alternation, \d \w \s \b, \p{..}).
 * Rust's leading inline flags `(?i)`, `(?s)`, `(?m)` (and combinations) are translated to RegExp flags since
 * JavaScript (before ES2025) has no inline flags. The match is unanchored (a search), as in Rust's is_match.
 */

const LEADING_FLAGS = /^\(\?([a-zA-Z]+)\)/;

/** A compiled pattern, or an error message naming what is wrong. */
export function compileRegex(pattern: string): RegExp | { error: string } {
  let src = pattern;
  let flags = 'u';
  const m = LEADING_FLAGS.exec(src);
  if (m) {
    for (const f of m[1]!) {
      if (f !== 'i' && f !== 's' && f !== 'm') return { error: `inline flag '${f}' in '(?${m[1]})' is not supported (supported: i, s, m)` };
      if (!flags.includes(f)) flags += f;
    }
    src = src.slice(m[0].length);
  }
  try {
    return new RegExp(src, flags);
  } catch (e) {
    return { error: `invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}` };
  }
}
