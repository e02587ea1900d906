import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSource } from './sources.js';
import type { SourceItem } from './row-text.js';

const dir = mkdtempSync(path.join(tmpdir(), 'elax-ingest-pq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeParquet(file: string, n: number, dims: number): Float32Array {
  const vals = new Float32Array(n * dims).map((_, i) => Math.fround(Math.sin(i)));
  const vecType = new arrow.FixedSizeList(dims, new arrow.Field('item', new arrow.Float32(), false));
  const vecData = arrow.makeData({ type: vecType, length: n, nullCount: 0, child: arrow.makeData({ type: new arrow.Float32(), length: n * dims, data: vals }) });
  const ids = Array.from({ length: n }, (_, i) => BigInt(i === n - 1 ? 2 ** 60 : i * 10));
  const table = new arrow.Table({
    id: arrow.vectorFromArray(ids, new arrow.Uint64()),
    vector: arrow.makeVector(vecData),
    title: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => (i % 3 ? `t${i}` : null)), new arrow.Utf8()),
    n: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => i), new arrow.Int32()),
    score: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => i / 4), new arrow.Float64()),
    ok: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => i % 2 === 0), new arrow.Bool()),
    tags: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => [`a${i % 2}`, 'b']), new arrow.List(new arrow.Field('item', new arrow.Utf8(), true))),
    at: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => new Date(1_700_000_000_000 + i * 1000)), new arrow.TimestampMillisecond()),
  });
  const props = new pq.WriterPropertiesBuilder().setMaxRowGroupSize(3000).build();
  writeFileSync(file, pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props));
  return vals;
}

async function collect(it: AsyncIterable<SourceItem>): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('Parquet source', () => {
  it('should yield every row as a turbopuffer row object, vectors as exact base64 f32, and restart at a row index', async () => {
    const n = 10_000;
    const dims = 8;
    const file = path.join(dir, 'rows.parquet');
    const vals = writeParquet(file, n, dims);
    const src = await openSource(file);
    expect(src.format).toBe('parquet');
    const items = await collect(src.items());
    expect(items).toHaveLength(n + 1);
    const r5 = items[5] as Extract<SourceItem, { kind: 'row' }>;
    const obj = JSON.parse(r5.row.text);
    expect(obj).toEqual({
      id: 50, vector: Buffer.from(vals.buffer, 5 * dims * 4, dims * 4).toString('base64'), title: 't5', n: 5, score: 1.25, ok: false,
      tags: ['a1', 'b'], at: new Date(1_700_000_005_000).toISOString(),
    });
    expect(r5.row).toMatchObject({ index: 5, offset: 5, id: 50 });
    expect(JSON.parse((items[3] as Extract<SourceItem, { kind: 'row' }>).row.text).title).toBeUndefined(); // null → absent
    // A u64 beyond 2^53-1 cannot travel as a JSON number: a bad row, not a silently different id.
    const last = items[n - 1]!;
    expect(last.kind).toBe('bad');
    expect((last as Extract<SourceItem, { kind: 'bad' }>).bad.error).toMatch(/column 'id'.*2\^53/);
    expect(items[n]).toEqual({ kind: 'end', cursor: { offset: n, line: 0, index: n } });
    const rest = await collect(src.items({ offset: 4321, line: 0, index: 4321 }));
    expect(rest).toEqual(items.slice(4321));
    expect(src.progressBytes(n / 2)).toBe(Math.round(src.size! / 2));
  });

  it('should refuse a file without an id column and a file that is not Parquet', async () => {
    const file = path.join(dir, 'noid.parquet');
    const t = new arrow.Table({ x: arrow.vectorFromArray([1, 2], new arrow.Int32()) });
    writeFileSync(file, pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(t, 'stream'))));
    const src = await openSource(file);
    await expect(collect(src.items())).rejects.toThrow(/no 'id' column/);
    const junk = path.join(dir, 'junk.parquet');
    writeFileSync(junk, 'PAR1 this is not parquet');
    await expect(openSource(junk)).rejects.toThrow(/not a readable Parquet file/);
  });
});
