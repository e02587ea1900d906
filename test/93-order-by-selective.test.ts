/**
 * `rank_by [attr, asc|desc]` with a filter over an indexed part (query/execute-segments.ts rankSegments): a filter
 * the indexes answer with few rows (≤ orderMatchScanMax) is ranked from its bitmap; one with many rows walks the
 * order index. Both give the rows a sort of every document gives, including a filter correlated with the order
 * (`price < x` ranked by price descending, which a walk from the top would pass row by row), and explain_query says
 * which was done.
 */
import { describe, expect, it } from 'vitest';
import { compareIds, type Id } from '../crates-ts/core/index.js';
import { Engine } from '../crates-ts/engine/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { compareValues, orderMatchScanMax } from '../crates-ts/query/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';

const N = 12_000;
const rand = seededRandom(93);
const rows = Array.from({ length: N }, (_, i) => ({ id: i, cat: `c${Math.floor(rand() * 10)}`, price: Math.round(rand() * 1e6) / 1e6, n: Math.floor(rand() * 50) }));

describe('filtered order-by over filter indexes', () => {
  it('should rank a selective filter from its bitmap and walk the index for a broad one, both as a full sort does', async () => {
    let t = Date.UTC(2026, 11, 5);
    const store = new MemoryStore();
    const engine = new Engine(store, { clock: { now: () => (t += 1000) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
    for (let i = 0; i < N; i += 3000) await engine.write('o', { upsert_rows: rows.slice(i, i + 3000) });
    await new Indexer(store, { clock: { now: () => (t += 1000) }, nonce: () => 'p' }).indexNamespace('o', true);
    // Dead rows in the part's bitmap must not come back: the two dearest c3 rows are deleted and overwritten (cheap,
    // in the tail), and a cheap row becomes the dearest c3 one.
    const dearest = rows.filter((r) => r.cat === 'c3').sort((a, b) => b.price - a.price);
    const [gone, cheapened] = [dearest[0]!, dearest[1]!];
    const promoted = rows.find((r) => r.cat === 'c7' && r.price < 0.1)!;
    await engine.write('o', {
      deletes: [gone.id],
      upsert_rows: [
        { ...cheapened, price: 0.000001 },
        { ...promoted, cat: 'c3', price: 0.999999 },
      ],
    });
    const live = new Map(rows.map((r) => [r.id as Id, r]));
    live.delete(gone.id);
    live.set(cheapened.id, { ...cheapened, price: 0.000001 });
    live.set(promoted.id, { ...promoted, cat: 'c3', price: 0.999999 });
    const docs = [...live.values()];
    expect(orderMatchScanMax(10, N)).toBeLessThan(6000); // so the broad filters below walk

    type Row = (typeof docs)[number];
    const cases: { filters: unknown; test: (r: Row) => boolean; desc: boolean; plan: RegExp; by?: 'price' | 'n' }[] = [
      { filters: ['cat', 'Eq', 'c3'], test: (r) => r.cat === 'c3', desc: true, plan: /order: rank the \d+ rows of the filter's bitmap/ },
      // A range leaf on the order attribute bounds the walk: it starts at 0.2 going down, testing cat on each row.
      { filters: ['And', [['cat', 'Eq', 'c3'], ['price', 'Lt', 0.2]]], test: (r) => r.cat === 'c3' && r.price < 0.2, desc: true, plan: /walk sorted index \S+ in descending order over the \d+ rows the filter's price range leaves allow/ },
      { filters: ['And', [['price', 'Gte', 0.3], ['cat', 'In', ['c1', 'c2']], ['price', 'Lte', 0.5]]], test: (r) => r.price >= 0.3 && r.price <= 0.5 && (r.cat === 'c1' || r.cat === 'c2'), desc: false, plan: /walk sorted index \S+ in ascending order over the \d+ rows the filter's price range leaves allow/ },
      { filters: ['price', 'Lt', 0.6], test: (r) => r.price < 0.6, desc: true, plan: /walk sorted index \S+ in descending order over/ },
      { filters: ['n', 'Gte', 10], test: (r) => r.n >= 10, desc: false, plan: /walk sorted index \S+ in ascending order until/ },
      // Rare within the bound (≈ 0.2 % of its rows): the bounded walk gives up past its budget, the bitmap ranks.
      { filters: ['And', [['price', 'Lt', 0.9], ['cat', 'Eq', 'c3'], ['n', 'Eq', 7]]], test: (r) => r.price < 0.9 && r.cat === 'c3' && r.n === 7, desc: true, plan: /past \d+ rows visited: rank the \d+ rows of the filter's bitmap/ },
      // Ordered by a dictionary attribute (50 values): the bound is over its values.
      { by: 'n', filters: ['And', [['cat', 'Eq', 'c3'], ['n', 'Lt', 20], ['n', 'Gt', 4]]], test: (r) => r.cat === 'c3' && r.n < 20 && r.n > 4, desc: true, plan: /walk dict index \S+ in descending order over the 15 values the filter's n range leaves allow/ },
      // A range leaf under an Or bounds nothing.
      { by: 'n', filters: ['Or', [['n', 'Lt', 3], ['cat', 'Eq', 'c9']]], test: (r) => r.n < 3 || r.cat === 'c9', desc: false, plan: /^(?:(?!range leaves allow)[\s\S])*order: rank the \d+ rows of the filter's bitmap(?:(?!range leaves allow)[\s\S])*$/ },
    ];
    for (const c of cases) {
      const by = c.by ?? 'price';
      const want = docs
        .filter(c.test)
        .sort((a, b) => (c.desc ? -1 : 1) * compareValues(a[by], b[by]) || compareIds(a.id, b.id))
        .slice(0, 10)
        .map((r) => r.id);
      const body = { rank_by: [by, c.desc ? 'desc' : 'asc'], filters: c.filters, top_k: 10 };
      const got = (await engine.query('o', body)).rows!.map((r) => r.id);
      expect(got, JSON.stringify(c.filters)).toEqual(want);
      expect(want).toHaveLength(10);
      const plan = (await engine.explainQuery('o', body)).plan_text;
      expect(plan, plan).toMatch(c.plan);
    }
  });
});
