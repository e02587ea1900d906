/**
 * NDJSON reader: one row object per line; blank lines are skipped (they still count for line numbers). Splits on
 * '\n' at the byte level so offsets are exact and a resumed run can start at any line boundary.
 */
import type { Cursor } from './types.js';
import { rowItem, type SourceItem } from './row-text.js';

const NL = 0x0a;

function isWs(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;
}

/** Rows from `chunks`, whose first byte is at `start.offset` (a line start) on line `start.line`, row `start.index`. */
export async function* readNdjson(chunks: AsyncIterable<Buffer>, start: Cursor): AsyncGenerator<SourceItem> {
  let line = start.line;
  let index = start.index;
  let base = start.offset; // absolute offset of buf[0]
  let carry: Buffer | null = null;
  const emitLine = (buf: Buffer, s: number, e: number): SourceItem | null => {
    const lineStart = base + s;
    while (s < e && isWs(buf[s]!)) s++;
    while (e > s && isWs(buf[e - 1]!)) e--;
    if (s === e) return null;
    return rowItem(buf.toString('utf8', s, e), e - s, { index: index++, line, offset: lineStart });
  };
  for await (const piece of chunks) {
    const buf: Buffer = carry ? Buffer.concat([carry, piece]) : piece;
    if (carry) base -= carry.length;
    carry = null;
    let s = 0;
    for (;;) {
      const nl = buf.indexOf(NL, s);
      if (nl < 0) break;
      const item = emitLine(buf, s, nl);
      if (item) yield item;
      line++;
      s = nl + 1;
    }
    if (s < buf.length) carry = buf.subarray(s);
    base += buf.length; // offset of the next piece; the carry is re-based when it is concatenated to it
  }
  if (carry && carry.length > 0) {
    base -= carry.length;
    const item = emitLine(carry, 0, carry.length);
    if (item) yield item;
    base += carry.length;
  }
  yield { kind: 'end', cursor: { offset: base, line, index } };
}
