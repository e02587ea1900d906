/**
 * Unix glob patterns (Glob / NotGlob / IGlob / NotIGlob) compiled once into a string predicate.
 *
 * Syntax: `*` any run of characters (including none, and including `/`: attribute values are not paths),
 * `?` exactly one character, `[abc]` / `[a-z]` one character of a set, `[!a-z]` or `[^a-z]` one character not in
 * it (a `]` right after `[`, `[!` or `[^` is literal), `\x` the character x literally. The whole value must match.
 * Characters are Unicode code points. An unclosed `[`, an empty or reversed range or a trailing `\` is an error.
 *
 * Common shapes take fast paths (`abc`, `abc*`, `*abc`, `*abc*`) instead of a RegExp: globs are evaluated once
 * per document in exhaustive scans.
 */

export class GlobSyntaxError extends Error {}

const hex = (cp: number): string => `\\u{${cp.toString(16)}}`;
// Characters that must be escaped outside a class in a `u`-flag RegExp (and may be: `-` may not).
const REGEX_SPECIALS = /[\\^$.*+?()[\]{}|/]/g;
const escapeLiteral = (ch: string): string => ch.replace(REGEX_SPECIALS, '\\$&');

/** Parses a `[...]` class starting at cps[i] === '['; returns the RegExp class source and the index after `]`. */
function parseClass(cps: string[], start: number): [string, number] {
  let i = start + 1;
  let negate = false;
  if (cps[i] === '!' || cps[i] === '^') {
    negate = true;
    i++;
  }
  const items: string[] = [];
  let first = true;
  for (;;) {
    if (i >= cps.length) throw new GlobSyntaxError(`unclosed '[' at position ${start}`);
    let ch = cps[i]!;
    if (ch === ']' && !first) break;
    first = false;
    if (ch === '\\') {
      i++;
      if (i >= cps.length) throw new GlobSyntaxError('pattern ends with an escaping backslash');
      ch = cps[i]!;
    }
    const lo = ch.codePointAt(0)!;
    // A range a-z (a '-' just before ']' is literal).
    if (cps[i + 1] === '-' && i + 2 < cps.length && cps[i + 2] !== ']') {
      let hiCh = cps[i + 2]!;
      let adv = 3;
      if (hiCh === '\\') {
        if (i + 3 >= cps.length) throw new GlobSyntaxError('pattern ends with an escaping backslash');
        hiCh = cps[i + 3]!;
        adv = 4;
      }
      const hi = hiCh.codePointAt(0)!;
      if (hi < lo) throw new GlobSyntaxError(`reversed range '${ch}-${hiCh}' in '[...]'`);
      items.push(`${hex(lo)}-${hex(hi)}`);
      i += adv;
    } else {
      items.push(hex(lo));
      i++;
    }
  }
  return [`[${negate ? '^' : ''}${items.join('')}]`, i + 1];
}

/** RegExp source (anchored) for a glob; throws GlobSyntaxError. */
export function globToRegExpSource(pattern: string): string {
  const cps = Array.from(pattern);
  let src = '';
  for (let i = 0; i < cps.length; ) {
    const ch = cps[i]!;
    if (ch === '*') {
      while (cps[i] === '*') i++;
      src += '.*';
    } else if (ch === '?') {
      src += '.';
      i++;
    } else if (ch === '[') {
      const [cls, next] = parseClass(cps, i);
      src += cls;
      i = next;
    } else if (ch === '\\') {
      if (i + 1 >= cps.length) throw new GlobSyntaxError('pattern ends with an escaping backslash');
      src += escapeLiteral(cps[i + 1]!);
      i += 2;
    } else {
      src += escapeLiteral(ch);
      i++;
    }
  }
  return `^${src}$`;
}

const GLOB_META = /[*?[\\]/;

/** A predicate for `pattern`; `caseInsensitive` for IGlob. Throws GlobSyntaxError on a malformed pattern. */
export function compileGlob(pattern: string, caseInsensitive: boolean): (s: string) => boolean {
  const source = globToRegExpSource(pattern); // validates even when a fast path is taken
  if (!caseInsensitive) {
    if (/^\*+$/.test(pattern)) return () => true;
    const inner = pattern.replace(/^\*+/, '').replace(/\*+$/, '');
    if (!GLOB_META.test(inner)) {
      const lead = pattern.startsWith('*');
      const trail = pattern.endsWith('*');
      if (lead && trail) return (s) => s.includes(inner);
      if (lead) return (s) => s.endsWith(inner);
      if (trail) return (s) => s.startsWith(inner);
      return (s) => s === pattern;
    }
  }
  const re = new RegExp(source, caseInsensitive ? 'isu' : 'su');
  return (s) => re.test(s);
}
