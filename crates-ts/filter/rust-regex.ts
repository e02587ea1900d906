/**
 * Rust `regex` syntax → RE2 syntax (what re2js parses). turbopuffer evaluates Regex filters with Rust's `regex`
 * crate; RE2 is its model (same linear-time design, near-identical syntax). Where the two differ this either
 * rewrites the pattern to mean what Rust means, or rejects it with a message naming the construct, so a pattern
 * never silently means something else here:
 *
 *   rewritten  `\d \s \w` and negations are Unicode-aware in Rust, ASCII in RE2: expanded to Unicode classes
 *              (`\w` as letters, marks, decimal digits, letter numbers, connector punctuation, ZWNJ/ZWJ: Rust's
 *              Alphabetic property is approximated by L + Nl + M); `(?-u)` turns that off as in Rust.
 *              `\u{..} \uXXXX \U{..} \UXXXXXXXX` → `\x{..}`; `{,n}` → `{0,n}` (a literal in RE2);
 *              the `u` and `x` (verbose: whitespace and `#` comments ignored) flags are applied here.
 *   rejected   backreferences (`\1`, `\k<n>`, `(?P=n)`) and octal escapes, lookaround (`(?=` `(?!` `(?<=` `(?<!`),
 *              `\<` `\>` `\b{start}`-style word boundaries, nested classes and class set operations (`&&` `--`
 *              `~~`), `\Q..\E`, the `R` flag, `\W` inside a negated class with other items.
 *   same       everything else (classes, `[[:alpha:]]`, `\pL`, `\p{Greek}`, quantifiers, lazy `?`, `(?i)` `(?m)`
 *              `(?s)` `(?U)` anywhere and scoped `(?i:..)`, named groups, `\A` `\z`, `\b` `\B`).
 * Known remaining difference: `\b` / `\B` use ASCII word characters (RE2 has no Unicode word boundary).
 */

export type Translation = { source: string } | { error: string };

// Rust's \s is the White_Space property.
const WS: Array<[number, number]> = [
  [0x09, 0x0d], [0x20, 0x20], [0x85, 0x85], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a],
  [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000],
];
const hex = (cp: number): string => `\\x{${cp.toString(16)}}`;
const rangeItems = (rs: Array<[number, number]>): string => rs.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('');
function complement(rs: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [a, b] of rs) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}
const WS_ITEMS = rangeItems(WS);
const NOT_WS_ITEMS = rangeItems(complement(WS));
const WORD_ITEMS = '\\p{L}\\p{M}\\p{Nd}\\p{Nl}\\p{Pc}\\x{200c}\\x{200d}';

interface Frame {
  u: boolean;
  x: boolean;
}

class Reject extends Error {}

const isSpace = (c: string | undefined): boolean => c !== undefined && /^\s$/u.test(c);

/** Translates a Rust-syntax pattern; `error` names the unsupported construct. */
export function translateRustRegex(pattern: string): Translation {
  try {
    return { source: new Translator(Array.from(pattern)).run() };
  } catch (e) {
    if (e instanceof Reject) return { error: e.message };
    throw e;
  }
}

class Translator {
  private i = 0;
  private out = '';
  private frames: Frame[] = [{ u: true, x: false }];

  constructor(private readonly p: string[]) {}

  private get f(): Frame {
    return this.frames[this.frames.length - 1]!;
  }

  private at(k = 0): string | undefined {
    return this.p[this.i + k];
  }

  private startsWith(s: string): boolean {
    return this.p.slice(this.i, this.i + s.length).join('') === s;
  }

  run(): string {
    while (this.i < this.p.length) {
      const c = this.p[this.i]!;
      if (this.f.x && isSpace(c)) {
        this.i++;
      } else if (this.f.x && c === '#') {
        while (this.i < this.p.length && this.p[this.i] !== '\n') this.i++;
      } else if (c === '\\') {
        this.i++;
        this.out += this.escape(false).text;
      } else if (c === '[') {
        this.out += this.cls();
      } else if (c === '(') {
        this.group();
      } else if (c === ')') {
        if (this.frames.length > 1) this.frames.pop();
        this.out += ')';
        this.i++;
      } else if (c === '{') {
        const m = /^\{,(\d+)\}/.exec(this.p.slice(this.i, this.i + 16).join(''));
        if (m) {
          this.out += `{0,${m[1]}}`;
          this.i += m[0].length;
        } else {
          this.out += '{';
          this.i++;
        }
      } else {
        this.out += c;
        this.i++;
      }
    }
    return this.out;
  }

  /** After a `\` (this.i at the escaped character). `negWord`: `\W` in a class, which RE2 can only complement. */
  private escape(inClass: boolean): { text: string; negWord?: boolean } {
    const d = this.at();
    if (d === undefined) return { text: '\\' }; // RE2 reports the trailing backslash
    this.i++;
    if (d >= '0' && d <= '9') throw new Reject(`backreferences and octal escapes like \\${d} are not supported`);
    if (d === 'k') throw new Reject('backreferences like \\k<name> are not supported');
    if (d === '<' || d === '>') throw new Reject(`the word boundary assertion \\${d} is not supported (use \\b)`);
    if (d === 'b' && this.at() === '{') throw new Reject('word boundary assertions like \\b{start} are not supported (use \\b)');
    if (d === 'Q') throw new Reject('\\Q...\\E quoting is not supported (escape each metacharacter with \\)');
    if (d === 'u' || d === 'U') return { text: this.unicodeEscape(d) };
    if (d === 'x' || d === 'p' || d === 'P') {
      let text = `\\${d}`;
      if (this.at() === '{') {
        while (this.i < this.p.length && this.at() !== '}') text += this.p[this.i++];
        if (this.at() === '}') text += this.p[this.i++];
      }
      return { text };
    }
    if (this.f.u) {
      const wrap = (items: string, neg = false) => (inClass ? items : `[${neg ? '^' : ''}${items}]`);
      switch (d) {
        case 'd':
          return { text: '\\p{Nd}' };
        case 'D':
          return { text: '\\P{Nd}' };
        case 's':
          return { text: wrap(WS_ITEMS) };
        case 'S':
          return { text: inClass ? NOT_WS_ITEMS : `[^${WS_ITEMS}]` };
        case 'w':
          return { text: wrap(WORD_ITEMS) };
        case 'W':
          return inClass ? { text: '', negWord: true } : { text: wrap(WORD_ITEMS, true) };
      }
    }
    return { text: `\\${d}` };
  }

  /** `\u{..}`, `\uXXXX`, `\U{..}`, `\UXXXXXXXX` (this.i after the u/U). */
  private unicodeEscape(kind: string): string {
    let digits = '';
    if (this.at() === '{') {
      this.i++;
      while (this.i < this.p.length && this.at() !== '}') digits += this.p[this.i++];
      if (this.at() !== '}') throw new Reject(`unclosed \\${kind}{...} escape`);
      this.i++;
    } else {
      const n = kind === 'u' ? 4 : 8;
      digits = this.p.slice(this.i, this.i + n).join('');
      if (digits.length !== n) throw new Reject(`\\${kind} needs ${n} hex digits or braces, as in \\${kind}{1F600}`);
      this.i += n;
    }
    if (!/^[0-9a-fA-F]{1,8}$/.test(digits) || parseInt(digits, 16) > 0x10ffff) {
      throw new Reject(`invalid escape \\${kind}${digits}: not a Unicode code point`);
    }
    return `\\x{${digits}}`;
  }

  /** A `[...]` class (this.i at `[`); returns RE2 source. */
  private cls(): string {
    this.i++;
    let negated = false;
    if (this.at() === '^') {
      negated = true;
      this.i++;
    }
    let items = '';
    let negWord = false;
    let first = true;
    for (;;) {
      const c = this.at();
      if (c === undefined) throw new Reject("unclosed character class '['");
      if (this.f.x && isSpace(c)) {
        this.i++;
        continue;
      }
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      if (c === '[') {
        const m = /^\[:\^?[a-z]+:\]/.exec(this.p.slice(this.i, this.i + 12).join(''));
        if (!m) throw new Reject('nested character classes are not supported (escape a literal [ as \\[)');
        items += m[0];
        this.i += m[0].length;
      } else if (this.startsWith('&&') || this.startsWith('--') || this.startsWith('~~')) {
        throw new Reject(`character class set operations (${this.p[this.i]}${this.p[this.i]}) are not supported`);
      } else if (c === '\\') {
        this.i++;
        const e = this.escape(true);
        items += e.text;
        if (e.negWord) negWord = true;
      } else {
        items += c;
        this.i++;
      }
    }
    if (!negWord) return `[${negated ? '^' : ''}${items}]`;
    // \W inside a class: RE2 can only complement a whole class, so [a\W] = (?:[a]|[^word]).
    if (negated) {
      if (items === '') return `[${WORD_ITEMS}]`;
      throw new Reject('\\W inside a negated class with other items is not supported');
    }
    return items === '' ? `[^${WORD_ITEMS}]` : `(?:[${items}]|[^${WORD_ITEMS}])`;
  }

  /** A `(` (this.i at it): plain, named, flags, or rejected lookaround / backreference. */
  private group(): void {
    if (this.at(1) !== '?') {
      this.frames.push({ ...this.f });
      this.out += '(';
      this.i++;
      return;
    }
    const rest = this.p.slice(this.i, this.i + 4).join('');
    if (rest.startsWith('(?=') || rest.startsWith('(?!')) throw new Reject(`lookahead ${rest.slice(0, 3)}...) is not supported`);
    if (rest.startsWith('(?<=') || rest.startsWith('(?<!')) throw new Reject(`lookbehind ${rest}...) is not supported`);
    if (rest.startsWith('(?P=')) throw new Reject('backreferences like (?P=name) are not supported');
    if (rest.startsWith('(?P<') || rest.startsWith('(?<')) {
      this.frames.push({ ...this.f });
      while (this.i < this.p.length && this.at() !== '>') this.out += this.p[this.i++];
      if (this.at() === '>') this.out += this.p[this.i++];
      return;
    }
    // Flags: (?flags) or (?flags:...).
    let j = this.i + 2;
    let neg = false;
    let pos = '';
    let negs = '';
    const next: Frame = { ...this.f };
    for (; j < this.p.length && this.p[j] !== ')' && this.p[j] !== ':'; j++) {
      const fl = this.p[j]!;
      if (fl === '-') {
        neg = true;
      } else if (fl === 'i' || fl === 'm' || fl === 's' || fl === 'U') {
        if (neg) negs += fl;
        else pos += fl;
      } else if (fl === 'u' || fl === 'x') {
        next[fl] = !neg;
      } else if (fl === 'R') {
        throw new Reject('the CRLF flag R is not supported');
      } else {
        throw new Reject(`unknown group syntax or inline flag '(?${this.p.slice(this.i + 2, j + 1).join('')}'`);
      }
    }
    const end = this.p[j];
    if (end === undefined) throw new Reject("unclosed group '(?'");
    if (j === this.i + 2 && end === ')') throw new Reject("empty flag group '(?)'");
    const flags = `${pos}${negs ? `-${negs}` : ''}`;
    if (end === ':') {
      this.frames.push(next);
      this.out += `(?${flags}:`;
    } else {
      this.frames[this.frames.length - 1] = next;
      if (flags) this.out += `(?${flags})`;
    }
    this.i = j + 1;
  }
}
