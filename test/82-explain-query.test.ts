/**
 * explain_query (RFC-0009 §4) through the OFFICIAL @turbopuffer/turbopuffer client (`namespace.explainQuery`, POST
 * /v2/namespaces/:ns/explain_query): `plan_text` names the indexes each part used for the filter (dictionary and
 * sorted, with their files), the residual predicates, estimated and actual rows, the WAL tail scanned exhaustively,
 * an order-by walking a sorted index, the filtered-ANN choice; a filter on an unindexed attribute says it scans.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type Turbopuffer from '@turbopuffer/turbopuffer';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let tpuf: Turbopuffer;
const ns = 'explain';
// 300 rows: cat has 3 values (dictionary), price and name are near-unique (sorted indexes), note is full-text.
const rows = Array.from({ length: 300 }, (_, id) => ({
  id,
  vector: [Math.cos(id), Math.sin(id)],
  cat: ['a', 'b', 'c'][id % 3]!,
  price: (id * 37) % 1000,
  note: `word${id % 7}`,
  name: `n${(id * 7) % 300}`,
}));

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
  await tpuf.namespace(ns).write({
    upsert_rows: rows,
    distance_metric: 'euclidean_squared',
    schema: { note: { type: 'string', full_text_search: true, filterable: true } },
  });
  const store = new LocalDirStore(server.storeDir);
  let n = 0;
  await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `ex${n++}`, hnsw: { flatThreshold: 16 } }).indexNamespace(ns, true);
  await store.close();
  // Two rows in the WAL tail after the part, one of them overwriting a part row.
  await tpuf.namespace(ns).write({ upsert_rows: [{ id: 0, vector: [1, 0], cat: 'b', price: 5, note: 'x', extra: 1 }, { id: 1000, vector: [0, 1], cat: 'a', price: 7, note: 'y', extra: 2 }] });
});
afterAll(async () => {
  await server.close();
});

const want = (f: (r: (typeof rows)[number]) => boolean) => rows.filter((r) => r.id !== 0).filter(f).length;

describe('explain_query', () => {
  it('should name the dictionary and sorted indexes a filtered order-by used, with estimated and actual rows and the tail', async () => {
    const res = await tpuf.namespace(ns).explainQuery({
      rank_by: ['price', 'desc'],
      top_k: 5,
      filters: ['And', [['cat', 'Eq', 'a'], ['price', 'Lt', 500]]],
    });
    const text = res.plan_text!;
    expect(text).toMatch(/^query: rank_by price desc, top_k 5, filters \["And",\[\["cat","Eq","a"\],\["price","Lt",500\]\]\]/);
    expect(text).toMatch(/part \S+: 300 rows \(1 dead\)/);
    expect(text).toContain('filter: answered by indexes');
    expect(text).toMatch(/cat Eq "a": dict index fidx-\d+\.blk, 100 rows/);
    expect(text).toMatch(new RegExp(`price Lt 500: sorted index fsrt-\\d+\\.blk, ${rows.filter((r) => r.price < 500).length} rows`));
    // Estimated from the lookups (the smaller side of the And); candidates after the And (row 0, overwritten in the
    // tail, included); actual without it.
    const actual = want((r) => r.cat === 'a' && r.price < 500);
    expect(text).toContain(`rows: estimated 100, candidates ${actual + 1}, actual ${actual} live matches`);
    // A range leaf on the order attribute: a walk of the price index from the leaf's bound, the bitmap of the few
    // matches if it runs past its budget (test/93 has every path).
    expect(text).toMatch(new RegExp(`order: walk sorted index fsrt-\\d+\\.blk in descending order over the ${rows.filter((r) => r.price < 500).length} rows the filter's price range leaves allow, testing each row, until top_k 5 live matches \\(past 4096 rows visited: rank the ${actual + 1} rows of the filter's bitmap\\)`));
    expect(text).toContain('tail: 2 rows (exhaustive scan, no indexes)');
    // And the query itself answers as planned.
    const q = await tpuf.namespace(ns).query({ rank_by: ['price', 'desc'], top_k: 5, filters: ['And', [['cat', 'Eq', 'a'], ['price', 'Lt', 500]]] });
    expect(q.rows!.length).toBe(5);
  });

  it('should say a filter the indexes do not answer scans, and list it as residual', async () => {
    // `extra` is in the tail only: the part has no column and no index for it.
    const scan = (await tpuf.namespace(ns).explainQuery({ rank_by: ['id', 'asc'], top_k: 10, filters: ['extra', 'Eq', 1] })).plan_text!;
    expect(scan).toMatch(/part \S+: 300 rows \(1 dead\)\n {2}filter: no index applies: scan of every row\n {4}extra Eq 1: residual \(evaluated per row\)\n {2}rows: estimated 299, actual 0 live matches/);
    expect(scan).toMatch(/tail: 2 rows \(exhaustive scan, no indexes\)\n {2}filter: no index applies: scan of every row\n {4}extra Eq 1: residual \(evaluated per row\)\n {2}rows: estimated 2, actual 1 live matches/);
    // `id`, and a case-insensitive glob on a sorted attribute, stay residual next to an indexed leaf.
    const mixed = (await tpuf.namespace(ns).explainQuery({ rank_by: ['id', 'asc'], top_k: 10, filters: ['And', [['cat', 'Eq', 'c'], ['id', 'Lt', 150], ['name', 'IGlob', 'N1*']]] })).plan_text!;
    expect(mixed).toContain('filter: indexes narrow the rows, residual predicates run on the candidates');
    expect(mixed).toMatch(/cat Eq "c": dict index fidx-\d+\.blk, 100 rows/);
    expect(mixed).toContain('id Lt 150: residual (evaluated per candidate row)');
    expect(mixed).toContain('name IGlob "N1*": residual (evaluated per candidate row)');
    expect(mixed).toContain(`candidates 100, actual ${want((r) => r.cat === 'c' && r.id < 150 && r.name.startsWith('n1'))} live matches`);
  });

  it('should give filtered ANN over an HNSW part the exact or walk choice from the matching rows', async () => {
    const few = (await tpuf.namespace(ns).explainQuery({ rank_by: ['vector', 'ANN', [1, 0]], top_k: 3, filters: ['cat', 'Eq', 'b'] })).plan_text!;
    expect(few).toMatch(/^query: rank_by vector ANN \(2 dims, euclidean_squared\), top_k 3/);
    expect(few).toContain(`ann: rank the ${want((r) => r.cat === 'b')} matching rows exactly (few matches)`);
    const none = (await tpuf.namespace(ns).explainQuery({ rank_by: ['vector', 'ANN', [1, 0]], top_k: 3 })).plan_text!;
    expect(none).toContain('filter: none');
    expect(none).not.toContain('ann:');
  });

  it('should say grouped counts run over the dictionary bitmaps in parts and scan the tail', async () => {
    const text = (await tpuf.namespace(ns).explainQuery({ aggregate_by: { n: ['Count'] }, group_by: ['cat'], filters: ['price', 'Gte', 100] })).plan_text!;
    expect(text).toMatch(/^query: aggregate_by n group_by cat, filters \["price","Gte",100\]/);
    expect(text).toMatch(/aggregate: over bitmaps: value bitmaps of dict index fidx-\d+\.blk ∧ filter mask minus dead rows, no rows read/);
    expect(text).toContain('aggregate: scan of 0 matching rows'); // the tail's two rows are below 100
    const res = await tpuf.namespace(ns).query({ aggregate_by: { n: ['Count'] }, group_by: ['cat'], filters: ['price', 'Gte', 100] });
    const live = [...rows.filter((r) => r.id !== 0), { id: 0, cat: 'b', price: 5 }, { id: 1000, cat: 'a', price: 7 }];
    expect(res.aggregation_groups).toEqual(['a', 'b', 'c'].map((cat) => ({ cat, n: live.filter((r) => r.cat === cat && r.price >= 100).length })));
  });

  it('should reject a malformed query body as a query would', async () => {
    await expect(tpuf.namespace(ns).explainQuery({ rank_by: ['price', 'sideways'] as never, top_k: 1 })).rejects.toMatchObject({ status: 400 });
  });
});
