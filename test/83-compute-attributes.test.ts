/**
 * compute_attributes through the OFFICIAL @turbopuffer/turbopuffer client: VectorDist (the same number `$dist` gives,
 * any rank), Highlight (fragment_by, fragment_limit, include_offsets, rank_fragments_by), with include_attributes /
 * exclude_attributes, in multi-queries (with and without RRF), and over rows in an indexed part and in the WAL tail
 * (one part row overwritten in the tail). Expected values are computed here: cosine distance in float64, sentences
 * split by punctuation, BM25 over a row's sentences, offsets by Buffer.byteLength / code point counts.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type Turbopuffer from '@turbopuffer/turbopuffer';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let tpuf: Turbopuffer;
const NS = 'compute-attrs';

interface R {
  [k: string]: unknown;
  id: number;
  vector: number[];
  color: string;
  body: string;
}
const PART: R[] = [
  { id: 1, vector: [1, 0, 0], color: 'red', body: 'The red fox jumps. A quiet night falls. Another fox sleeps here.' },
  { id: 2, vector: [0, 1, 0], color: 'blue', body: 'No animals in this one.' },
  { id: 3, vector: [0.6, 0.8, 0], color: 'green', body: 'Fox. Fox fox!' },
  { id: 4, vector: [0.2, 0.3, 0.9], color: 'red', body: 'Über den Fluss springt der fox 😀 schnell. Noch ein fox da.' },
  { id: 5, vector: [-1, 0, 0.1], color: 'blue', body: 'fox' },
  { id: 6, vector: [0, 0, 1], color: 'blue', body: 'Sixth document without the animal.' },
];
const TAIL: R[] = [
  { id: 7, vector: [0.9, 0.1, 0.1], color: 'red', body: 'Fox in the tail. Nothing else here at all.' },
  { id: 3, vector: [0.5, 0.5, 0.5], color: 'green', body: 'The fox moved to the tail. It is tired.' },
];
const LIVE = new Map<number, R>();
for (const r of [...PART, ...TAIL]) LIVE.set(r.id, r);

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
  await tpuf.namespace(NS).write({
    upsert_rows: PART,
    distance_metric: 'cosine_distance',
    schema: { body: { type: 'string', full_text_search: { remove_stopwords: false } } },
  });
  const store = new LocalDirStore(server.storeDir);
  let n = 0;
  await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `ca${n++}`, hnsw: { flatThreshold: 1 } }).indexNamespace(NS, true);
  await store.close();
  await tpuf.namespace(NS).write({ upsert_rows: TAIL });
});
afterAll(async () => {
  await server.close();
});

function cosine(a: number[], b: number[]): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return 1 - ab / Math.sqrt(aa * bb);
}

const words = (s: string): string[] => s.toLowerCase().match(/[\p{L}\p{N}]+|\p{Extended_Pictographic}/gu) ?? [];
/** Sentences of these simple texts: split after . ! ? followed by white space. */
const sentences = (s: string) => s.split(/(?<=[.!?])\s+/).filter((x) => x.length > 0);

/** The expected Highlight texts for a one-term BM25 query: BM25 (k1 1.2, b 0.75) over the row's fragments. */
function expectedFragments(fragments: string[], term: string, limit: number): string[] {
  const toks = fragments.map(words);
  const n = toks.length;
  const df = toks.filter((t) => t.includes(term)).length;
  const avg = toks.reduce((s, t) => s + t.length, 0) / n;
  const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
  const scored = toks.map((t, i) => {
    const tf = t.filter((w) => w === term).length;
    return { i, score: tf === 0 ? 0 : (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * t.length) / avg)) };
  });
  return scored
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, limit)
    .map((s) => fragments[s.i]!);
}

describe('compute_attributes: VectorDist', () => {
  it('should run over one part (row 3 overwritten) and a WAL tail of 2 rows', async () => {
    const plan = (await tpuf.namespace(NS).explainQuery({ rank_by: ['id', 'asc'] })).plan_text!;
    expect(plan).toMatch(/part \S+: 6 rows \(1 dead\)/);
    expect(plan).toContain('tail: 2 rows');
  });

  it('should equal $dist for kNN and ANN over part and tail rows, and the distance computed here', async () => {
    const q = [0.3, 0.4, 0.5];
    for (const mode of ['kNN', 'ANN'] as const) {
      const res = await tpuf.namespace(NS).query({ rank_by: mode === 'kNN' ? ['vector', 'kNN', q] : ['vector', 'ANN', q], top_k: 10, compute_attributes: { d: ['vector', 'VectorDist', q] } });
      const rows = res.rows!;
      expect(rows.map((r) => r.id).sort()).toEqual([...LIVE.keys()].sort());
      for (const r of rows) {
        expect(r.d, `${mode} row ${r.id}`).toBe(r.$dist);
        expect(r.d as number).toBeCloseTo(cosine(q, LIVE.get(r.id as number)!.vector), 5);
        expect(Object.keys(r).sort()).toEqual(['$dist', 'd', 'id']);
      }
    }
  });

  it('should equal $dist over a clustered (IVF, RaBitQ) part and its tail', async () => {
    const ns = 'compute-attrs-ivf';
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const vecs = new Map<number, number[]>();
    const rows = Array.from({ length: 300 }, (_, id) => {
      const vector = Array.from({ length: 8 }, rand);
      vecs.set(id, vector);
      return { id, vector };
    });
    await tpuf.namespace(ns).write({ upsert_rows: rows, distance_metric: 'cosine_distance' });
    const store = new LocalDirStore(server.storeDir);
    let n = 0;
    await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `ivf${n++}`, vectorIndex: { kind: 'ivf', minRows: 40, targetSize: 50, minSize: 25, maxSize: 100 } }).indexNamespace(ns, true);
    const tail = Array.from({ length: 5 }, (_, i) => ({ id: 1000 + i, vector: Array.from({ length: 8 }, rand) }));
    for (const r of tail) vecs.set(r.id, r.vector);
    await tpuf.namespace(ns).write({ upsert_rows: tail });
    const router = (await new RouterStore(store).read(ns))!.router;
    expect(router.parts.map((p) => p.index_kind)).toEqual(['ivf']);
    await store.close();
    expect((await tpuf.namespace(ns).explainQuery({ rank_by: ['id', 'asc'] })).plan_text).toContain('tail: 5 rows');
    for (let i = 0; i < 5; i++) {
      const q = Array.from({ length: 8 }, rand);
      const res = await tpuf.namespace(ns).query({ rank_by: ['vector', 'ANN', q], top_k: 20, compute_attributes: { d: ['vector', 'VectorDist', q] } });
      expect(res.rows!.length).toBe(20);
      for (const r of res.rows!) {
        expect(r.d, `row ${r.id}`).toBe(r.$dist);
        expect(r.d as number).toBeCloseTo(cosine(q, vecs.get(r.id as number)!), 5);
      }
    }
  });

  it('should be computed under an attribute order with include_attributes, without leaking the vector', async () => {
    const q = [0, 1, 0];
    const res = await tpuf.namespace(NS).query({
      rank_by: [['color', 'asc'], ['id', 'asc']],
      include_attributes: ['color'],
      top_k: 3,
      compute_attributes: { near: ['vector', 'VectorDist', q] },
    });
    const want = [...LIVE.values()].sort((a, b) => (a.color < b.color ? -1 : a.color > b.color ? 1 : a.id - b.id)).slice(0, 3);
    expect(res.rows!.map((r) => r.id)).toEqual(want.map((r) => r.id));
    res.rows!.forEach((r, i) => {
      expect(Object.keys(r).sort()).toEqual(['color', 'id', 'near']);
      expect(r.near as number).toBeCloseTo(cosine(q, want[i]!.vector), 5);
    });
  });
});

describe('compute_attributes: Highlight', () => {
  it('should return the best sentences of part and tail rows for a BM25 query', async () => {
    const res = await tpuf.namespace(NS).query({ rank_by: ['body', 'BM25', 'fox'], top_k: 10, compute_attributes: { hl: ['Highlight', 'body'] } });
    const rows = res.rows!;
    expect(rows.map((r) => r.id).sort()).toEqual([1, 3, 4, 5, 7]); // 3 from the tail's version, 7 from the tail
    for (const r of rows) {
      const body = LIVE.get(r.id as number)!.body;
      expect(r.hl, `row ${r.id}`).toEqual(expectedFragments(sentences(body), 'fox', 3).map((text) => ({ text })));
      expect(r.body).toBeUndefined();
    }
    expect(rows.find((r) => r.id === 3)!.hl).toEqual([{ text: 'The fox moved to the tail.' }]);
  });

  it('should honour fragment_limit, fragment_by and exclude_attributes', async () => {
    const res = await tpuf.namespace(NS).query({
      rank_by: ['body', 'BM25', 'fox'],
      top_k: 10,
      exclude_attributes: ['body', 'vector'],
      compute_attributes: {
        one: ['Highlight', 'body', { fragment_limit: 1 }],
        whole: ['Highlight', 'body', { fragment_by: 'none' }],
        w: ['Highlight', 'body', { fragment_by: 'word', fragment_limit: 5 }],
      },
    });
    for (const r of res.rows!) {
      const live = LIVE.get(r.id as number)!;
      expect(Object.keys(r).sort()).toEqual(['$dist', 'color', 'id', 'one', 'w', 'whole']);
      expect(r.one).toEqual(expectedFragments(sentences(live.body), 'fox', 1).map((text) => ({ text })));
      expect(r.whole).toEqual([{ text: live.body }]);
      const foxes = live.body.match(/fox/gi)!;
      expect(r.w).toEqual(foxes.slice(0, 5).map((text) => ({ text })));
    }
  });

  it('should report offsets in utf-8, utf-16 and code points', async () => {
    const body = LIVE.get(4)!.body;
    const at: number[] = [];
    for (let i = body.indexOf('fox'); i >= 0; i = body.indexOf('fox', i + 1)) at.push(i);
    const units = {
      'utf-8': (p: number) => Buffer.byteLength(body.slice(0, p)),
      'utf-16': (p: number) => p,
      codepoints: (p: number) => [...body.slice(0, p)].length,
    };
    for (const [unit, f] of Object.entries(units)) {
      const res = await tpuf.namespace(NS).query({
        rank_by: ['body', 'BM25', 'fox'],
        filters: ['id', 'Eq', 4],
        compute_attributes: { hl: ['Highlight', 'body', { fragment_by: 'none', include_offsets: unit as 'utf-8' }] },
      });
      expect(res.rows![0]!.hl, unit).toEqual([{ text: body, fragment_range: [0, f(body.length)], match_ranges: at.map((p) => [f(p), f(p + 3)]) }]);
    }
    // Sentences keep offsets into the whole value.
    const res = await tpuf.namespace(NS).query({
      rank_by: ['body', 'BM25', 'fox'],
      filters: ['id', 'Eq', 4],
      compute_attributes: { hl: ['Highlight', 'body', { include_offsets: 'utf-8', fragment_limit: 1 }] },
    });
    const second = body.indexOf('Noch');
    const u8 = units['utf-8'];
    expect(res.rows![0]!.hl).toEqual([{ text: 'Noch ein fox da.', fragment_range: [u8(second), u8(body.length)], match_ranges: [[u8(at[1]!), u8(at[1]! + 3)]] }]);
  });

  it('should highlight under a vector rank with rank_fragments_by', async () => {
    const res = await tpuf.namespace(NS).query({
      rank_by: ['vector', 'ANN', [1, 0, 0]],
      top_k: 2,
      compute_attributes: { hl: ['Highlight', 'body', { rank_fragments_by: ['body', 'BM25', 'fox'] }] },
    });
    const nearest = [...LIVE.values()].sort((a, b) => cosine([1, 0, 0], a.vector) - cosine([1, 0, 0], b.vector)).slice(0, 2);
    expect(res.rows!.map((r) => r.id)).toEqual(nearest.map((r) => r.id));
    for (const r of res.rows!) expect(r.hl).toEqual(expectedFragments(sentences(LIVE.get(r.id as number)!.body), 'fox', 3).map((text) => ({ text })));
  });
});

describe('compute_attributes: multi-query', () => {
  it('should compute per sub-query, and carry the values through RRF', async () => {
    const queries: Turbopuffer.NamespaceMultiQueryParams['queries'] = [
      { rank_by: ['body', 'BM25', 'fox'], top_k: 3, compute_attributes: { hl: ['Highlight', 'body', { fragment_limit: 1 }] } },
      { rank_by: ['vector', 'kNN', [0, 0, 1]], top_k: 3, compute_attributes: { d: ['vector', 'VectorDist', [1, 0, 0]] } },
    ];
    const res = await tpuf.namespace(NS).multiQuery({ queries });
    expect(res.results.length).toBe(2);
    for (const r of res.results[0]!.rows!) expect(r.hl).toEqual(expectedFragments(sentences(LIVE.get(r.id as number)!.body), 'fox', 1).map((text) => ({ text })));
    for (const r of res.results[1]!.rows!) expect(r.d as number).toBeCloseTo(cosine([1, 0, 0], LIVE.get(r.id as number)!.vector), 5);

    const fused = await tpuf.namespace(NS).multiQuery({ queries, rerank_by: ['RRF'] });
    const textIds = new Set(res.results[0]!.rows!.map((r) => r.id));
    const vecIds = new Set(res.results[1]!.rows!.map((r) => r.id));
    for (const r of fused.results[0]!.rows!) {
      expect(r.hl !== undefined).toBe(textIds.has(r.id));
      expect(r.d !== undefined).toBe(vecIds.has(r.id));
    }
  });
});

describe('compute_attributes: bad input', () => {
  it('should answer 400 naming the attribute and the problem', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ color: ['vector', 'VectorDist', [1, 0, 0]] }, /compute_attributes\.color: the name clashes with the namespace attribute 'color'/],
      [{ $dist: ['vector', 'VectorDist', [1, 0, 0]] }, /compute_attributes\.\$dist: the name '\$dist' is reserved/],
      [{ id: ['vector', 'VectorDist', [1, 0, 0]] }, /compute_attributes\.id: the name 'id' is reserved/],
      [{ x: ['Bogus', 'body'] }, /compute_attributes\.x: unknown expression "Bogus"/],
      [{ x: ['vector', 'VectorDist', [1, 0]] }, /compute_attributes\.x: the vector has 2 dimensions but the namespace's vectors have 3/],
      [{ x: ['Highlight', 'color'] }, /compute_attributes\.x: Highlight needs an attribute with full_text_search; 'color' has none/],
      [{ x: ['Highlight', 'body'] }, /compute_attributes\.x: Highlight ranks fragments by the query's BM25 clauses over 'body', and rank_by has none/],
    ];
    for (const [compute, message] of cases) {
      const err = await tpuf
        .namespace(NS)
        .query({ rank_by: ['id', 'asc'], compute_attributes: compute as Record<string, ['vector', 'VectorDist', number[]]> })
        .catch((e: unknown) => e);
      expect(err, JSON.stringify(compute)).toMatchObject({ status: 400, error: { code: 'ELAX_ERR_INVALID_QUERY' } });
      expect((err as { error: { error: string } }).error.error).toMatch(message);
    }
    const err = await tpuf
      .namespace(NS)
      .multiQuery({ queries: [{ rank_by: ['id', 'asc'] }, { rank_by: ['id', 'asc'], compute_attributes: { x: ['Bogus'] as unknown as ['vector', 'VectorDist', number[]] } }] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, error: { code: 'ELAX_ERR_INVALID_QUERY' } });
    expect((err as { error: { error: string } }).error.error).toMatch(/^queries\[1\]: compute_attributes\.x: unknown expression "Bogus"/);
  });
});
