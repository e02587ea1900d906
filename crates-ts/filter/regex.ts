/**
 * Regex filter patterns, evaluated in linear time by re2js (a pure-JS port of RE2), never by JavaScript's
 * backtracking RegExp: a pattern like `^(a+)+$` or `^(.*x){12}y` must not be able to freeze the node.
 *
 * Syntax is Rust's `regex` crate (what turbopuffer uses), translated by rust-regex.ts; what RE2 cannot express
 * (backreferences, lookaround) is a 400 naming the construct. The match is unanchored (a search, as Rust's
 * is_match). Patterns over MAX_PATTERN_BYTES are rejected before parsing.
 *
 * Fast paths, equivalent by construction: a pattern with no metacharacter at all is a substring test; `^lit`,
 * `lit$`, `^lit$` are startsWith / endsWith / equality (without `(?m)`, which cannot appear in such a pattern,
 * `^` and `$` anchor at the ends of the value only, in Rust and RE2 alike).
 */
import { RE2JS } from 're2js';
import { translateRustRegex } from './rust-regex.js';

/** Longest Regex / Glob pattern accepted, in UTF-8 bytes. */
export const MAX_PATTERN_BYTES = 4096;

export type StringMatcher = (s: string) => boolean;

/** An error message if `pattern` is over the size limit. */
export function patternSizeError(pattern: string): string | null {
  // UTF-8 bytes >= UTF-16 code units, so a long string is rejected without counting it.
  const bytes = pattern.length > MAX_PATTERN_BYTES ? pattern.length : Buffer.byteLength(pattern, 'utf8');
  if (bytes <= MAX_PATTERN_BYTES) return null;
  const what = pattern.length > MAX_PATTERN_BYTES ? `${pattern.length} characters` : `${bytes} bytes`;
  return `the pattern is ${what} long; patterns are limited to ${MAX_PATTERN_BYTES} bytes`;
}

/** The pattern for an error message (at most 80 characters of it). */
export function quotePattern(pattern: string): string {
  return JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 77)}...` : pattern);
}

const LITERAL = /^(\^?)([^\\.+*?()|[\]{}^$]*)(\$?)$/;

/** A compiled pattern, or an error message naming what is wrong. */
export function compileRegex(pattern: string): StringMatcher | { error: string } {
  const tooLong = patternSizeError(pattern);
  if (tooLong !== null) return { error: tooLong };
  const lit = LITERAL.exec(pattern);
  if (lit) {
    const [, start, text, end] = lit as unknown as [string, string, string, string];
    if (start && end) return (s) => s === text;
    if (start) return (s) => s.startsWith(text);
    if (end) return (s) => s.endsWith(text);
    return (s) => s.includes(text);
  }
  const t = translateRustRegex(pattern);
  if ('error' in t) return { error: `unsupported regular expression ${quotePattern(pattern)}: ${t.error}` };
  try {
    const re = RE2JS.compile(t.source);
    return (s) => re.test(s);
  } catch (e) {
    const msg = (e as Error).message.replace(/^error parsing regexp: /, '');
    return { error: `invalid regular expression ${quotePattern(pattern)}: ${msg}` };
  }
}
