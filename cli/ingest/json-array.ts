/**
 * Streaming reader of a top-level JSON array of rows: a byte-level scanner finds each element's extent (tracking
 * strings, escapes and bracket depth) without parsing the whole file, so multi-GB arrays stream like NDJSON and a
 * resumed run can start at any element boundary. Each element is then parsed on its own (rowItem), so a malformed
 * element is one bad row, not a failed file. Structural errors outside elements (no '[', garbage between
 * elements, an unclosed array) fail the file with the line they are on.
 */
import { ElaxError } from '../../crates-ts/core/index.js';
import type { Cursor } from './types.js';
import { rowItem, type SourceItem } from './row-text.js';

const NL = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const LBRACK = 0x5b;
const RBRACK = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

const PRE = 0; // before '['
const EXPECT = 1; // after '[' or ',': an element (or ']' right after '[')
const AFTER = 2; // after an element: ',' or ']'
const ELEM = 3; // inside an element
const DONE = 4; // after the closing ']'

function isWs(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;
}

function structural(name: string, line: number, what: string): ElaxError {
  return new ElaxError('ELAX_ERR_INVALID_REQUEST', `${name} line ${line}: ${what}`);
}

/**
 * Rows of the array in `chunks`. `start.offset === 0` and `inArray: false`: the stream starts at the beginning of
 * the file. Otherwise the stream starts at an element boundary inside the array (a cursor this reader produced).
 */
export async function* readJsonArray(chunks: AsyncIterable<Buffer>, start: Cursor, opts: { inArray: boolean; name: string }): AsyncGenerator<SourceItem> {
  let state = opts.inArray ? EXPECT : PRE;
  let first = true; // ']' is allowed in EXPECT only right after '[' (or where a resumed stream starts)
  let line = start.line;
  let index = start.index;
  let base = start.offset;
  let depth = 0;
  let inString = false;
  let escape = false;
  let pieces: Buffer[] = [];
  let elemStart = 0; // in the current buffer
  let elemOffset = 0;
  let elemLine = 0;
  const out: SourceItem[] = [];

  const finish = (buf: Buffer, end: number) => {
    let text: string;
    let bytes: number;
    if (pieces.length > 0) {
      const all = Buffer.concat([...pieces, buf.subarray(elemStart, end)]);
      text = all.toString('utf8');
      bytes = all.length;
      pieces = [];
    } else {
      text = buf.toString('utf8', elemStart, end);
      bytes = end - elemStart;
    }
    out.push(rowItem(text, bytes, { index: index++, line: elemLine, offset: elemOffset }));
    state = AFTER;
  };

  for await (const buf of chunks) {
    const n = buf.length;
    for (let i = 0; i < n; i++) {
      const b = buf[i]!;
      if (state === ELEM) {
        if (inString) {
          if (escape) escape = false;
          else if (b === BACKSLASH) escape = true;
          else if (b === QUOTE) {
            inString = false;
            if (depth === 0) finish(buf, i + 1);
          } else if (b === NL) line++;
          continue;
        }
        if (b === QUOTE) inString = true;
        else if (b === LBRACE || b === LBRACK) depth++;
        else if (b === RBRACE || b === RBRACK) {
          if (depth === 0) {
            // A scalar element ended by the array's own ']'.
            finish(buf, i);
            state = DONE;
          } else if (--depth === 0) finish(buf, i + 1);
        } else if (depth === 0 && (b === COMMA || isWs(b))) {
          finish(buf, i);
          if (b === COMMA) state = EXPECT;
          else if (b === NL) line++;
        } else if (b === NL) line++;
        continue;
      }
      if (b === NL) {
        line++;
        continue;
      }
      if (isWs(b)) continue;
      if (state === PRE) {
        if (b !== LBRACK) throw structural(opts.name, line, `expected a JSON array of rows ('['), got '${String.fromCharCode(b)}'`);
        state = EXPECT;
        first = true;
      } else if (state === EXPECT) {
        if (b === RBRACK && first) state = DONE;
        else if (b === COMMA || b === RBRACK) throw structural(opts.name, line, `expected an array element, got '${String.fromCharCode(b)}'`);
        else {
          state = ELEM;
          first = false;
          elemStart = i;
          elemOffset = base + i;
          elemLine = line;
          depth = 0;
          inString = false;
          escape = false;
          i--; // let the ELEM branch see the first byte
        }
      } else if (state === AFTER) {
        if (b === COMMA) {
          state = EXPECT;
          first = false;
        } else if (b === RBRACK) state = DONE;
        else throw structural(opts.name, line, `expected ',' or ']' after an array element, got '${String.fromCharCode(b)}'`);
      } else {
        throw structural(opts.name, line, `unexpected '${String.fromCharCode(b)}' after the end of the array`);
      }
    }
    if (state === ELEM) {
      pieces.push(buf.subarray(elemStart));
      elemStart = 0;
    }
    base += n;
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  if (state === ELEM && depth === 0 && !inString) {
    finish(Buffer.alloc(0), 0);
    yield* out;
    out.length = 0;
  }
  // A resumed stream that starts at the very end (nothing left) is complete too.
  const emptyResume = opts.inArray && base === start.offset;
  if (state !== DONE && !emptyResume) throw structural(opts.name, line, 'unexpected end of input: the JSON array is not closed');
  yield { kind: 'end', cursor: { offset: base, line, index } };
}
