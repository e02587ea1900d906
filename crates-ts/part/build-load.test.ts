import { beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as pq from 'parquet-wasm';
import * as arrow from 'apache-arrow';
import { isElaxError, type AttrValue, type Doc, type Id, type Schema } from '../core/index.js';
import { MemoryStore } from '../store/index.js';
import { compareIds } from '../query/index.js';
import { buildPartFiles, uploadPart, loadPart, readManifest, newPartId, partFileKey, type PartBuildInput } from './index.js';

const SCHEMA: Schema = {
  id: { type: 'string' },
  vector: { type: '[3]f32', ann: true },
  s: { type: 'string', full_text_search: false },
  i: { type: 'int' },
  u: { type: 'uint' },
  f: { type: 'float' },
  b: { type: 'bool' },
  d: { type: 'datetime' },
  w: { type: 'uuid' },
  as: { type: '[]string' },
  ai: { type: '[]int' },
  af: { type: '[]float' },
  ab: { type: '[]bool' },
  ad: { type: '[]datetime' },
  _seq: { type: 'string' }, // a user attribute with a reserved column name: kept in _extra
};

/** Records the order of writes, to check that manifest.json is written last. */
class RecordingStore extends MemoryStore {
  readonly puts: string[] = [];
  override async put(key: string, bytes: Uint8Array) {
    this.puts.push(key);
    return super.put(key, bytes);
  }
}

const noNegZero = (x: number) => (Object.is(x, -0) ? 0 : x);
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
// ASCII, any code point, and strings with lone surrogates (not UTF-8 encodable: kept exact through _extra's JSON)
const str = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ maxLength: 6, unit: 'binary' }), fc.string({ maxLength: 4, unit: fc.oneof(fc.constant('a'), loneSurrogate) }));
const int = fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }).map(noNegZero);
const float = fc.double({ noNaN: true, noDefaultInfinity: true }).map(noNegZero);
const datetime = fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString());
const uuid = fc.uuid();
const arr = <T>(a: fc.Arbitrary<T>) => fc.array(a, { maxLength: 4 });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 4 });

const attrsArb = fc.record(
  {
    s: opt(str),
    i: opt(fc.oneof({ weight: 5, arbitrary: int }, { weight: 1, arbitrary: str })), // sometimes the wrong type
    u: opt(fc.nat()),
    f: opt(float),
    b: opt(fc.boolean()),
    d: opt(datetime),
    w: opt(uuid),
    as: opt(arr(str)),
    ai: opt(fc.oneof(arr(int), arr(fc.oneof(int, str)))), // mixed arrays go to _extra
    af: opt(arr(float)),
    ab: opt(arr(fc.boolean())),
    ad: opt(arr(datetime)),
    _seq: opt(str),
    _extra: opt(int),
    extra_str: opt(str),
    extra_arr: opt(arr(fc.oneof(str, int, fc.boolean()))),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Record<string, AttrValue>>;

const idArb: fc.Arbitrary<Id> = fc.oneof(fc.nat({ max: 2 ** 53 - 1 }), fc.nat({ max: 50 }), fc.string({ minLength: 0, maxLength: 10 }));
const vecArb = opt(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 }).map((a) => Float32Array.from(a)));

const changesArb = fc
  .uniqueArray(
    fc.record({ id: idArb, del: fc.boolean(), vector: vecArb, attrs: attrsArb, seq: fc.integer({ min: 10, max: 20 }) }),
    { selector: (c) => (typeof c.id === 'number' ? `n${c.id}` : `s${c.id}`), maxLength: 40 },
  )
  .map((cs) => cs);

function liveAttrs(attrs: Record<string, AttrValue>): Record<string, AttrValue> {
  return Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== null && v !== undefined));
}

let FORMAT = 1;

function input(changes: Map<Id, Doc | null>, over: Partial<PartBuildInput> = {}): PartBuildInput {
  return {
    partFormat: FORMAT,
    namespace: 'ns1',
    partId: newPartId(10, 20, 'abc'),
    walStart: 10,
    walEnd: 20,
    level: 0,
    changes,
    schema: SCHEMA,
    distanceMetric: 'cosine_distance',
    createdAt: '2025-01-01T00:00:00.000Z',
    ...over,
  };
}

describe.each([1, 2])('part format %i: build → upload → load', (format) => {
  beforeEach(() => {
    FORMAT = format;
  });

  it('should round-trip every upsert, seq and tombstone exactly, in id order, with manifest.json written last', async () => {
    await fc.assert(
      fc.asyncProperty(changesArb, fc.constantFrom(1, 5, 1024), async (cs, flatThreshold) => {
        const changes = new Map<Id, Doc | null>();
        const seqs = new Map<Id, number>();
        for (const c of cs) {
          changes.set(c.id, c.del ? null : { id: c.id, vector: c.vector, attrs: c.attrs });
          seqs.set(c.id, c.seq);
        }
        const store = new RecordingStore();
        const built = await buildPartFiles(input(changes, { seqs, hnsw: { flatThreshold, M: 8, efConstruction: 20 } }));
        await uploadPart(store, built);
        const prefix = 'ns1/parts/' + built.manifest.part_id + '/';
        expect(store.puts.at(-1)).toBe(prefix + 'manifest.json');
        expect(new Set(store.puts)).toEqual(new Set([...built.files.map((f) => prefix + f.name), prefix + 'manifest.json']));

        const part = await loadPart(store, 'ns1', built.manifest.part_id);
        const upserts = cs.filter((c) => !c.del).sort((a, b) => compareIds(a.id, b.id));
        const deletes = cs.filter((c) => c.del).map((c) => c.id);
        expect(part.docs.map((d) => d.id)).toEqual(upserts.map((c) => c.id));
        upserts.forEach((c, i) => {
          const d = part.docs[i]!;
          expect(d.attrs).toEqual(liveAttrs(c.attrs));
          expect(d.vector).toEqual(c.vector);
          expect(part.seqs[i]).toBe(c.seq);
          expect(part.getOrdinal(c.id)).toBe(i);
        });
        expect(part.tombstones).toEqual(new Set(deletes));
        for (const id of deletes) expect(part.getOrdinal(id)).toBe(-1);
        expect(part.getOrdinal('definitely-absent-id')).toBe(-1);
        expect(part.getOrdinal(2 ** 53)).toBe(-1);
        expect(part.manifest).toMatchObject({ rows: upserts.length, tombstones: deletes.length, dims: 3, wal_start: 10, wal_end: 20 });
        const vectors = upserts.filter((c) => c.vector).length;
        expect(part.manifest.index.kind).toBe(vectors > 0 && vectors >= flatThreshold ? 'hnsw' : 'flat');
        expect(part.manifest.index.vectors).toBe(vectors);
      }),
      { numRuns: 40 },
    );
  });

  it('should build byte-identical files from the same input (fixed HNSW seed, sorted rows)', async () => {
    const changes = new Map<Id, Doc | null>();
    for (let i = 0; i < 300; i++) changes.set(`k${(i * 7919) % 300}`, { id: `k${(i * 7919) % 300}`, vector: Float32Array.of(i, 1, -i), attrs: { s: `v${i}` } });
    const a = await buildPartFiles(input(changes, { hnsw: { flatThreshold: 10 } }));
    const b = await buildPartFiles(input(new Map([...changes].reverse()), { hnsw: { flatThreshold: 10 } }));
    expect(a.manifest.index.kind).toBe('hnsw');
    expect(a.manifest.files).toEqual(b.manifest.files);
  });

  it('should give seq = walEnd to rows without a known seq, and reject seqs outside the range', async () => {
    const changes = new Map<Id, Doc | null>([[1, { id: 1, vector: null, attrs: {} }]]);
    const store = new MemoryStore();
    await uploadPart(store, await buildPartFiles(input(changes)));
    const part = await loadPart(store, 'ns1', newPartId(10, 20, 'abc'));
    expect([...part.seqs]).toEqual([20]);
    await expect(buildPartFiles(input(changes, { seqs: new Map([[1, 9]]) }))).rejects.toMatchObject({ code: 'ELAX_ERR_INTERNAL' });
  });

  it('should write a part with only deletes and one without vectors', async () => {
    const store = new MemoryStore();
    const onlyDeletes = await buildPartFiles(input(new Map<Id, Doc | null>([['gone', null]]), { partId: newPartId(1, 1, 'a') }));
    const noVectors = await buildPartFiles(
      input(new Map<Id, Doc | null>([['x', { id: 'x', vector: null, attrs: { s: 'hello' } }]]), {
        partId: newPartId(2, 2, 'b'),
        schema: { s: { type: 'string' } },
        distanceMetric: null,
      }),
    );
    await uploadPart(store, onlyDeletes);
    await uploadPart(store, noVectors);
    const p1 = await loadPart(store, 'ns1', newPartId(1, 1, 'a'));
    expect(p1.docs).toEqual([]);
    expect([...p1.tombstones]).toEqual(['gone']);
    expect(p1.annSearch(Float32Array.of(1, 2, 3), 5, 10)).toEqual([]);
    const p2 = await loadPart(store, 'ns1', newPartId(2, 2, 'b'));
    expect(p2.manifest.dims).toBeNull();
    expect(p2.docs).toEqual([{ id: 'x', vector: null, attrs: { s: 'hello' } }]);
    expect(p2.annSearch(Float32Array.of(1), 5, 10)).toEqual([]);
  });

});

describe('part format 1: rows.parquet', () => {
  beforeEach(() => {
    FORMAT = 1;
  });

  it('should write real Parquet: typed columns, several row groups for large parts, projection by column', async () => {
    const n = 20_000;
    const changes = new Map<Id, Doc | null>();
    for (let i = 0; i < n; i++) {
      changes.set(i, { id: i, vector: i % 3 === 0 ? null : Float32Array.of(i, -i, 0.5), attrs: { i, s: `s${i}`, as: ['a', `b${i}`], b: i % 2 === 0, z: 'extra' } });
    }
    const built = await buildPartFiles(input(changes, { hnsw: { flatThreshold: Infinity } }));
    const rows = built.files.find((f) => f.name === 'rows.parquet')!.bytes;
    const file = await pq.ParquetFile.fromFile(new Blob([rows]));
    expect(file.metadata().numRowGroups()).toBe(2);
    const projected = arrow.tableFromIPC((await file.read({ columns: ['id', '_seq', 'i', 'as'], rowGroups: [1] })).intoIPCStream());
    const types = Object.fromEntries(projected.schema.fields.map((f) => [f.name, String(f.type)]));
    expect(types).toEqual({ id: 'Utf8', _seq: 'Uint64', i: 'Float64', as: 'List<Utf8>' });
    expect(projected.numRows).toBe(n - 16_384);
    expect(projected.getChild('id')!.get(0)).toBe('16384');
    expect(projected.getChild('i')!.get(0)).toBe(16384);
    const full = arrow.tableFromIPC(pq.readParquet(rows).intoIPCStream());
    expect(String(full.schema.fields.find((f) => f.name === 'vector')!.type)).toBe('FixedSizeList[3]<Float32>');
    expect(String(full.schema.fields.find((f) => f.name === 'b')!.type)).toBe('Bool');
    expect(full.getChild('_extra')!.get(5)).toBe('{"z":"extra"}');
  });
});

describe.each([
  [1, ['rows.parquet', 'vectors.hnsw', 'tombstones.json']],
  [2, ['ids.blk', 'idx.blk', 'vec.blk', 'col-0.blk', 'seq.blk', 'tomb.blk', 'vectors.hnsw']],
] as const)('part format %i: verification', (format, files) => {
  beforeEach(() => {
    FORMAT = format;
  });

  async function stored() {
    const store = new MemoryStore();
    const changes = new Map<Id, Doc | null>();
    for (let i = 0; i < 50; i++) changes.set(i, { id: i, vector: Float32Array.of(i, 1, 2), attrs: { s: `x${i}` } });
    const built = await buildPartFiles(input(changes, { hnsw: { flatThreshold: 10 } }));
    await uploadPart(store, built);
    return { store, id: built.manifest.part_id };
  }

  it.each(files)('should refuse a part whose %s fails its checksum', async (name) => {
    const { store, id } = await stored();
    const key = partFileKey('ns1', id, name);
    const bytes = (await store.get(key))!.bytes;
    bytes[bytes.length >> 1] ^= 0x40;
    await store.put(key, bytes);
    const err = await loadPart(store, 'ns1', id).catch((e: unknown) => e);
    expect(isElaxError(err, 'ELAX_ERR_CORRUPT')).toBe(true);
    expect((err as Error).message).toContain(name);
  });

  it('should refuse a truncated or missing file', async () => {
    const { store, id } = await stored();
    const key = partFileKey('ns1', id, format === 1 ? 'rows.parquet' : 'col-0.blk');
    await store.put(key, (await store.get(key))!.bytes.slice(0, 100));
    await expect(loadPart(store, 'ns1', id)).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT' });
    await store.delete(key);
    await expect(loadPart(store, 'ns1', id)).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT' });
  });

  it('should treat a part without manifest.json as incomplete', async () => {
    const { store, id } = await stored();
    await store.delete(partFileKey('ns1', id, 'manifest.json'));
    expect(await readManifest(store, 'ns1', id)).toBeNull();
    await expect(loadPart(store, 'ns1', id)).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT' });
  });

  it('should refuse a manifest from a newer format version or for another part', async () => {
    const { store, id } = await stored();
    const key = partFileKey('ns1', id, 'manifest.json');
    const m = JSON.parse(Buffer.from((await store.get(key))!.bytes).toString()) as Record<string, unknown>;
    await store.put(key, Buffer.from(JSON.stringify({ ...m, format_version: 4 })));
    await expect(readManifest(store, 'ns1', id)).rejects.toMatchObject({ code: 'ELAX_ERR_INCOMPATIBLE_FORMAT' });
    await store.put(key, Buffer.from(JSON.stringify({ ...m, part_id: 'other' })));
    await expect(readManifest(store, 'ns1', id)).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT' });
    await store.put(key, Buffer.from('{not json'));
    await expect(readManifest(store, 'ns1', id)).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT' });
  });
});
