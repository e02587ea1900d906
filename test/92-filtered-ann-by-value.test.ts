/**
 * Filtered ANN over format-3 parts without a bitmap of the matches (RFC-0009, issue 16, ninth session): a filter over
 * one attribute with a scalar dictionary that matches many rows is tested per candidate by value (the row's
 * dictionary position against the values the filter accepts), its matches counted from the dictionary's value
 * counts; explain_query names that choice. The same filter walked through the bitmap (an And with a second,
 * always-true attribute forces it) gives the same rows and distances; dead rows are never returned; a selective filter
 * ranked exactly gives exactly the kNN answer.
 */
import { describe, expect, it } from 'vitest';
import type { Doc, Schema } from '../crates-ts/core/index.js';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { publishIvfPart } from './helpers/part-namespace.js';

const DIMS = 16;
const N = 20_000;
const CENTRES = 40;
const SCHEMA: Schema = {
  sel: { type: 'uint', filterable: true },
  region: { type: 'uint', filterable: true },
  vector: { type: `[${DIMS}]f32`, ann: { distance_metric: 'cosine_distance' } },
};
const rand = seededRandom(92);
const centres = Array.from({ length: CENTRES }, () => Array.from({ length: DIMS }, () => rand() * 10 - 5));
/** Row i: near centre i % CENTRES; `sel` uniform in [0, 1000) (a dictionary: 1,000 values ≤ rows / 4). */
const rows: Doc[] = Array.from({ length: N }, (_, i) => ({
  id: i,
  vector: Float32Array.from(centres[i % CENTRES]!, (x) => x + (rand() - 0.5) * 3),
  attrs: { sel: Math.floor(rand() * 1000), region: i % CENTRES },
}));
const queries = Array.from({ length: 12 }, (_, i) => centres[(i * 7) % CENTRES]!.map((x) => x + (rand() - 0.5) * 2));

let t = Date.UTC(2026, 11, 5);
const engineOn = (store: MemoryStore) => new Engine(store, { clock: { now: () => (t += 1000) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
const ann = (e: Engine, q: number[], filters: unknown, k = 10) => e.query('v', { rank_by: ['vector', 'ANN', q], top_k: k, filters });
const knn = (e: Engine, q: number[], filters: unknown, k = 10) => e.query('v', { rank_by: ['vector', 'kNN', q], top_k: k, filters });
const pairs = (r: Awaited<ReturnType<Engine['query']>>) => r.rows!.map((x) => [x.id, x.$dist]);

describe('filtered ANN by value over format-3 parts', () => {
  it('should walk by value for an unselective filter on one dictionary attribute, say so, and match the bitmap walk', { timeout: 120_000 }, async () => {
    const store = new MemoryStore();
    await publishIvfPart(store, 'v', rows, { schema: SCHEMA, metric: 'cosine_distance', targetSize: 200 });
    const e = engineOn(store);
    const half = ['sel', 'Lt', 500];
    // Two attributes: the value test does not apply, the walk uses the bitmap of the matches.
    const viaBitmap = ['And', [half, ['region', 'Gte', 0]]];
    const plan = (await e.explainQuery('v', { rank_by: ['vector', 'ANN', queries[0]], top_k: 10, filters: half })).plan_text;
    expect(plan).toMatch(/walk with per-candidate filter check by value \(sel: dict index fidx-\d+\.blk\), [\d,]+ matching rows counted from the dictionary's value counts, no bitmap of the matches/);
    const other = (await e.explainQuery('v', { rank_by: ['vector', 'ANN', queries[0]], top_k: 10, filters: viaBitmap })).plan_text;
    expect(other).toContain('(bitmap of the matches)');
    expect(other).not.toContain('by value');
    let found = 0;
    for (const q of queries) {
      const byValue = await ann(e, q, half);
      expect(pairs(byValue)).toEqual(pairs(await ann(e, q, viaBitmap)));
      for (const r of byValue.rows!) expect((rows[r.id as number]!.attrs.sel as number) < 500).toBe(true);
      const truth = await knn(e, q, half);
      const kth = truth.rows![truth.rows!.length - 1]!.$dist as number;
      found += byValue.rows!.filter((r) => (r.$dist as number) <= kth).length;
    }
    expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.95);
    // A filter over one attribute that matches few rows stays on the bitmap (exact ranking): no value walk.
    const few = (await e.explainQuery('v', { rank_by: ['vector', 'ANN', queries[0]], top_k: 10, filters: ['sel', 'Lt', 5] })).plan_text;
    expect(few).toContain('matching rows exactly (few matches)');
  });

  it('should never return dead rows by value, and count only live matches', { timeout: 120_000 }, async () => {
    const store = new MemoryStore();
    await publishIvfPart(store, 'v', rows, { schema: SCHEMA, metric: 'cosine_distance', targetSize: 200 });
    const e = engineOn(store);
    const half = ['sel', 'Lt', 500];
    const q = queries[3]!;
    const before = await ann(e, q, half);
    const gone = before.rows!.slice(0, 5).map((r) => r.id as number);
    await e.write('v', { deletes: gone });
    const after = await ann(e, q, half);
    expect(after.rows!.map((r) => r.id).filter((id) => gone.includes(id as number))).toEqual([]);
    expect(after.rows!.length).toBe(10);
    const live = rows.filter((r) => (r.attrs.sel as number) < 500 && !gone.includes(r.id as number)).length;
    const plan = (await e.explainQuery('v', { rank_by: ['vector', 'ANN', q], top_k: 10, filters: half })).plan_text;
    expect(plan).toContain(`${live.toLocaleString('en-US')} matching rows counted from the dictionary's value counts`);
  });

  it('should rank a selective filter exactly: the kNN answer, from the k nearest matches only', { timeout: 120_000 }, async () => {
    const store = new MemoryStore();
    await publishIvfPart(store, 'v', rows, { schema: SCHEMA, metric: 'cosine_distance', targetSize: 200 });
    const e = engineOn(store);
    for (const filters of [['sel', 'Lt', 5], ['sel', 'Lt', 100], ['region', 'In', [3, 9]]]) {
      for (const q of queries.slice(0, 4)) expect(pairs(await ann(e, q, filters, 7))).toEqual(pairs(await knn(e, q, filters, 7)));
    }
  });
});
