/**
 * Rows → one Parquet file (zstd) with a typed column per attribute, readable by DuckDB, pandas and
 * `elax writes ingest`: `id` (int64 or string), `vector` (fixed-size list of float32), then each schema attribute:
 * strings, uuids and datetimes as strings, numbers as double, bools as bool, arrays as lists of those.
 */
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import type { Row } from './read.js';

function scalarType(t: string): arrow.DataType {
  if (t === 'int' || t === 'uint' || t === 'float') return new arrow.Float64();
  if (t === 'bool') return new arrow.Bool();
  return new arrow.Utf8();
}

function columnType(type: string): arrow.DataType {
  if (type.startsWith('[]')) return new arrow.List(new arrow.Field('item', scalarType(type.slice(2)), true));
  return scalarType(type);
}

export function rowsToParquet(rows: readonly Row[], schema: Record<string, unknown>): Uint8Array {
  const columns: Record<string, arrow.Vector> = {};
  const numericIds = rows.every((r) => typeof r.id === 'number');
  columns.id = numericIds
    ? arrow.vectorFromArray(rows.map((r) => BigInt(r.id as number)), new arrow.Int64())
    : arrow.vectorFromArray(rows.map((r) => String(r.id)), new arrow.Utf8());
  const dims = rows.find((r) => Array.isArray(r.vector))?.vector as number[] | undefined;
  if (dims) {
    const type = new arrow.FixedSizeList(dims.length, new arrow.Field('item', new arrow.Float32(), false));
    columns.vector = arrow.vectorFromArray(rows.map((r) => (Array.isArray(r.vector) ? (r.vector as number[]) : null)), type);
  }
  for (const [name, raw] of Object.entries(schema)) {
    if (name === 'id' || name === 'vector') continue;
    const type = typeof raw === 'string' ? raw : ((raw as { type?: string }).type ?? 'string');
    columns[name] = arrow.vectorFromArray(
      rows.map((r) => (r[name] === undefined ? null : r[name])),
      columnType(type),
    );
  }
  const table = new arrow.Table(columns);
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build();
  return pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props);
}
