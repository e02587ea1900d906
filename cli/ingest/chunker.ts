/**
 * Rows → chunks (one write request each), deterministically: a chunk closes before the row that would push its
 * request body over batchBytes or its row count over batchRows, and at the end of a file. Boundaries therefore
 * depend only on the file's bytes and these two numbers, so a resumed run, starting at a chunk boundary a
 * checkpoint recorded, reproduces the same chunks and the same idempotency keys.
 *
 * Rows the reader could not use travel with the chunk being filled when they were met, so they are reported
 * exactly when that chunk is settled (and not again after a resume that skips it).
 */
import { SERVER_BODY_LIMIT, type Cursor, type SourceRow } from './types.js';
import type { BadRow, SourceItem } from './row-text.js';
import { envelopeBytes } from './request.js';

export interface Chunk {
  /** 0-based position of the chunk within its file. */
  index: number;
  rows: SourceRow[];
  bad: BadRow[];
  /** Request body size if all rows are sent. */
  bodyBytes: number;
  /** Where the chunk's input begins (the previous chunk's end, or where reading started) and where the next
   * chunk's begins: a resumed run restarts at an end cursor. */
  start: Cursor;
  end: Cursor;
}

export interface ChunkOptions {
  batchBytes: number;
  batchRows: number;
  /** distance_metric sent with every request (part of the envelope size). */
  distanceMetric?: string;
  /** Index of the first chunk produced (a resumed run starts counting where the checkpoint's prefix ended). */
  firstIndex: number;
  /** Where `items` starts. */
  start: Cursor;
}

function cursorOf(item: { index: number; line?: number; offset: number }): Cursor {
  // Parquet rows have no line; 0 keeps the cursor a plain JSON object.
  return { offset: item.offset, line: item.line ?? 0, index: item.index };
}

export async function* chunkRows(items: AsyncIterable<SourceItem>, opts: ChunkOptions): AsyncGenerator<Chunk> {
  const envelope = envelopeBytes(opts.distanceMetric);
  let index = opts.firstIndex;
  let cur: Chunk = { index, rows: [], bad: [], bodyBytes: envelope, start: opts.start, end: opts.start };
  for await (const item of items) {
    if (item.kind === 'end') {
      if (cur.rows.length > 0 || cur.bad.length > 0) {
        cur.end = item.cursor;
        yield cur;
      }
      return;
    }
    if (item.kind === 'bad') {
      cur.bad.push(item.bad);
      continue;
    }
    const row = item.row;
    if (envelope + row.bytes > SERVER_BODY_LIMIT) {
      cur.bad.push({
        index: row.index, line: row.line, offset: row.offset, id: row.id,
        error: `the row is ${row.bytes} bytes: with the request envelope it exceeds the server's ${SERVER_BODY_LIMIT}-byte body limit`,
      });
      continue;
    }
    const sep = cur.rows.length > 0 ? 1 : 0;
    if (cur.rows.length > 0 && (cur.bodyBytes + sep + row.bytes > opts.batchBytes || cur.rows.length >= opts.batchRows)) {
      cur.end = cursorOf(row);
      yield cur;
      index++;
      cur = { index, rows: [], bad: [], bodyBytes: envelope, start: cursorOf(row), end: cursorOf(row) };
    }
    cur.bodyBytes += (cur.rows.length > 0 ? 1 : 0) + row.bytes;
    cur.rows.push(row);
  }
  // A reader always ends with an 'end' item; reaching here means the stream was cut short.
  throw new Error('input ended without an end marker');
}
