/**
 * Parquet reader: rows of a Parquet file as turbopuffer row objects, read in slices of rows (parquet-wasm, then
 * Arrow) so memory stays bounded whatever the row-group size. Column `id` is the id, every other column an
 * attribute; nulls are omitted (null = absent for upserts). Float32 vectors travel as base64 little-endian f32,
 * exact and a third of the JSON size. The cursor of a Parquet source is the row index (offset = index).
 */
import * as pq from 'parquet-wasm';
import * as arrow from 'apache-arrow';
import { ElaxError } from '../../crates-ts/core/index.js';
import type { Cursor } from './types.js';
import type { SourceItem } from './row-text.js';

const SLICE_ROWS = 4096;

type Convert = (v: unknown) => unknown;

function safeInt(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new Error(`integer ${v} is beyond ±(2^53−1), which JSON numbers (and elax ids) cannot hold exactly`);
  }
  return Number(v);
}

function uuidString(b: Uint8Array): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function base64F32(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** A converter from Arrow's JS value of `type` to the JSON value the write API expects. */
function converter(type: arrow.DataType, column: string, isVector: boolean): Convert {
  const T = arrow.DataType;
  if (T.isInt(type)) return type.bitWidth === 64 ? (v) => safeInt(v as bigint) : (v) => v;
  if (T.isFloat(type) || T.isUtf8(type) || T.isLargeUtf8(type) || T.isBool(type)) return (v) => v;
  if (T.isTimestamp(type) || T.isDate(type)) {
    return (v) => (v instanceof Date ? v : new Date(Number(v))).toISOString();
  }
  if (T.isDictionary(type)) return converter(type.dictionary, column, isVector);
  if (T.isFixedSizeBinary(type) && type.byteWidth === 16) return (v) => uuidString(v as Uint8Array);
  if (T.isList(type) || T.isFixedSizeList(type)) {
    const childType = type.children[0]!.type;
    if (isVector && T.isFloat(childType) && childType.precision === arrow.Precision.SINGLE) {
      return (v) => base64F32(v instanceof Float32Array ? v : ((v as arrow.Vector).toArray() as Float32Array));
    }
    const inner = converter(childType, column, false);
    return (v) => {
      const arr = (v as arrow.Vector).toArray() as ArrayLike<unknown>;
      const out = new Array<unknown>(arr.length);
      for (let i = 0; i < arr.length; i++) out[i] = arr[i] === null ? null : inner(arr[i]);
      return out;
    };
  }
  throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `Parquet column '${column}' has Arrow type ${type}, which has no turbopuffer attribute type`);
}

/**
 * Direct access for the hot columns (a FixedSizeList<Float32> vector: base64 straight from the child buffer,
 * skipping a Vector object per row). Returns the already-converted value; null/undefined for nulls.
 */
function fastGetter(col: arrow.Vector, isVector: boolean): ((r: number) => unknown) | null {
  if (!isVector || col.data.length !== 1) return null;
  const d = col.data[0]!;
  const t = d.type;
  if (!arrow.DataType.isFixedSizeList(t)) return null;
  const ct = t.children[0]!.type;
  if (!arrow.DataType.isFloat(ct) || ct.precision !== arrow.Precision.SINGLE) return null;
  const child = d.children[0]!;
  if (child.nullCount > 0) return null;
  const size = t.listSize;
  const values = child.values as Float32Array;
  return (r) => {
    if (d.nullCount > 0 && !col.isValid(r)) return null;
    const start = (d.offset + r) * size + child.offset;
    return new Float32Array(values.buffer, values.byteOffset + start * 4, size);
  };
}

export interface ParquetSource {
  totalRows: number;
  items(start: Cursor): AsyncGenerator<SourceItem>;
}

export async function openParquet(blob: Blob, name: string): Promise<ParquetSource> {
  let file: pq.ParquetFile;
  try {
    file = await pq.ParquetFile.fromFile(blob);
  } catch (e) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `${name}: not a readable Parquet file: ${(e as Error).message ?? e}`);
  }
  const meta = file.metadata();
  let totalRows = 0;
  for (const g of meta.rowGroups()) totalRows += g.numRows();
  return {
    totalRows,
    async *items(start: Cursor) {
      for (let off = start.index; off < totalRows; off += SLICE_ROWS) {
        const table = arrow.tableFromIPC((await file.read({ offset: off, limit: SLICE_ROWS })).intoIPCStream());
        const names = table.schema.fields.map((f) => f.name);
        if (!names.includes('id')) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `${name}: no 'id' column (columns: ${names.join(', ')})`);
        const convs = table.schema.fields.map((f) => (arrow.DataType.isNull(f.type) ? null : converter(f.type, f.name, f.name === 'vector')));
        let index = off;
        for (const batch of table.batches) {
          const cols = names.map((_, c) => batch.getChildAt(c)!);
          const getters = cols.map((col, c) => fastGetter(col, names[c] === 'vector') ?? ((r: number) => col.get(r)));
          for (let r = 0; r < batch.numRows; r++, index++) {
            const row: Record<string, unknown> = {};
            let error: string | undefined;
            for (let c = 0; c < cols.length; c++) {
              const conv = convs[c];
              if (!conv) continue;
              const v = getters[c]!(r);
              if (v === null || v === undefined) continue;
              try {
                row[names[c]!] = conv(v);
              } catch (e) {
                error = `column '${names[c]}': ${(e as Error).message}`;
                break;
              }
            }
            if (error === undefined && (row.id === undefined || row.id === null)) error = 'the row has no id';
            if (error !== undefined) {
              yield { kind: 'bad', bad: { index, offset: index, id: row.id, error } };
              continue;
            }
            const text = JSON.stringify(row);
            yield { kind: 'row', row: { index, offset: index, id: row.id, text, bytes: Buffer.byteLength(text) } };
          }
        }
      }
      yield { kind: 'end', cursor: { offset: totalRows, line: 0, index: totalRows } };
    },
  };
}
