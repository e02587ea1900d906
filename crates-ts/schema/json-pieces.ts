/**
 * A large JSON text's value without one string of the whole text (issue 17; docs/rfcs/0010-worker-pool.md "Large
 * bodies in pieces").
 *
 * V8 puts any string over ≈ 128 KiB in large-object space, fresh memory every time: decoding a 725 KB write body
 * into one string costs ≈ 180 page faults (≈ 3.5 ms on the benchmark machine), where the same bytes decoded as
 * strings of a few tens of KiB reuse new-space memory. parseJsonPieces walks the UTF-8 bytes instead: a container
 * whose span is over `pieceBytes` is walked member by member (recursively when a member is itself that large); runs
 * of smaller members are decoded together (`Buffer.toString` of their own span, at most `pieceBytes`) and given to
 * JSON.parse as `[...]` or `{...}`; a large string or number alone.
 *
 * It never accepts a text JSON.parse rejects: every byte is either in a span JSON.parse accepted, or a structural
 * byte checked here (JSON whitespace, `{ } [ ] , :` where the grammar allows them, nothing after the value). On
 * anything else it returns NOT_PIECEWISE and the caller parses the whole text (json-body.ts parseJsonBytes), which
 * gives the canonical error. Spans are cut only at ASCII bytes outside strings or at a string's quotes, so a
 * multi-byte character is never split, and invalid UTF-8 decodes to the same replacement characters as in the whole
 * text (a UTF-8 decoder never takes an ASCII byte as a continuation byte). Objects are built as JSON.parse builds
 * them: a repeated key keeps its first position and its last value; `__proto__` is an own data property.
 */
import { CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, MALFORMED, OPEN_BRACE, OPEN_BRACKET, QUOTE, skipWs as skipWsAt, stringEnd as stringEndAt, valueEnd } from './json-lex.js';

/** Returned when the text is not parsed piecewise (malformed, a scalar at the top, or too deep): parse it whole. */
export const NOT_PIECEWISE: unique symbol = Symbol('not piecewise');

/** Piece size by default: a piece's string is at most 64 KiB even when every character is two bytes in V8. */
export const PIECE_BYTES = 32 * 1024;

class Bail extends Error {}
const bail = (): never => {
  throw new Bail();
};

/** bytes[0, length) parsed as UTF-8 JSON in pieces of at most `pieceBytes`, or NOT_PIECEWISE. */
export function parseJsonPieces(bytes: Uint8Array, length: number, pieceBytes = PIECE_BYTES): unknown {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(length, bytes.byteLength));
  const end = b.length;

  const skipWs = (p: number): number => skipWsAt(b, end, p);
  /** p at a quote: the position after the string's closing quote. */
  const stringEnd = (p: number): number => {
    const e = stringEndAt(b, end, p);
    return e < 0 ? bail() : e;
  };
  /**
   * p at a value's first byte: the position after it, or -1 for a container longer than `limit` bytes (then walked).
   * JSON.parse checks the span; this only finds where it ends. An empty element (`[1,]`, `[,`, `{"a":}`) bails.
   */
  const skipValue = (p: number, limit: number): number => {
    const e = valueEnd(b, end, p, limit);
    return e === MALFORMED ? bail() : e;
  };

  const text = (from: number, to: number) => b.toString('utf8', from, to);

  /** A value at p that skipValue ended at e (-1: a large container, walked): [value, position after it]. */
  const value = (p: number, e: number): [unknown, number] => {
    if (e < 0) return b[p] === OPEN_BRACE ? object(p) : array(p);
    return [JSON.parse(text(p, e)), e];
  };

  const array = (p: number): [unknown[], number] => {
    let out: unknown[] = [];
    let runStart = -1;
    let runEnd = -1;
    const flush = () => {
      if (runStart < 0) return;
      const parsed = JSON.parse('[' + text(runStart, runEnd) + ']') as unknown[];
      runStart = -1;
      append(parsed);
    };
    const append = (parsed: unknown[]) => {
      if (out.length === 0) out = parsed;
      else for (let i = 0; i < parsed.length; i++) out.push(parsed[i]);
    };
    // Elements cut by a guess, checked by JSON.parse (see guessRun); off for the rest of the array once one fails.
    let guess = true;
    /**
     * From element start j, elements up to the last `},{` (`],[`, `","`, or `,` between numbers) in the next
     * `pieceBytes` bytes, parsed as one piece, without scanning them here: the position of that comma, or -1. Sound
     * because j is known to start an element: if `[` + bytes[j, comma) + `]` is valid JSON, lexing those bytes from j
     * in the whole text goes the same way, so they are whole elements and the comma separates two of them.
     */
    const guessRun = (j: number): number => {
      const c = b[j]!;
      const pattern = c === OPEN_BRACE ? '},{' : c === OPEN_BRACKET ? '],[' : c === QUOTE ? '","' : c === 0x2d || (c >= 0x30 && c <= 0x39) ? ',' : null;
      if (pattern === null) return -1;
      const at = b.subarray(j, Math.min(end, j + pieceBytes)).lastIndexOf(pattern);
      if (at <= 0) return -1;
      const comma = j + at + (pattern.length === 1 ? 0 : 1);
      let parsed: unknown[];
      try {
        parsed = JSON.parse('[' + text(j, comma) + ']') as unknown[];
      } catch {
        guess = false;
        return -1;
      }
      flush();
      append(parsed);
      return comma;
    };
    let j = skipWs(p + 1);
    if (b[j] === CLOSE_BRACKET) return [out, j + 1];
    for (;;) {
      if (j >= end) return bail();
      const g = guess ? guessRun(j) : -1;
      const e = g >= 0 ? -2 : skipValue(j, pieceBytes);
      if (e === -2) j = g;
      else if (e >= 0 && e - j <= pieceBytes) {
        if (runStart >= 0 && e - runStart > pieceBytes) flush();
        if (runStart < 0) runStart = j;
        runEnd = e;
        j = e;
      } else {
        flush();
        const [v, after] = value(j, e);
        out.push(v);
        j = after;
      }
      const k = skipWs(j);
      if (b[k] === COMMA) {
        j = skipWs(k + 1);
        continue;
      }
      if (b[k] === CLOSE_BRACKET) {
        flush();
        return [out, k + 1];
      }
      return bail();
    }
  };

  const object = (p: number): [object, number] => {
    let out: Record<string, unknown> | null = null;
    const define = (key: string, v: unknown) => {
      out ??= {};
      Object.defineProperty(out, key, { value: v, writable: true, enumerable: true, configurable: true });
    };
    let runStart = -1;
    let runEnd = -1;
    const flush = () => {
      if (runStart < 0) return;
      const parsed = JSON.parse('{' + text(runStart, runEnd) + '}') as Record<string, unknown>;
      runStart = -1;
      if (out === null) {
        out = parsed;
        return;
      }
      for (const key of Object.keys(parsed)) define(key, parsed[key]);
    };
    let j = skipWs(p + 1);
    if (b[j] === CLOSE_BRACE) return [{}, j + 1];
    for (;;) {
      if (b[j] !== QUOTE) return bail();
      const keyEnd = stringEnd(j);
      const colon = skipWs(keyEnd);
      if (b[colon] !== COLON) return bail();
      const vs = skipWs(colon + 1);
      if (vs >= end) return bail();
      const e = skipValue(vs, pieceBytes);
      if (e >= 0 && e - j <= pieceBytes) {
        if (runStart >= 0 && e - runStart > pieceBytes) flush();
        if (runStart < 0) runStart = j;
        runEnd = e;
        j = e;
      } else {
        flush();
        const key = JSON.parse(text(j, keyEnd)) as string;
        const [v, after] = value(vs, e);
        define(key, v);
        j = after;
      }
      const k = skipWs(j);
      if (b[k] === COMMA) {
        j = skipWs(k + 1);
        continue;
      }
      if (b[k] === CLOSE_BRACE) {
        flush();
        return [out ?? {}, k + 1];
      }
      return bail();
    }
  };

  try {
    const start = skipWs(0);
    const c = b[start];
    if (c !== OPEN_BRACE && c !== OPEN_BRACKET) return NOT_PIECEWISE;
    const [v, after] = c === OPEN_BRACE ? object(start) : array(start);
    if (skipWs(after) !== end) return NOT_PIECEWISE;
    return v;
  } catch {
    // Bail, a piece's SyntaxError, or a RangeError (too deep): the whole text decides.
    return NOT_PIECEWISE;
  }
}
