/**
 * The byte-level JSON lexing shared by the parsers that walk a body's UTF-8 bytes instead of decoding it whole
 * (json-pieces.ts, json-floats.ts): structural bytes, and where a string or a value ends. Neither checks what it skips
 * (JSON.parse of the spans does); both read strings as JSON's lexer does, from a quote to the next unescaped one.
 */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;

export const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** p in b[0, end) at or before a non-space byte: the first position ≥ p that is not JSON whitespace. */
export function skipWs(b: Uint8Array, end: number, p: number): number {
  while (p < end && isWs(b[p]!)) p++;
  return p;
}

/** p at a quote: the position after the string's closing quote, or -1 when the text ends first. */
export function stringEnd(b: Buffer, end: number, p: number): number {
  let q = p + 1;
  for (;;) {
    // Short strings (keys) in JS; long ones (base64 vectors) by Buffer.indexOf.
    const stop = Math.min(end, q + 32);
    while (q < stop && b[q] !== QUOTE) q++;
    if (q === stop) {
      if (q >= end) return -1;
      q = b.indexOf(QUOTE, q);
      if (q < 0 || q >= end) return -1;
    }
    let r = q - 1;
    while (b[r] === BACKSLASH) r--;
    if ((q - 1 - r) % 2 === 0) return q + 1;
    q++;
  }
}

/** valueEnd's answer for a container not closed within its limit (or the text). */
export const NOT_CLOSED = -1;
/** valueEnd's answer for a text that cannot hold a value here: an unterminated string, an empty scalar (`[1,]`). */
export const MALFORMED = -2;

/**
 * p at a value's first byte: the position after it; NOT_CLOSED for an object or array not closed within `limit`
 * bytes of p (or before the end), MALFORMED for an unterminated string or an empty scalar. Containers are skipped by
 * counting brackets outside strings.
 */
export function valueEnd(b: Buffer, end: number, p: number, limit: number): number {
  const c = b[p];
  if (c === QUOTE) {
    const e = stringEnd(b, end, p);
    return e < 0 ? MALFORMED : e;
  }
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    const stop = Math.min(end, p + limit);
    let depth = 0;
    let q = p;
    while (q < stop) {
      const d = b[q]!;
      if (d === QUOTE) {
        q = stringEnd(b, end, q);
        if (q < 0) return MALFORMED;
        continue;
      }
      if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
        if (--depth === 0) return q + 1;
      }
      q++;
    }
    return NOT_CLOSED;
  }
  let q = p;
  while (q < end) {
    const d = b[q]!;
    if (d === COMMA || d === CLOSE_BRACKET || d === CLOSE_BRACE || isWs(d)) break;
    q++;
  }
  return q === p ? MALFORMED : q;
}
