import { describe, expect, it } from 'vitest';
import { compileFilter } from '../filter/index.js';
import { seededRandom } from '../ivf/index.js';
import { RANDOM_FILTER_SCHEMA, randomDocs, randomFilter } from '../../test/helpers/random-filters.js';
import { blockOf, openBlockFile } from './block-file.js';
import { filterMaskOf, valueFilterOf } from './filter-eval.js';
import { buildFilterIndexes, decodeDictIndex, dictCodes, type DictIndex } from './filter-index.js';
import { ElaxError } from '../core/index.js';
import { buildPartFiles, type PartBuildInput } from './build.js';
import { encodeHead, type PartHeadV2 } from './head.js';
import { decodeManifest } from './manifest.js';
import { newPartId } from './paths.js';

const schema = RANDOM_FILTER_SCHEMA;
const compile = (f: unknown) => compileFilter(f, schema);

/** Builds every index of `docs` and reads it back from its file bytes. */
function indexesOf(docs: ReturnType<typeof randomDocs>): Map<string, DictIndex> {
  const names = Object.keys(schema);
  const built = buildFilterIndexes(schema, names.map((name) => ({ name, values: docs.map((d) => d.attrs[name] ?? null) })));
  const out = new Map<string, DictIndex>();
  built.infos.forEach((info, i) => {
    const bytes = built.files[i]!.bytes;
    const { footer, blocks } = openBlockFile(bytes, info.file);
    expect(footer.kind).toBe('filter-dict');
    const parts = Array.from({ length: blocks.offset.length }, (_, b) => blockOf(bytes, info.blocks, b, info.file));
    out.set(info.attr, decodeDictIndex(info, parts, docs.length, info.file));
  });
  return out;
}

describe('filter trees over dictionary indexes', () => {
  it('give exactly the rows the compiled filter accepts (exact masks), or a superset of them (seeded)', () => {
    const r = seededRandom(80);
    let exact = 0;
    let partial = 0;
    for (let round = 0; round < 40; round++) {
      const docs = randomDocs(r, 1 + Math.floor(r() * 300));
      const idx = indexesOf(docs);
      expect([...idx.keys()].sort()).toEqual(Object.keys(schema).sort());
      for (let q = 0; q < 25; q++) {
        const f = randomFilter(r, 3, docs.length);
        const closure = compile(f);
        const want = docs.map((d) => closure(d));
        const m = filterMaskOf(f, docs.length, (a) => idx.get(a) ?? null, compile);
        if (m === null) continue;
        if (m.exact) {
          exact++;
          expect(Array.from(m.mask, (x) => x === 1), JSON.stringify(f)).toEqual(want);
        } else {
          partial++;
          want.forEach((w, o) => {
            if (w) expect(m.mask[o], JSON.stringify(f)).toBe(1);
          });
        }
      }
    }
    expect(exact).toBeGreaterThan(200);
    expect(partial).toBeGreaterThan(20);
  });

  it('test each row by value exactly as the compiled filter, for trees over one scalar dictionary attribute (seeded)', () => {
    const r = seededRandom(92);
    let tested = 0;
    for (let round = 0; round < 40; round++) {
      const docs = randomDocs(r, 1 + Math.floor(r() * 300));
      const idx = indexesOf(docs);
      for (let q = 0; q < 40; q++) {
        const f = randomFilter(r, 3, docs.length);
        const v = valueFilterOf(f, (a) => idx.get(a) ?? null, compile);
        if (v === null) continue;
        tested++;
        const closure = compile(f);
        const codes = dictCodes(v.index, docs.length);
        const got = docs.map((_, o) => v.accept[codes[o]!] === 1);
        expect(got, JSON.stringify(f)).toEqual(docs.map((d) => closure(d)));
        expect(v.rows, JSON.stringify(f)).toBe(got.filter(Boolean).length);
      }
    }
    expect(tested).toBeGreaterThan(100);
  });

  it('skips attributes with too many distinct values, mixed shapes, or objects', () => {
    // Near-unique numbers get a sorted index instead (slice 3); near-unique values of mixed types get none.
    const many = Array.from({ length: 70_000 }, (_, i) => i);
    expect(buildFilterIndexes({}, [{ name: 'u', values: many }]).infos.map((i) => i.kind)).toEqual(['sorted']);
    const mixed = Array.from({ length: 70_000 }, (_, i) => (i % 2 ? i : `s${i}`));
    expect(buildFilterIndexes({}, [{ name: 'u', values: mixed }]).infos).toEqual([]);
    expect(buildFilterIndexes({}, [{ name: 'm', values: [1, [2]] }]).infos).toEqual([]);
    expect(buildFilterIndexes({}, [{ name: 'o', values: [{ a: 1 } as never] }]).infos).toEqual([]);
    expect(buildFilterIndexes({ t: { type: 'string', filterable: false } }, [{ name: 't', values: ['x'] }]).infos).toEqual([]);
    expect(buildFilterIndexes({}, [{ name: 'k', values: ['x', null, 'x'] }]).infos.map((i) => [i.values, i.nulls, i.array])).toEqual([[1, 1, false]]);
  });
});

describe('filter index heads', () => {
  it('should reject a malformed filter_indexes entry with ELAX_ERR_CORRUPT naming the part', async () => {
    const docs = randomDocs(seededRandom(5), 40);
    const built = await buildPartFiles({
      namespace: 'ns', partId: newPartId(1, 1, 'x'), walStart: 1, walEnd: 1, level: 0, schema, distanceMetric: null,
      changes: new Map(docs.map((d) => [d.id, d])), createdAt: '2026-12-05T00:00:00.000Z', partFormat: 2,
    } as PartBuildInput);
    const head = built.manifest as PartHeadV2;
    expect(head.filter_indexes?.length).toBe(Object.keys(schema).length);
    const where = 'ns/parts/p1/manifest.json';
    expect(() => decodeManifest(encodeHead(head), where)).not.toThrow();
    const bad = (mutate: (raw: Record<string, unknown>[]) => void) => {
      const raw = JSON.parse(Buffer.from(encodeHead(head)).toString()) as { filter_indexes: Record<string, unknown>[] };
      mutate(raw.filter_indexes);
      return () => decodeManifest(Buffer.from(JSON.stringify(raw)), where);
    };
    for (const m of [
      (f: Record<string, unknown>[]) => (f[0]!.attr = 'nope'),
      (f: Record<string, unknown>[]) => (f[1]!.file = 'missing.blk'),
      (f: Record<string, unknown>[]) => (f[0]!.kind = 'sorted'),
      (f: Record<string, unknown>[]) => (f[2]!.values = -1),
      (f: Record<string, unknown>[]) => f.push({ ...f[0]! }),
    ]) {
      const run = bad(m);
      expect(run).toThrow(ElaxError);
      expect(run).toThrow(/part ns\/parts\/p1\/manifest\.json: filter_indexes/);
      try {
        run();
      } catch (e) {
        expect((e as ElaxError).code).toBe('ELAX_ERR_CORRUPT');
      }
    }
  });
});
