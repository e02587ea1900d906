import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { ipcStreamInScratch, walWriterProperties } from './format.js';
import { encodeWalColumns, walColumns, encodeWalEntry, decodeWalEntry, entryVoidIn, walVectorsBinary, WAL_BINARY_VECTORS_FORMAT, WAL_FORMAT_VERSION, WAL_SHARDING_FORMAT, WAL_PLAN_FORMAT, type WalOp, type WalMeta } from './index.js';

const meta = (extra: Partial<WalMeta> = {}): WalMeta => ({
  format_version: WAL_FORMAT_VERSION,
  namespace: 'ns',
  committed_at: 1_700_000_000_000,
  requests: 1,
  ...extra,
});

describe('WAL entry format', () => {
  it('should round-trip upserts and deletes with vectors, nulls and attributes', () => {
    const ops: WalOp[] = [
      { kind: 'upsert', doc: { id: 1, vector: new Float32Array([0.5, -1, 2]), attrs: { a: 'x', n: 3, tags: ['p', 'q'] } } },
      { kind: 'delete', id: 'gone' },
      { kind: 'upsert', doc: { id: 'str-id', vector: null, attrs: {} } },
    ];
    const out = decodeWalEntry(7, encodeWalEntry(meta({ schema: { a: { type: 'string' } }, distance_metric: 'cosine_distance' }), ops));
    expect(out.seq).toBe(7);
    expect(out.meta.schema).toEqual({ a: { type: 'string' } });
    expect(out.meta.distance_metric).toBe('cosine_distance');
    expect(out.ops).toEqual(ops);
  });

  it('should carry sharding in a format-2 entry (RFC-0013) and refuse formats past 4', () => {
    const ops: WalOp[] = [{ kind: 'upsert', doc: { id: 1, vector: null, attrs: {} } }];
    const out = decodeWalEntry(1, encodeWalEntry(meta({ format_version: WAL_SHARDING_FORMAT, sharding: { num_shards: 4 } }), ops));
    expect(out.meta.format_version).toBe(2);
    expect(out.meta.sharding).toEqual({ num_shards: 4 });
    expect(() => decodeWalEntry(2, encodeWalEntry(meta({ format_version: 5 }), ops))).toThrowError(/format_version 5; this build reads 1..4/);
  });

  it('should write format 4 vectors as one fixed-size binary column and read them back bit for bit, with format 3 fields', () => {
    const ops: WalOp[] = [
      { kind: 'upsert', doc: { id: 1, vector: new Float32Array([0.5, -0, 1e-40, -3.25]), attrs: { a: 'x' } } },
      { kind: 'delete', id: 'gone' },
      { kind: 'upsert', doc: { id: 'no-vector', vector: null, attrs: { a: 'y' } } },
      { kind: 'upsert', doc: { id: 3, vector: new Float32Array([Number.MAX_VALUE, -Infinity, 7, 2 ** -149].map(Math.fround)), attrs: {} } },
    ];
    const m = meta({ format_version: WAL_BINARY_VECTORS_FORMAT, plan_wal_start: 2, sharding: { num_shards: 2 } });
    const bytes = encodeWalEntry(m, ops);
    // What other Parquet readers see: a fixed-size binary column of 16-byte values, the floats' little-endian bytes.
    const table = arrow.tableFromIPC(pq.readParquet(bytes).intoIPCStream());
    const col = table.getChild('vector')!;
    expect(arrow.DataType.isFixedSizeBinary(col.type)).toBe(true);
    expect((col.type as arrow.FixedSizeBinary).byteWidth).toBe(16);
    expect(Buffer.from(col.get(0) as Uint8Array).equals(Buffer.from((ops[0] as { doc: { vector: Float32Array } }).doc.vector.buffer))).toBe(true);
    expect([col.isValid(1), col.isValid(2)]).toEqual([false, false]);
    const out = decodeWalEntry(3, bytes);
    expect([out.meta.format_version, out.meta.plan_wal_start, out.meta.sharding]).toEqual([4, 2, { num_shards: 2 }]);
    expect(out.ops).toEqual(ops);
    const bits = (o: WalOp) => (o.kind === 'upsert' && o.doc.vector ? Buffer.from(o.doc.vector.buffer, o.doc.vector.byteOffset, o.doc.vector.byteLength).toString('hex') : null);
    expect(out.ops.map(bits)).toEqual(ops.map(bits)); // -0 and denormals exactly
    // The same operations as a format-1 entry decode to the same values.
    expect(decodeWalEntry(3, encodeWalEntry(meta(), ops)).ops.map(bits)).toEqual(out.ops.map(bits));
  });

  it('should write format 4 unless ELAX_WAL_VECTORS=list, and refuse another value', () => {
    expect(walVectorsBinary({})).toBe(true);
    expect(walVectorsBinary({ ELAX_WAL_VECTORS: '' })).toBe(true);
    expect(walVectorsBinary({ ELAX_WAL_VECTORS: 'list' })).toBe(false);
    expect(walVectorsBinary({ ELAX_WAL_VECTORS: 'binary' })).toBe(true);
    expect(() => walVectorsBinary({ ELAX_WAL_VECTORS: 'f16' })).toThrowError(/ELAX_WAL_VECTORS must be 'list' or 'binary', got 'f16'/);
  });

  it('should carry the plan incarnation in a format-3 entry, void exactly in another incarnation (RFC-0001 step 5)', () => {
    const ops: WalOp[] = [{ kind: 'upsert', doc: { id: 1, vector: null, attrs: { p: 'x' } } }];
    const out = decodeWalEntry(9, encodeWalEntry(meta({ format_version: WAL_PLAN_FORMAT, plan_wal_start: 4, sharding: { num_shards: 2 } }), ops));
    expect([out.meta.format_version, out.meta.plan_wal_start, out.meta.sharding]).toEqual([3, 4, { num_shards: 2 }]);
    expect(entryVoidIn(out.meta, 4)).toBe(false);
    expect(entryVoidIn(out.meta, 9)).toBe(true);
    // An entry without the field (it read no state, or predates it) is valid in any incarnation.
    expect(entryVoidIn(decodeWalEntry(9, encodeWalEntry(meta(), ops)).meta, 9)).toBe(false);
  });

  it('should keep u64 ids and string ids that look alike distinct', () => {
    const ops: WalOp[] = [
      { kind: 'upsert', doc: { id: 1, vector: null, attrs: {} } },
      { kind: 'upsert', doc: { id: '1', vector: null, attrs: {} } },
    ];
    const out = decodeWalEntry(1, encodeWalEntry(meta(), ops));
    expect(out.ops.map((o) => (o.kind === 'upsert' ? o.doc.id : o.id))).toEqual([1, '1']);
  });

  it('should decode an entry of deletes only (its attrs column all null) and one of upserts and deletes', () => {
    for (const ops of [
      [{ kind: 'delete', id: 3 }],
      [{ kind: 'delete', id: 'a' }, { kind: 'delete', id: 7 }],
      [{ kind: 'delete', id: 1 }, { kind: 'upsert', doc: { id: 2, vector: [1, 2], attrs: { t: 'x' } } }, { kind: 'delete', id: 3 }],
    ] as WalOp[][]) {
      const out = decodeWalEntry(1, encodeWalEntry(meta(), ops));
      expect(out.ops.map((o) => (o.kind === 'upsert' ? { ...o, doc: { ...o.doc, vector: o.doc.vector && [...o.doc.vector] } } : o))).toEqual(ops);
    }
  });

  it('should write a real Parquet file (magic bytes at both ends)', () => {
    const bytes = encodeWalEntry(meta(), [{ kind: 'delete', id: 3 }]);
    const magic = new TextDecoder().decode(bytes.subarray(0, 4));
    const tail = new TextDecoder().decode(bytes.subarray(bytes.length - 4));
    expect(magic).toBe('PAR1');
    expect(tail).toBe('PAR1');
  });

  it('should reject a corrupt entry with ELAX_ERR_CORRUPT', () => {
    expect(() => decodeWalEntry(1, new Uint8Array([1, 2, 3]))).toThrowError(/not a readable Parquet/);
  });

  it('should round-trip random batches exactly', () => {
    const dims = 4;
    const vec = fc.option(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: dims, maxLength: dims }).map((a) => Float32Array.from(a)), { nil: null });
    // Any Unicode (multi-byte UTF-8, lone surrogates, quotes, backslashes, brackets and commas in strings): the Utf8
    // columns are cut out of one JSON array's bytes (jsonArrayColumn).
    const text = (o: { minLength?: number; maxLength?: number } = {}) => fc.oneof(fc.string(o), fc.string({ ...o, unit: 'grapheme' }), fc.string({ ...o, unit: 'binary' }));
    const id = fc.oneof(fc.nat(), text({ minLength: 1, maxLength: 10 }));
    const attrs = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'é'), fc.oneof(text(), fc.integer(), fc.boolean(), fc.array(text(), { maxLength: 3 })));
    const op: fc.Arbitrary<WalOp> = fc.oneof(
      fc.record({ kind: fc.constant('upsert' as const), doc: fc.record({ id, vector: vec, attrs }) }),
      fc.record({ kind: fc.constant('delete' as const), id }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), fc.boolean(), (ops, binary) => {
        const m = meta(binary ? { format_version: WAL_BINARY_VECTORS_FORMAT } : {});
        const bytes = encodeWalEntry(m, ops);
        // Gathered into a reused buffer that held anything (engine.ts: core/reused-buffers.ts): the same bytes.
        const dirty = (n: number) => {
          const b = new SharedArrayBuffer(n + 64);
          new Uint8Array(b).fill(0x7f);
          return b;
        };
        expect(Buffer.from(encodeWalColumns(walColumns(m, ops, dirty))).equals(Buffer.from(bytes))).toBe(true);
        // The joined columns (WalColumns.ids, .attrs) give the bytes a column per value gives (arrow's own builder).
        if (!binary) expect(Buffer.from(referenceEncode(meta(), ops)).equals(Buffer.from(bytes))).toBe(true);
        const back = decodeWalEntry(5, bytes).ops;
        // -0 and 0 are the same float for our purposes; compare via JSON of arrays.
        const norm = (o: WalOp[]) => JSON.stringify(o.map((x) => (x.kind === 'upsert' ? { ...x, doc: { ...x.doc, vector: x.doc.vector ? Array.from(x.doc.vector) : null } } : x)));
        expect(norm(back)).toBe(norm(ops));
      }),
      { numRuns: 200 },
    );
  });

  it('should refuse operations whose vectors differ in dimensions, and columns that disagree', () => {
    const a: WalOp = { kind: 'upsert', doc: { id: 1, vector: Float32Array.from([1, 2, 3]), attrs: {} } };
    const b: WalOp = { kind: 'upsert', doc: { id: 2, vector: Float32Array.from([1, 2]), attrs: {} } };
    expect(() => encodeWalEntry(meta(), [a, b])).toThrowError(/mixes vector dimensions 3 and 2/);
    const cols = walColumns(meta(), [a, { kind: 'delete', id: 'x,"]}' }]);
    expect(cols.ids).toBe('[1,"x,\\"]}"]');
    expect(cols.attrs).toBe('[{},null]');
    expect(() => encodeWalColumns({ ...cols, ids: '[1]' })).toThrowError(/WAL columns disagree/);
    expect(() => encodeWalColumns({ ...cols, ids: '[1,2,3]' })).toThrowError(/WAL columns disagree/);
    expect(() => encodeWalColumns({ ...cols, ids: '1,2' })).toThrowError(/WAL columns disagree/);
    expect(() => encodeWalColumns({ ...cols, attrs: '[{},{}]' })).toThrowError(/attrs is not null at null row 1/);
    expect(() => encodeWalColumns({ ...cols, rows: 3 })).toThrowError(/WAL columns disagree/);
    expect(() => encodeWalColumns({ ...cols, ops: Uint8Array.of(1, 7) })).toThrowError(/op 7 at row 1/);
  });
});

/** The entry written the plain way: Arrow's builder for every Utf8 column (a value per row), the same writer settings. */
function referenceEncode(m: WalMeta, ops: WalOp[]): Uint8Array {
  const c = walColumns(m, ops);
  const utf8 = (values: (string | null)[]) => arrow.vectorFromArray(values, new arrow.Utf8());
  const columns: Record<string, arrow.Vector> = {
    op: utf8(ops.map((o) => o.kind)),
    id: utf8(ops.map((o) => JSON.stringify(o.kind === 'upsert' ? o.doc.id : o.id))),
  };
  if (c.dims > 0) {
    const type = new arrow.FixedSizeList(c.dims, new arrow.Field('item', new arrow.Float32(), false));
    const child = arrow.makeData({ type: new arrow.Float32(), length: ops.length * c.dims, data: c.vectors! });
    columns.vector = arrow.makeVector(arrow.makeData({ type, length: ops.length, nullCount: c.nullVectors, nullBitmap: c.validity!, child }));
  }
  columns.attrs = utf8(ops.map((o) => (o.kind === 'upsert' ? JSON.stringify(o.doc.attrs) : null)));
  const plain = new arrow.Table(columns);
  const schema = new arrow.Schema(plain.schema.fields, new Map([['elax.wal', JSON.stringify(m)]]));
  const table = new arrow.Table(schema, plain.batches.map((b) => new arrow.RecordBatch(schema, b.data)));
  return pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), walWriterProperties());
}

describe('the IPC stream joined into a reused buffer', () => {
  it('should equal tableToIPC byte for byte, whatever size the tables before it had', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 64 }), (sizes, dims) => {
        for (const n of sizes) {
          const ids = arrow.makeVector(Float64Array.from({ length: n }, (_, i) => i * 1.5));
          const columns: Record<string, arrow.Vector> = { id: ids, name: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : `r${i}`))) };
          if (dims > 0) {
            const type = new arrow.FixedSizeList(dims, new arrow.Field('item', new arrow.Float32(), false));
            const child = arrow.makeData({ type: new arrow.Float32(), length: n * dims, data: Float32Array.from({ length: n * dims }, (_, i) => i / 7) });
            columns.vector = arrow.makeVector(arrow.makeData({ type, length: n, child }));
          }
          const table = new arrow.Table(columns);
          expect(Buffer.from(ipcStreamInScratch(table)).equals(Buffer.from(arrow.tableToIPC(table, 'stream')))).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });
});
