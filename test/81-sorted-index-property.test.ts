/**
 * Sorted filter indexes (RFC-0009 slice 3) end to end: near-unique numbers, datetimes and strings (too many distinct
 * values for a dictionary, so the parts carry `fsrt-*.blk` sorted indexes) under random range, equality, set and
 * prefix-glob filters nested in And / Or / Not, and `rank_by [attr, asc|desc]` with and without a filter (walking the
 * sorted pairs, or a dictionary's values, in order), give
 * exactly what naive evaluation over the documents gives, through the WAL tail, parts, deletes, overwrites and
 * compaction; and Count / Sum, whole and grouped by a dictionary-indexed attribute (over bitmaps in the parts).
 */
import { describe, expect, it } from 'vitest';
import { compareIds, type AttrValue, type Doc, type Id, type Schema } from '../crates-ts/core/index.js';
import { Engine } from '../crates-ts/engine/index.js';
import { compileFilter } from '../crates-ts/filter/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { isBlockHead, readManifest } from '../crates-ts/part/index.js';
import { compareValues } from '../crates-ts/query/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { compactNamespace } from '../indexer/compact.js';
import { Indexer } from '../indexer/indexer.js';
import { ReadLogStore } from './helpers/read-log-store.js';

let t = 1_800_000_000_000;
const clock = { now: () => (t += 1) };
let n = 0;
const nonce = () => `s${n++}`;

const schema: Schema = { price: { type: 'float' }, ts: { type: 'datetime' }, name: { type: 'string' }, cat: { type: 'string' } };
const SORTED = ['name', 'price', 'ts'];
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const T0 = Date.UTC(2024, 0, 1);

function attrs(r: () => number): Record<string, AttrValue> {
  const a: Record<string, AttrValue> = {};
  const gap = () => r() < 0.1;
  // Halves up to 300: near-unique, with some ties (order-by ties break by id).
  if (!gap()) a.price = Math.round(r() * 600) / 2;
  if (!gap()) a.ts = new Date(T0 + Math.floor(r() * 1e9)).toISOString();
  if (!gap()) a.name = Array.from({ length: 2 + Math.floor(r() * 4) }, () => pick(r, ['a', 'b', 'c', 'd', 'B'])).join('');
  if (!gap()) a.cat = pick(r, ['x', 'y', 'z']);
  return a;
}

/** An operand: often a value some document holds (equality and run ends on ties), sometimes null. */
function operand(r: () => number, attr: string, docs: readonly Doc[]): unknown {
  if (r() < 0.08) return null;
  if (r() < 0.5 && docs.length > 0) {
    const v = pick(r, docs).attrs[attr];
    if (v !== undefined) return attr === 'ts' && r() < 0.5 ? Date.parse(v as string) : v; // epoch ms: normalised by filter/
  }
  switch (attr) {
    case 'price':
      return Math.round(r() * 620) / 2 - 5;
    case 'ts':
      return new Date(T0 + Math.floor(r() * 1.1e9) - 5e7).toISOString();
    case 'name':
      return pick(r, ['a', 'ab', 'b', 'ca', 'dd', 'B', 'bad']);
    default:
      return pick(r, ['x', 'y', 'z']);
  }
}

function leaf(r: () => number, docs: readonly Doc[]): unknown[] {
  const attr = pick(r, ['price', 'price', 'ts', 'name', 'cat']);
  if (attr === 'name' && r() < 0.4) {
    // Prefix globs (sorted runs), half of them on a name some document holds (the run starts at that value).
    const held = docs.length > 0 ? pick(r, docs).attrs.name : undefined;
    const pattern = typeof held === 'string' && r() < 0.5 ? `${held.slice(0, 2 + Math.floor(r() * 2))}*` : pick(r, ['a*', 'ab*', 'bad*', 'B*', 'c*d', '*a']);
    return ['name', pick(r, ['Glob', 'Glob', 'NotGlob', 'IGlob']), pattern];
  }
  const op = pick(r, ['Eq', 'NotEq', 'In', 'NotIn', 'Lt', 'Lte', 'Gt', 'Gte', 'Lt', 'Gte']);
  if (op === 'In' || op === 'NotIn') return [attr, op, Array.from({ length: 1 + Math.floor(r() * 3) }, () => operand(r, attr, docs))];
  return [attr, op, operand(r, attr, docs)];
}

function filter(r: () => number, docs: readonly Doc[], depth = 2): unknown {
  const x = r();
  if (depth === 0 || x < 0.45) return leaf(r, docs);
  if (x < 0.55) return ['Not', filter(r, docs, depth - 1)];
  return [x < 0.8 ? 'And' : 'Or', Array.from({ length: 1 + Math.floor(r() * 3) }, () => filter(r, docs, depth - 1))];
}

describe('sorted filter indexes against naive evaluation', () => {
  it('should return the same rows for random range, set and prefix-glob filters and order-by over tail, parts, deletes and compaction', async () => {
    const store = new ReadLogStore();
    const ns = 'fsrt-prop';
    const engine = new Engine(store, { clock, sleep: () => Promise.resolve(), random: seededRandom(7), groupCommitMs: 0 });
    const indexer = new Indexer(store, { clock, nonce, hnsw: { flatThreshold: 4 } });
    const r = seededRandom(810);
    const model = new Map<Id, Doc>();
    const upsert = async (ids: number[]) => {
      const rows = ids.map((id) => {
        const a = attrs(r);
        model.set(id, { id, vector: null, attrs: a });
        return { id, vector: [Math.cos(id), Math.sin(id)], ...a };
      });
      await engine.write(ns, { upsert_rows: rows, distance_metric: 'euclidean_squared', schema });
    };
    const remove = async (ids: number[]) => {
      ids.forEach((id) => model.delete(id));
      await engine.write(ns, { deletes: ids });
    };
    const check = async (stage: string) => {
      const docs = [...model.values()];
      for (let q = 0; q < 25; q++) {
        const f = filter(r, docs);
        const closure = compileFilter(f, schema);
        const matching = docs.filter((d) => closure(d));
        const want = matching.map((d) => d.id as number).sort((a, b) => a - b);
        const got = await engine.query(ns, { filters: f, rank_by: ['id', 'asc'], top_k: 1000 });
        expect(got.rows!.map((x) => x.id), `${stage}: ${JSON.stringify(f)}`).toEqual(want);
        const count = await engine.query(ns, { filters: f, aggregate_by: { c: ['Count'] } });
        expect(count.aggregations, `${stage} Count: ${JSON.stringify(f)}`).toEqual({ c: want.length });
        // Count / Count attr / Sum over bitmaps (slice 5): whole and per value of the dictionary-indexed cat.
        const sum = (ds: Doc[]) => ds.reduce((acc, d) => acc + (typeof d.attrs.price === 'number' ? d.attrs.price : 0), 0);
        const named = (ds: Doc[]) => ds.filter((d) => d.attrs.name != null).length;
        const agg = await engine.query(ns, { filters: f, aggregate_by: { c: ['Count'], s: ['Sum', 'price'], n: ['Count', 'name'] } });
        expect(agg.aggregations, `${stage} Sum: ${JSON.stringify(f)}`).toEqual({ c: want.length, s: sum(matching), n: named(matching) });
        const grouped = await engine.query(ns, { filters: f, aggregate_by: { c: ['Count'], s: ['Sum', 'price'] }, group_by: ['cat'] });
        const cats = [...new Set(matching.map((d) => (d.attrs.cat as string | undefined) ?? null))].sort((a, b) => compareValues(a, b));
        const groups = cats.map((c) => {
          const in_ = matching.filter((d) => ((d.attrs.cat as string | undefined) ?? null) === c);
          return { cat: c, c: in_.length, s: sum(in_) };
        });
        expect(grouped.aggregation_groups, `${stage} group_by: ${JSON.stringify(f)}`).toEqual(groups);
        // Order by a sorted attribute, with this filter and without one: nulls first ascending, last descending,
        // ties by id ascending (query/compare.ts).
        const attr = pick(r, [...SORTED, 'cat']); // cat: a dictionary walk, many ties
        const desc = r() < 0.5;
        const k = 1 + Math.floor(r() * 12);
        for (const [withFilter, rows] of [[true, matching], [false, docs]] as const) {
          const order = [...rows].sort((a, b) => (desc ? -1 : 1) * compareValues(a.attrs[attr], b.attrs[attr]) || compareIds(a.id, b.id));
          const ranked = await engine.query(ns, { ...(withFilter ? { filters: f } : {}), rank_by: [attr, desc ? 'desc' : 'asc'], top_k: k, include_attributes: [attr] });
          const msg = `${stage} order ${attr} ${desc ? 'desc' : 'asc'} top ${k}${withFilter ? ` ${JSON.stringify(f)}` : ''}`;
          expect(ranked.rows!.map((x) => x.id), msg).toEqual(order.slice(0, k).map((d) => d.id));
        }
      }
    };
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

    await upsert(ids(0, 200));
    await check('tail only');
    await indexer.indexNamespace(ns, true);
    await check('one part');
    await upsert([...ids(150, 190), ...ids(300, 420)]);
    await remove([3, 7, 11, 50, 51, 52, 160, 999]);
    await indexer.indexNamespace(ns, true);
    await upsert(ids(420, 450));
    await remove([0, 1, 305]);
    await check('two parts, deletes, tail');

    // The parts carry sorted indexes for the near-unique attributes (and a dictionary for cat), and queries read them.
    const router = (await new RouterStore(store).read(ns))!.router;
    expect(router.parts.length).toBe(2);
    for (const p of router.parts) {
      const head = (await readManifest(store, ns, p.id))!;
      const kinds = isBlockHead(head) ? Object.fromEntries(head.filter_indexes!.map((i) => [i.attr, `${i.kind}:${i.file.slice(0, 4)}`])) : null;
      expect(kinds).toEqual({ cat: 'dict:fidx', name: 'sorted:fsrt', price: 'sorted:fsrt', ts: 'sorted:fsrt' });
    }
    expect(store.reads.some((x) => /fsrt-\d+\.blk$/.test(x.key))).toBe(true);

    for (let k = 0; k < 3; k++) {
      const df = filter(r, [...model.values()], 1);
      const dc = compileFilter(df, schema);
      for (const d of [...model.values()]) if (dc(d)) model.delete(d.id);
      await engine.write(ns, { delete_by_filter: df });
      await check(`after delete by filter ${k}: ${JSON.stringify(df)}`);
      await indexer.indexNamespace(ns, true);
    }
    const out = await compactNamespace(store, ns, { clock, nonce, force: true, hnsw: { flatThreshold: 4 } });
    expect(out.result).toBe('compacted');
    await check('compacted');
  });
});
