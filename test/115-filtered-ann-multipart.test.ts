/**
 * Filtered ANN over a namespace of several format-3 parts built by the Indexer (a first part training the codebook,
 * later ones against it, deletion vectors on the older ones), under seeded random filters of every selectivity and
 * every way namespace/ivf-query.ts has of selecting a cluster's matches (ivf/search.ts ClusterSlice): by value
 * (a filter on one dictionary attribute matching many rows), through a bitmap of the matches (several attributes),
 * or exactly from the matches when they are few. Probing every cluster, the answer must be exact kNN's: the same
 * ids, the same distances bit for bit. At the default depth, every row returned must match, be live, and carry its
 * exact distance.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { Indexer } from '../indexer/indexer.js';

const DIMS = 16;
const N = 20_000;
const CENTRES = 24;
const clock = { now: () => 1_700_000_000_000 };
const rand = seededRandom(115);
const centres = Array.from({ length: CENTRES }, () => Array.from({ length: DIMS }, () => rand() * 10 - 5));
const rowOf = (id: number) => ({
  id,
  vector: centres[Math.floor(rand() * CENTRES)]!.map((x) => x + (rand() - 0.5) * 4),
  cat: `c${Math.floor(rand() * 10)}`,
  n: Math.floor(rand() * 1000),
});
const schema = { cat: { type: 'string', filterable: true }, n: { type: 'uint', filterable: true } };

async function setup(): Promise<{ store: MemoryStore; e: Engine; live: Map<number, ReturnType<typeof rowOf>> }> {
  const store = new MemoryStore();
  const e = new Engine(store, { clock, sleep: () => Promise.resolve(), random: seededRandom(1), groupCommitMs: 0 });
  let nonce = 0;
  const indexer = (maxRowsPerPart: number) =>
    new Indexer(store, { clock, nonce: () => `n${nonce++}`, maxRowsPerPart, vectorIndex: { kind: 'ivf', minRows: 2000, targetSize: 100, minSize: 50, maxSize: 200 } });
  const live = new Map<number, ReturnType<typeof rowOf>>();
  const write = async (rows: ReturnType<typeof rowOf>[]) => {
    await e.write('m', { distance_metric: 'euclidean_squared', schema, upsert_rows: rows });
    for (const r of rows) live.set(r.id, r);
  };
  await write(Array.from({ length: 4000 }, (_, i) => rowOf(i)));
  await indexer(4000).drain('m');
  for (let i = 4000; i < N; i += 1000) await write(Array.from({ length: 1000 }, (_, j) => rowOf(i + j)));
  // Deletes and rewrites of rows in the first parts: their deletion vectors then hide rows the codes still hold.
  const deleted = [...new Set(Array.from({ length: 600 }, () => Math.floor(rand() * N)))];
  await e.write('m', { deletes: deleted });
  for (const id of deleted) live.delete(id);
  await write([...new Set(Array.from({ length: 400 }, () => Math.floor(rand() * N)))].map(rowOf));
  await indexer(3000).drain('m');
  return { store, e, live };
}

/**
 * A random filter over `cat` alone (walked by value) or over both attributes (a bitmap of the matches), most matching
 * more rows than ivf-query.ts ranks exactly (planner ivfExactMaxRows: 4,096 here), some fewer.
 */
function randomFilter(r: () => number): unknown[] {
  const cats = (k: number) => Array.from({ length: k }, () => `c${Math.floor(r() * 10)}`);
  switch (Math.floor(r() * 6)) {
    case 0:
      return ['cat', 'In', cats(3 + Math.floor(r() * 6))];
    case 1:
      return ['cat', 'NotEq', cats(1)[0]];
    case 2:
      return ['n', 'Lt', 200 + Math.floor(r() * 800)];
    case 3:
      return ['And', [['cat', 'In', cats(4 + Math.floor(r() * 6))], ['n', 'Gte', Math.floor(r() * 500)]]];
    case 4:
      return ['Or', [['cat', 'Eq', cats(1)[0]], ['n', 'Lt', Math.floor(r() * 500)]]];
    default:
      return ['cat', 'Eq', cats(1)[0]];
  }
}

function matches(f: unknown[], row: ReturnType<typeof rowOf>): boolean {
  const [a, op, v] = f as [string, string, unknown];
  if (a === 'And') return (op as unknown as unknown[][]).every((x) => matches(x, row));
  if (a === 'Or') return (op as unknown as unknown[][]).some((x) => matches(x, row));
  const x = (row as unknown as Record<string, unknown>)[a];
  if (op === 'Eq') return x === v;
  if (op === 'NotEq') return x !== v;
  if (op === 'In') return (v as unknown[]).includes(x);
  if (op === 'Lt') return (x as number) < (v as number);
  if (op === 'Gte') return (x as number) >= (v as number);
  throw new Error(`no ${op}`);
}

describe('filtered ANN over several format-3 parts', () => {
  it('should give exact kNN answers probing every cluster, and only live matching rows at their exact distances at the default depth', { timeout: 120_000 }, async () => {
    const { store, e, live } = await setup();
    const router = (await new RouterStore(store).read('m'))!.router;
    expect(router.parts.length).toBeGreaterThanOrEqual(4);
    expect(router.parts.every((p) => p.index_kind === 'ivf')).toBe(true);
    const r = seededRandom(116);
    let probing = 0;
    for (let t = 0; t < 40; t++) {
      const filters = randomFilter(r);
      const q = centres[Math.floor(r() * CENTRES)]!.map((x) => x + (r() - 0.5) * 3);
      const topK = [1, 10, 30][t % 3]!;
      const exact = await e.query('m', { rank_by: ['vector', 'kNN', q], top_k: topK, filters });
      const all = await e.query('m', { rank_by: ['vector', 'ANN', q], top_k: topK, filters, ef_search: 10_000 });
      const pairs = (x: typeof exact) => x.rows!.map((row) => [row.id, row.$dist]);
      expect(pairs(all), JSON.stringify(filters)).toEqual(pairs(exact));
      const byId = new Map(exact.rows!.map((row) => [row.id, row.$dist]));
      const shallow = await e.query('m', { rank_by: ['vector', 'ANN', q], top_k: topK, filters });
      for (const row of shallow.rows!) {
        const doc = live.get(row.id as number);
        expect(doc, `id ${row.id} is live`).toBeDefined();
        expect(matches(filters, doc!), JSON.stringify(filters)).toBe(true);
        // Its distance is the exact one: the kNN answer's when it is there, else no nearer than the kNN's k-th.
        if (byId.has(row.id)) expect(row.$dist).toBe(byId.get(row.id));
        else expect(row.$dist as number).toBeGreaterThanOrEqual(exact.rows![exact.rows!.length - 1]!.$dist as number);
      }
      const matched = [...live.values()].filter((d) => matches(filters, d)).length;
      expect(exact.rows!.length).toBe(Math.min(topK, matched));
      if (matched > 4096) probing++;
    }
    expect(probing).toBeGreaterThan(20); // most filters went through the clusters, not the exact ranking of few rows
  });
});
