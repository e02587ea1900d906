/**
 * Input files → rows. Picks the format (explicit, else by extension, else by sniffing: '[' is a JSON array,
 * 'PAR1' Parquet, anything else NDJSON), and opens a reader that can start at a cursor it produced earlier (files
 * only; stdin is read once from its start). Readers yield rows with their line / row index and byte offset, rows
 * they could not use (bad JSON, not an object, no id), and finally the end cursor.
 */
import { createReadStream, openAsBlob } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { ElaxError } from '../../crates-ts/core/index.js';
import type { Cursor, InputFormat } from './types.js';
import type { SourceItem } from './row-text.js';
import { readNdjson } from './ndjson.js';
import { readJsonArray } from './json-array.js';
import { openParquet } from './parquet-source.js';

export type { SourceItem, BadRow } from './row-text.js';

export interface OpenedSource {
  /** Identity used in idempotency keys and reports: the file's base name, or 'stdin'. */
  name: string;
  /** Resolved path, or '-'. */
  path: string;
  format: InputFormat;
  /** Bytes (null for stdin). */
  size: number | null;
  mtimeMs: number | null;
  /** True if items() can start at a cursor (files); stdin always starts at the beginning. */
  seekable: boolean;
  items(start?: Cursor): AsyncIterable<SourceItem>;
  /** Input bytes covered up to a cursor offset (Parquet cursors count rows: scaled to the file size). */
  progressBytes(offset: number): number;
}

export const START: Cursor = { offset: 0, line: 1, index: 0 };

const BY_EXTENSION: Record<string, InputFormat> = {
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.json': 'json',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

/** Format from the first bytes of the input: '[' → json, 'PAR1' → parquet, else ndjson. */
export function sniffFormat(head: Uint8Array): InputFormat {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31) return 'parquet';
  for (const b of head) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    if (b === 0xef || b === 0xbb || b === 0xbf) continue; // UTF-8 BOM
    return b === 0x5b ? 'json' : 'ndjson';
  }
  return 'ndjson';
}

async function readHead(file: string, n: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function textItems(format: 'ndjson' | 'json', name: string, chunks: AsyncIterable<Buffer>, start: Cursor): AsyncGenerator<SourceItem> {
  if (format === 'ndjson') return readNdjson(chunks, start);
  return readJsonArray(chunks, start, { inArray: start.offset > 0, name });
}

async function openFile(file: string, explicit?: InputFormat): Promise<OpenedSource> {
  const resolved = path.resolve(file);
  let st;
  try {
    st = await stat(resolved);
  } catch (e) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `cannot read input ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isFile()) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `input ${file} is not a regular file`);
  const name = path.basename(resolved);
  const format = explicit ?? BY_EXTENSION[path.extname(resolved).toLowerCase()] ?? sniffFormat(await readHead(resolved, 64));
  const size = st.size;
  if (format === 'parquet') {
    const pqs = await openParquet(await openAsBlob(resolved), name);
    return {
      name, path: resolved, format, size, mtimeMs: st.mtimeMs, seekable: true,
      items: (start = START) => pqs.items(start),
      progressBytes: (offset) => (pqs.totalRows === 0 ? size : Math.round((size * offset) / pqs.totalRows)),
    };
  }
  return {
    name, path: resolved, format, size, mtimeMs: st.mtimeMs, seekable: true,
    items: (start = START) => textItems(format, name, createReadStream(resolved, { start: start.offset, highWaterMark: 1 << 20 }), start),
    progressBytes: (offset) => offset,
  };
}

/** Buffers the start of a stream until the format can be told, then replays it. */
async function peek(stream: AsyncIterable<Buffer>): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = stream[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < 64) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    seen.push(b);
    len += b.length;
  }
  const head = Buffer.concat(seen);
  async function* rest() {
    yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    }
  }
  return { head, rest: rest() };
}

async function openStdin(stdin: NodeJS.ReadableStream, explicit?: InputFormat): Promise<OpenedSource> {
  const { head, rest } = await peek(stdin as AsyncIterable<Buffer>);
  const format = explicit ?? sniffFormat(head);
  let used = false;
  const once = () => {
    if (used) throw new ElaxError('ELAX_ERR_INTERNAL', 'stdin can be read only once');
    used = true;
  };
  if (format === 'parquet') {
    // Parquet needs random access (footer first): hold stdin in memory.
    const parts: Buffer[] = [];
    for await (const b of rest) parts.push(b);
    const all = Buffer.concat(parts);
    const pqs = await openParquet(new Blob([all]), 'stdin');
    return {
      name: 'stdin', path: '-', format, size: all.length, mtimeMs: null, seekable: true,
      items: (start = START) => pqs.items(start),
      progressBytes: (offset) => (pqs.totalRows === 0 ? all.length : Math.round((all.length * offset) / pqs.totalRows)),
    };
  }
  return {
    name: 'stdin', path: '-', format, size: null, mtimeMs: null, seekable: false,
    items: (start = START) => {
      once();
      if (start.offset !== 0) throw new ElaxError('ELAX_ERR_INTERNAL', 'stdin cannot start at an offset');
      return textItems(format, 'stdin', rest, START);
    },
    progressBytes: (offset) => offset,
  };
}

/** Opens one input: a path, or '-' for stdin. */
export function openSource(file: string, opts: { format?: InputFormat; stdin?: NodeJS.ReadableStream } = {}): Promise<OpenedSource> {
  if (file === '-') return openStdin(opts.stdin ?? process.stdin, opts.format);
  return openFile(file, opts.format);
}
