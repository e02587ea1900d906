/**
 * Vector columns stored fixed-stride (RFC-0014 §4, column kind 7 `fvec`) and recall over every vector column (§5),
 * through the OFFICIAL @turbopuffer/turbopuffer client. Two namespaces (turbopuffer allows 2 vector columns, `vector`
 * included): `vector` ([4]f32) with `img` ([8]f32, ann euclidean_squared), and `img` with `e16` ([6]f16, ann
 * cosine_distance) and no `vector`. Values of `img` are one-decimal numbers (no f32 is exact: 0.1 must come back
 * as 0.1), those of `e16` multiples of 1/8 (exact in f16). Queried with the rows in the WAL tail only, in parts only
 * (indexed into several parts, each column stored as kind fvec, checked in the part heads), then with updates,
 * patches to null, deletes and new rows in the tail over the parts, then compacted into one part; kNN and ANN (with and without filters) equal a
 * brute force computed here. include_attributes returns the written numbers, or their f32 as base64. /_debug/recall
 * without rank_by reports every vector column with ANN in `columns` (`vector`'s top-level fields as before), and
 * `elax recall` prints one row per column.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { isBlockHead, readManifest } from '../crates-ts/part/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { compactNamespace } from '../indexer/compact.js';
import { runRecall } from '../cli/recall/index.js';
import { indexAll, startTestServer, type TestServer } from './helpers/server.js';
import { seededRandom as rng } from '../crates-ts/ivf/index.js';

let server: TestServer;
let tpuf: Turbopuffer;

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
});
afterAll(async () => {
  await server.close();
});

let nonce = 0;

interface Row {
  id: number;
  vector: number[];
  img?: number[];
  e16?: number[];
  cat: string;
}

const IMG = { type: '[8]f32', ann: { distance_metric: 'euclidean_squared' as const } };
const E16 = { type: '[6]f16', ann: { distance_metric: 'cosine_distance' as const } };
const CAT = { type: 'string', filterable: true };
type Attr = 'img' | 'e16';
/** Namespace A: `vector` and `img`; namespace B: `img` and `e16`, no `vector`. */
const SETUPS = [
  { ns: 'fvec-a', attrs: ['img'] as Attr[], schema: { img: IMG, cat: CAT } as never, seed: 111 },
  { ns: 'fvec-b', attrs: ['img', 'e16'] as Attr[], schema: { img: IMG, e16: E16, cat: CAT } as never, seed: 1111 },
];

/** One-decimal numbers in [-50, 50): each a decimal with no exact f32. */
const dec = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 1000 - 500) / 10);
/** Multiples of 1/8 in [-4, 4): exact in f16. */
const eighth = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 64 - 32) / 8);

function makeRow(r: () => number, id: number, attrs: readonly Attr[]): Row {
  const row: Row = { id, vector: eighth(r, 4), cat: `c${id % 3}` };
  if (id % 7 !== 0) row.img = dec(r, 8);
  if (id % 5 !== 0 && attrs.includes('e16')) row.e16 = eighth(r, 6);
  return row;
}

/** The row as written: no `vector` in namespace B. */
const written = (x: Row, attrs: readonly Attr[]) => (attrs.includes('e16') ? { id: x.id, cat: x.cat, ...(x.img ? { img: x.img } : {}), ...(x.e16 ? { e16: x.e16 } : {}) } : x);

/** The stored f32 of each written number (what both sides rank by). */
const f32 = (v: number[]) => v.map(Math.fround);

function l2(q: number[], v: number[]): number {
  const a = f32(q);
  const b = f32(v);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

function cosine(q: number[], v: number[]): number {
  const a = f32(q);
  const b = f32(v);
  let d = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  if (aa === 0 || bb === 0) return 1;
  const x = 1 - d / Math.sqrt(aa * bb);
  return x < 0 ? 0 : x > 2 ? 2 : x;
}

const METRIC = { img: l2, e16: cosine };

function brute(rows: Map<number, Row>, attr: 'img' | 'e16', q: number[], k: number, keep: (r: Row) => boolean = () => true): [number, number][] {
  const out: [number, number][] = [];
  for (const r of rows.values()) {
    const v = r[attr];
    if (v && keep(r)) out.push([r.id, METRIC[attr](q, v)]);
  }
  out.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  return out.slice(0, k);
}

async function ranked(ns: string, attr: string, mode: 'kNN' | 'ANN', q: number[], k: number, filters?: unknown): Promise<[number, number][]> {
  const res = await tpuf.namespace(ns).query({ rank_by: [attr, mode, q] as never, top_k: k, ...(filters ? { filters: filters as never } : {}) });
  return (res.rows ?? []).map((row) => [row.id as number, row.$dist as number]);
}

/** Same ids in the same order; distances equal to the brute force's up to summation order. */
function expectRanked(got: [number, number][], want: [number, number][]): void {
  expect(got.map(([id]) => id)).toEqual(want.map(([id]) => id));
  got.forEach(([, d], i) => expect(d).toBeCloseTo(want[i]![1], 6));
}

async function checkAll(ns: string, attrs: readonly Attr[], rows: Map<number, Row>, r: () => number): Promise<void> {
  const e16 = attrs.includes('e16');
  for (let t = 0; t < 4; t++) {
    const qi = dec(r, 8);
    const qe = eighth(r, 6);
    for (const k of [1, 10, 40]) {
      for (const mode of ['kNN', 'ANN'] as const) {
        expectRanked(await ranked(ns, 'img', mode, qi, k), brute(rows, 'img', qi, k));
        if (e16) expectRanked(await ranked(ns, 'e16', mode, qe, k), brute(rows, 'e16', qe, k));
      }
    }
    for (const mode of ['kNN', 'ANN'] as const) {
      expectRanked(await ranked(ns, 'img', mode, qi, 7, ['cat', 'Eq', 'c1']), brute(rows, 'img', qi, 7, (x) => x.cat === 'c1'));
      if (e16) expectRanked(await ranked(ns, 'e16', mode, qe, 7, ['cat', 'NotEq', 'c0']), brute(rows, 'e16', qe, 7, (x) => x.cat !== 'c0'));
    }
  }
  // Every row with the attribute, and only those, is ranked by it.
  const all = await ranked(ns, 'img', 'kNN', dec(r, 8), 1000);
  expect(all.map(([id]) => id).sort((a, b) => a - b)).toEqual([...rows.values()].filter((x) => x.img).map((x) => x.id).sort((a, b) => a - b));
  // The values come back as written (each one-decimal number, not its f32's long form), or as their f32 in base64.
  const q = dec(r, 8);
  const top = brute(rows, 'img', q, 5).map(([id]) => rows.get(id)!);
  const include = e16 ? ['img', 'e16'] : ['img'];
  const asNumbers = await tpuf.namespace(ns).query({ rank_by: ['img', 'kNN', q], top_k: 5, include_attributes: include });
  expect(asNumbers.rows!.map((x) => [x.id, x.img, x.e16 ?? null])).toEqual(top.map((x) => [x.id, x.img, x.e16 ?? null]));
  expect(JSON.stringify(asNumbers.rows![0]!.img)).toBe(JSON.stringify(top[0]!.img)); // 0.1, not 0.10000000149011612
  const b64 = (v: number[]) => Buffer.from(new Float32Array(v).buffer).toString('base64');
  const asB64 = await tpuf.namespace(ns).query({ rank_by: ['img', 'kNN', q], top_k: 5, include_attributes: include, vector_encoding: 'base64' });
  expect(asB64.rows!.map((x) => [x.id, x.img, x.e16 ?? null])).toEqual(top.map((x) => [x.id, b64(x.img!), x.e16 ? b64(x.e16) : null]));
}

describe.each(SETUPS)('official client: vector columns stored fixed-stride (kind fvec) in $ns', ({ ns, attrs, schema, seed }) => {
  const rows = new Map<number, Row>();
  const r = rng(seed);
  const names = (['e16', 'img'] as const).filter((a) => attrs.includes(a));

  it('should rank kNN / ANN over the columns as brute force does: tail only, parts only, tail over parts', async () => {
    for (let batch = 0; batch < 3; batch++) {
      const up = Array.from({ length: 100 }, (_, i) => makeRow(r, batch * 100 + i + 1, attrs));
      await tpuf.namespace(ns).write({ upsert_rows: up.map((x) => written(x, attrs)) as never, distance_metric: 'euclidean_squared', schema });
      for (const u of up) rows.set(u.id, u);
    }
    await checkAll(ns, attrs, rows, r); // WAL tail only

    await indexAll(server.storeDir, ns, { hnsw: { flatThreshold: 32 } });
    const store = new LocalDirStore(server.storeDir);
    try {
      const router = (await new RouterStore(store).read(ns))!.router;
      expect(router.parts.length).toBeGreaterThanOrEqual(3);
      for (const p of router.parts) {
        const head = (await readManifest(store, ns, p.id))!;
        if (!isBlockHead(head)) throw new Error('not a block part');
        expect(head.columns.filter((c) => c.name === 'img' || c.name === 'e16').map((c) => [c.name, c.kind])).toEqual(names.map((a) => [a, 'fvec']));
      }
    } finally {
      await store.close();
    }
    await checkAll(ns, attrs, rows, r); // parts only

    // The tail over the parts: updates of part rows (new values), a value patched to null, deletes, new rows.
    const tail = [5, 150, 222, 301, 302, 303, 304].map((id) => makeRow(r, id, attrs));
    const patched = attrs.includes('e16') ? eighth(r, 6) : dec(r, 8);
    await tpuf.namespace(ns).write({
      upsert_rows: tail.map((x) => written(x, attrs)) as never,
      patch_rows: [{ id: 11, img: null }, { id: 12, [attrs.includes('e16') ? 'e16' : 'img']: patched }] as never,
      deletes: [2, 101, 299],
    });
    for (const t of tail) rows.set(t.id, t);
    delete rows.get(11)!.img;
    if (attrs.includes('e16')) rows.get(12)!.e16 = patched;
    else rows.get(12)!.img = patched;
    for (const id of [2, 101, 299]) rows.delete(id);
    await checkAll(ns, attrs, rows, r);

    // Indexed and compacted into one part: the values read back from kind-7 blocks and written again, unchanged.
    await indexAll(server.storeDir, ns, { hnsw: { flatThreshold: 32 } });
    const cstore = new LocalDirStore(server.storeDir);
    try {
      expect((await compactNamespace(cstore, ns, { clock: { now: () => Date.now() }, nonce: () => `fc${nonce++}`, force: true, hnsw: { flatThreshold: 32 } })).result).toBe('compacted');
      const router = (await new RouterStore(cstore).read(ns))!.router;
      expect(router.parts.length).toBe(1);
      const head = (await readManifest(cstore, ns, router.parts[0]!.id))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.columns.filter((c) => c.name === 'img' || c.name === 'e16').map((c) => c.kind)).toEqual(names.map(() => 'fvec'));
    } finally {
      await cstore.close();
    }
    await checkAll(ns, attrs, rows, r);
  });

  it('should report recall for every vector column with ANN when sampling (no rank_by)', async () => {
    const rec = await tpuf.namespace(ns).recall({ num: 8, top_k: 10 });
    const columns = (rec as unknown as { columns: Record<string, { avg_recall: number; recall_stderr: number; avg_ann_count: number; avg_exhaustive_count: number }> }).columns;
    // `vector` first when the namespace has it (its top-level fields as before), else the first other column.
    const measured = attrs.includes('e16') ? ['e16', 'img'] : ['vector', 'img'];
    expect(Object.keys(columns)).toEqual(measured);
    expect(columns[measured[0]!]).toEqual({ avg_recall: rec.avg_recall, recall_stderr: (rec as unknown as { recall_stderr: number }).recall_stderr, avg_ann_count: rec.avg_ann_count, avg_exhaustive_count: rec.avg_exhaustive_count });
    for (const c of Object.values(columns)) {
      expect(c.avg_exhaustive_count).toBe(10);
      expect(c.avg_ann_count).toBe(10);
      expect(c.avg_recall).toBeGreaterThanOrEqual(0.9);
    }
    // Seeded: the same sample, the same report.
    const a = await tpuf.namespace(ns).recall({ num: 4, top_k: 5, seed: 7 } as never);
    expect(await tpuf.namespace(ns).recall({ num: 4, top_k: 5, seed: 7 } as never)).toEqual(a);
    // rank_by measures one column: no `columns`.
    const one = await tpuf.namespace(ns).recall({ rank_by: ['img', 'ANN', dec(r, 8)], top_k: 10 });
    expect((one as unknown as { columns?: unknown }).columns).toBeUndefined();
    // `elax recall` prints one row per column.
    const cli = await runRecall({ ns, url: server.url, body: { num: 3, top_k: 5 } });
    expect(cli.map((x) => [x.namespace, x.attribute])).toEqual(measured.map((m) => [ns, m]));
  });
});
