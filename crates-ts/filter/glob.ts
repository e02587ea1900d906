/**
 * Glob patterns (Glob / NotGlob / IGlob / NotIGlob), with the syntax and semantics of Rust's `globset` crate
 * (what turbopuffer uses) under its default options (literal_separator off, backslash_escape on, empty_alternates
 * off), compiled to an RE2 program run by re2js: linear time, no backtracking, whatever the pattern.
 *
 *   `*`        any run of characters, including none and including `/` (literal_separator is off)
 *   `?`        exactly one character
 *   `[abc]` `[a-z]` one character of the set; `[!a-z]` or `[^a-z]` one character not in it. Inside brackets every
 *              character is literal (`[*]` matches `*`, `\` is itself); a `]` first and a `-` first or last are
 *              literal; `[a-c-e]` extends the range to `a-e`. An unclosed `[` or a reversed range is an error.
 *   `{a,b}`    either glob a or glob b; nests (`{a,b{c,d}}`); an empty alternative is dropped (`x{,y}` matches
 *              `xy` only; `{}` and `{,}` match the empty string). A `,` outside braces is literal; an unmatched
 *              `{` or `}` is an error.
 *   `\x`       the character x literally (any x); a trailing `\` is an error.
 *   `**`       recursive, as in globset, only next to a slash: a leading "double star, slash" matches any
 *              prefix ending in a slash, or none (so the pattern for "x anywhere" matches `x` and `a/x` but not `ax`); a
 *              trailing "slash, double star" matches a slash and anything after it (not the bare parent); "slash,
 *              double star, slash" inside matches one slash or a slash-delimited run (`a/b`, `a/x/y/b`); `**` alone
 *              matches everything; anywhere else `**` is `*` twice.
 * The whole value must match. Characters are Unicode code points; IGlob folds case with Unicode simple case
 * folding. (globset itself matches UTF-8 bytes with ASCII-only case folding, so for non-ASCII text its `?` and
 * `[é]` behave differently; elax follows the documented "one character" meaning.)
 *
 * Case-sensitive globs of the shapes `lit`, `lit*`, `*lit`, `*lit*`, `*` take string fast paths (exactly equal
 * by construction) instead of the engine: globs are evaluated once per document in exhaustive scans.
 */
import { RE2JS } from 're2js';
import { patternSizeError, type StringMatcher } from './regex.js';

export class GlobSyntaxError extends Error {}

type Tok =
  | { t: 'lit'; c: string }
  | { t: 'any' | 'star' | 'recPrefix' | 'recSuffix' | 'recZero' }
  | { t: 'class'; neg: boolean; ranges: Array<[number, number]> }
  | { t: 'alt'; branches: Tok[][] };

/** A recursive-descent-free parser: branches of the innermost open `{` are a stack, as in globset. */
class GlobParser {
  private i = 0;
  private prev: string | undefined;
  private cur: string | undefined;
  private readonly branches: Tok[][] = [[]];
  private readonly altStack: number[] = [];

  constructor(private readonly cps: string[]) {}

  parse(): Tok[] {
    for (let c = this.bump(); c !== undefined; c = this.bump()) {
      switch (c) {
        case '?':
          this.push({ t: 'any' });
          break;
        case '*':
          this.star();
          break;
        case '[':
          this.cls();
          break;
        case '{':
          this.altStack.push(this.branches.length);
          this.branches.push([]);
          break;
        case '}': {
          const start = this.altStack.pop();
          if (start === undefined) throw new GlobSyntaxError("'}' without a matching '{' (escape it as \\} or [}])");
          this.push({ t: 'alt', branches: this.branches.splice(start) });
          break;
        }
        case ',':
          if (this.altStack.length === 0) this.push({ t: 'lit', c });
          else this.branches.push([]);
          break;
        case '\\': {
          const n = this.bump();
          if (n === undefined) throw new GlobSyntaxError('pattern ends with an escaping backslash');
          this.push({ t: 'lit', c: n });
          break;
        }
        default:
          this.push({ t: 'lit', c });
      }
    }
    if (this.altStack.length > 0) throw new GlobSyntaxError("'{' without a matching '}' (escape it as \\{ or [{])");
    return this.branches[0]!;
  }

  private bump(): string | undefined {
    this.prev = this.cur;
    this.cur = this.cps[this.i];
    if (this.cur !== undefined) this.i++;
    return this.cur;
  }

  private peek(): string | undefined {
    return this.cps[this.i];
  }

  private last(): Tok[] {
    return this.branches[this.branches.length - 1]!;
  }

  private push(tok: Tok): void {
    this.last().push(tok);
  }

  /** `*` or `**` (this.cur is the first `*`); `**` is recursive only next to a `/` or a glob boundary. */
  private star(): void {
    const prev = this.prev;
    if (this.peek() !== '*') return this.push({ t: 'star' });
    this.bump();
    const twoStars = (): void => {
      this.push({ t: 'star' });
      this.push({ t: 'star' });
    };
    if (this.last().length === 0) {
      const nx = this.peek();
      if (nx !== undefined && nx !== '/') return twoStars();
      this.push({ t: 'recPrefix' });
      this.bump(); // the '/' (or nothing)
      return;
    }
    if (prev !== '/' && (this.branches.length <= 1 || (prev !== ',' && prev !== '{'))) return twoStars();
    const nx = this.peek();
    let suffix: boolean;
    if (nx === undefined) suffix = true;
    else if ((nx === ',' || nx === '}') && this.branches.length >= 2) suffix = true;
    else if (nx === '/') {
      this.bump();
      suffix = false;
    } else return twoStars();
    const popped = this.last().pop()!;
    if (popped.t === 'recPrefix' || popped.t === 'recSuffix') this.push(popped);
    else this.push({ t: suffix ? 'recSuffix' : 'recZero' });
  }

  /** `[...]` (this.cur is `[`). */
  private cls(): void {
    let neg = false;
    if (this.peek() === '!' || this.peek() === '^') {
      neg = true;
      this.bump();
    }
    const ranges: Array<[number, number]> = [];
    let first = true;
    let inRange = false;
    const extend = (c: string): void => {
      const r = ranges[ranges.length - 1]!;
      r[1] = c.codePointAt(0)!;
      if (r[1] < r[0]) throw new GlobSyntaxError(`reversed range '${String.fromCodePoint(r[0])}-${c}' in '[...]'`);
    };
    for (;;) {
      const c = this.bump();
      if (c === undefined) throw new GlobSyntaxError("unclosed '[' (escape a literal [ as \\[ or [[])");
      if (c === ']' && !first) break;
      if (c === '-' && !first) {
        if (inRange) {
          extend('-');
          inRange = false;
        } else inRange = true;
      } else if (inRange) {
        extend(c);
        inRange = false;
      } else {
        const cp = c.codePointAt(0)!;
        ranges.push([cp, cp]);
      }
      first = false;
    }
    if (inRange) ranges.push([0x2d, 0x2d]); // a trailing '-' is literal
    this.push({ t: 'class', neg, ranges });
  }
}

export function parseGlob(pattern: string): Tok[] {
  return new GlobParser(Array.from(pattern)).parse();
}

const hex = (cp: number): string => `\\x{${cp.toString(16)}}`;
const lit = (c: string): string => (/^[A-Za-z0-9_]$/.test(c) ? c : hex(c.codePointAt(0)!));

function toSource(toks: Tok[]): string {
  let re = '';
  for (const k of toks) {
    switch (k.t) {
      case 'lit':
        re += lit(k.c);
        break;
      case 'any':
        re += '.';
        break;
      case 'star':
        re += '.*';
        break;
      case 'recPrefix':
        re += '(?:/?|.*/)';
        break;
      case 'recSuffix':
        re += '/.*';
        break;
      case 'recZero':
        re += '(?:/|/.*/)';
        break;
      case 'class':
        re += `[${k.neg ? '^' : ''}${k.ranges.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('')}]`;
        break;
      case 'alt': {
        const parts = k.branches.map(toSource).filter((p) => p !== '');
        if (parts.length > 0) re += `(?:${parts.join('|')})`;
        break;
      }
    }
  }
  return re;
}

/** RE2 source for a glob, anchored at both ends (compile with DOTALL: `*` and `?` match newlines). Throws GlobSyntaxError. */
export function globToRegexSource(pattern: string): string {
  return sourceOf(parseGlob(pattern));
}

function sourceOf(toks: Tok[]): string {
  if (toks.length === 1 && toks[0]!.t === 'recPrefix') return '\\A.*\\z'; // `**` alone: everything
  return `\\A${toSource(toks)}\\z`;
}

/** The fast path for `lit`, `*lit`, `lit*`, `*lit*`, `*` (any number of `*` at each end), or null. */
function fastPath(toks: Tok[]): StringMatcher | null {
  if (toks.length === 1 && toks[0]!.t === 'recPrefix') return () => true;
  let a = 0;
  let b = toks.length;
  while (a < b && toks[a]!.t === 'star') a++;
  while (b > a && toks[b - 1]!.t === 'star') b--;
  let text = '';
  for (let i = a; i < b; i++) {
    const k = toks[i]!;
    if (k.t !== 'lit') return null;
    text += k.c;
  }
  const lead = a > 0;
  const trail = b < toks.length;
  if (lead && trail) return text === '' ? () => true : (s) => s.includes(text);
  if (lead) return (s) => s.endsWith(text);
  if (trail) return (s) => s.startsWith(text);
  return (s) => s === text;
}

/** A predicate for `pattern`; `caseInsensitive` for IGlob. Throws GlobSyntaxError on a malformed or oversized pattern. */
export function compileGlob(pattern: string, caseInsensitive: boolean): StringMatcher {
  const tooLong = patternSizeError(pattern);
  if (tooLong !== null) throw new GlobSyntaxError(tooLong);
  const toks = parseGlob(pattern);
  if (!caseInsensitive) {
    const f = fastPath(toks);
    if (f !== null) return f;
  }
  const source = sourceOf(toks);
  let re: RE2JS;
  try {
    re = RE2JS.compile(source, RE2JS.DOTALL | (caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0));
  } catch (e) {
    // The engine's own limits, e.g. braces nested over 1000 deep.
    throw new GlobSyntaxError((e as Error).message.replace(/^error parsing regexp: /, ''));
  }
  return (s) => re.test(s);
}
