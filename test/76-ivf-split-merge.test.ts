/**
 * Property (issue 15, RFC-0008 §1 and §6): cluster split, merge and reassignment keep every live vector findable.
 * Random sequences of upserts (new and existing ids, new vectors), deletes (single ids and whole regions, which
 * empty clusters), indexing, forced and size-tiered compaction, and an indexer publishing inside a compaction's
 * router CAS, with tiny clusters (split above 8 rows, folded under 3), so that splits, folds and retirements all
 * happen — the run asserts they did. After every step:
 *  - each live id, queried by its own vector (ANN, top_k 1, every live cluster probable), comes back at distance 0
 *    (or another live id with the very same vector);
 *  - no retired centroid of the router's codebook holds a live row in any part (a retired centroid is never probed).
 * Seeded (fast-check); failing sequences are kept below as named regressions.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { HookStore } from './helpers/hook-store.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { readCodebook } from '../crates-ts/vindex/index.js';
import { assignToCodebook } from '../crates-ts/ivf/index.js';
import { buildPartFiles, type PartBuildInput } from '../crates-ts/part/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { LivenessReader } from '../indexer/liveness.js';
import { ClusterUsage } from '../indexer/cluster-usage.js';

const DIMS = 4;
const IVF = { kind: 'ivf' as const, minRows: 6, targetSize: 4, minSize: 3, maxSize: 8 };
const CENTRES = [
  [0, 0, 0, 0],
  [6, 0, 0, 0],
  [0, 6, 0, 6],
  [6, 6, 6, 6],
];

type Row = { id: number; vector: number[] };
type Op =
  | { t: 'upsert'; rows: Row[] }
  | { t: 'delete'; ids: number[] }
  | { t: 'delete_region'; centre: number }
  | { t: 'index' }
  | { t: 'compact' }
  | { t: 'compact_tiered' }
  | { t: 'race' };

const idArb = fc.integer({ min: 0, max: 39 });
const rowArb = fc.record({
  id: idArb,
  vector: fc
    .tuple(fc.integer({ min: 0, max: CENTRES.length - 1 }), fc.array(fc.integer({ min: -100, max: 100 }), { minLength: DIMS, maxLength: DIMS }))
    .map(([c, noise]) => CENTRES[c]!.map((x, d) => x + noise[d]! / 64)), // multiples of 1/64: exact in f32
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.uniqueArray(rowArb, { minLength: 1, maxLength: 8, selector: (r) => r.id }).map((rows) => ({ t: 'upsert' as const, rows })) },
  { weight: 2, arbitrary: fc.uniqueArray(idArb, { minLength: 1, maxLength: 5 }).map((ids) => ({ t: 'delete' as const, ids })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: CENTRES.length - 1 }).map((centre) => ({ t: 'delete_region' as const, centre })) },
  { weight: 4, arbitrary: fc.constant({ t: 'index' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'compact' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'compact_tiered' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'race' as const }) },
);

/** What the compactions of a run did to the codebook (counted in the builder, which sees before and after). */
const seen = { splits: 0, folds: 0, retiredSplit: 0, retiredEmpty: 0, clashes: 0 };

/** buildPartFiles, counting the clusters a compaction split, folded (held rows, under minSize) and retired. */
async function countingBuild(input: PartBuildInput) {
  const built = await buildPartFiles(input);
  const before = input.vectorIndex?.codebook;
  const after = built.codebook?.codebook;
  if (before && after && input.vectorIndex?.merge) {
    const vectors = [...input.changes.values()].flatMap((d) => (d?.vector ? [d.vector] : []));
    const data = new Float32Array(vectors.length * DIMS);
    vectors.forEach((v, j) => data.set(v, j * DIMS));
    const sizes = new Array<number>(before.k).fill(0);
    for (const c of assignToCodebook(before, data, vectors.length)) sizes[c]++;
    for (let c = 0; c < before.k; c++) {
      if (before.retired[c] !== 0 || after.retired[c] === 0) continue;
      if (sizes[c] === 0) seen.retiredEmpty++; // no row anywhere (emptied by deletes or an earlier split)
      else if (sizes[c]! < IVF.minSize) seen.folds++; // its rows were folded into neighbours
      else seen.retiredSplit++; // split here: its halves were appended
    }
    if (after.k > before.k) seen.splits++;
  }
  return built;
}

let nonce = 0;
const clock = { now: () => Date.now() };
const indexer = (store: MemoryStore) => new Indexer(store, { clock, nonce: () => `n${nonce++}`, vectorIndex: IVF, maxEntriesPerPart: 2 });
const compact = (store: MemoryStore, ns: string, force: boolean) =>
  compactNamespace(store, ns, { clock, nonce: () => `c${nonce++}`, force, fanout: 2, maxParts: 2, vectorIndex: IVF, build: countingBuild });

async function apply(e: Engine, store: HookStore, ns: string, model: Map<number, number[]>, op: Op): Promise<void> {
  switch (op.t) {
    case 'upsert':
      await e.write(ns, { upsert_rows: op.rows, distance_metric: 'euclidean_squared' });
      for (const r of op.rows) model.set(r.id, r.vector);
      return;
    case 'delete':
      await e.write(ns, { deletes: op.ids });
      for (const id of op.ids) model.delete(id);
      return;
    case 'delete_region': {
      const ids = [...model].filter(([, v]) => v.every((x, d) => Math.abs(x - CENTRES[op.centre]![d]!) < 2)).map(([id]) => id);
      if (ids.length === 0) return;
      await e.write(ns, { deletes: ids });
      for (const id of ids) model.delete(id);
      return;
    }
    case 'index':
      await indexer(store).drain(ns);
      return;
    case 'compact':
    case 'compact_tiered':
      await compact(store, ns, op.t === 'compact');
      return;
    case 'race': {
      // An indexer publishes (a part against the codebook the compaction read) inside the compaction's CAS.
      store.beforeRouterCas = async () => void (await indexer(store).indexNamespace(ns, true));
      const out = await compact(store, ns, true);
      store.beforeRouterCas = null;
      if (out.result === 'abandoned' && /holds rows in centroid/.test(out.reason ?? '')) seen.clashes++;
      return;
    }
  }
}

/** Every live id found by its own vector at distance 0; no live row in a retired centroid. */
async function check(store: MemoryStore, e: Engine, ns: string, model: Map<number, number[]>): Promise<void> {
  const key = (v: ArrayLike<number>) => Array.from(v).join(',');
  for (const [id, v] of model) {
    const res = await e.query(ns, { rank_by: ['vector', 'ANN', v], top_k: 1, ef_search: 10_000 });
    const top = res.rows![0];
    expect(top, `id ${id} [${v}] not found`).toBeDefined();
    expect(top!.$dist, `id ${id} [${v}]: nearest is ${top!.id} at ${top!.$dist}`).toBe(0);
    if (top!.id !== id) expect(key(model.get(top!.id as number)!)).toBe(key(v)); // a tie: another id, same vector
  }
  const router = (await new RouterStore(store).read(ns))?.router;
  if (!router?.vindex) return;
  const cb = await readCodebook(store, ns, router.vindex);
  const held = await new ClusterUsage(new LivenessReader(store, ns)).held(router, new Set());
  for (const c of held) expect(cb.retired[c], `centroid ${c} is retired in version ${cb.version} but a part holds live rows in it`).toBe(0);
  expect(Array.from(cb.retired).some((x) => x === 0)).toBe(true);
}

async function run(steps: Op[]): Promise<void> {
  const store = new HookStore();
  let t = 1_700_000_000_000;
  const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
  const ns = 'splitmerge';
  const model = new Map<number, number[]>();
  for (const op of steps) {
    await apply(e, store, ns, model, op);
    if (model.size > 0 || op.t !== 'upsert') await check(store, e, ns, model);
  }
}

const grid = (first: number, n: number, centre: number): Row[] =>
  Array.from({ length: n }, (_, i) => ({ id: first + i, vector: CENTRES[centre]!.map((x, d) => x + (((i * (d + 3)) % 11) - 5) / 64) }));

/**
 * Example `empty-region` (always run first): two regions indexed into three parts, one region deleted and indexed,
 * then a forced compaction — its clusters hold no live row anywhere and are retired, the other region's stay.
 */
const EXAMPLE_EMPTY_REGION: Op[] = [
  { t: 'upsert', rows: grid(0, 8, 1) },
  { t: 'upsert', rows: grid(8, 8, 2) },
  { t: 'index' },
  { t: 'upsert', rows: grid(16, 8, 1) },
  { t: 'index' },
  { t: 'delete_region', centre: 1 },
  { t: 'index' },
  { t: 'compact' },
  { t: 'upsert', rows: grid(24, 4, 1) },
  { t: 'index' },
  { t: 'compact' },
];

const at0 = (...ids: number[]): Op => ({ t: 'upsert', rows: ids.map((id) => ({ id, vector: [0, 0, 0, 0] })) });

/**
 * Regression `keep-other-parts` (found with compaction passing an empty `keep`): a tiered compaction merged two of
 * three parts and retired centroid 0, which the third part still held live rows in — a row nobody could find.
 */
const REGRESSION_KEEP_OTHER_PARTS: Op[] = [
  at0(0, 1, 3, 4, 5), { t: 'index' }, at0(6, 7), { t: 'delete', ids: [0] }, at0(0, 2, 8), { t: 'index' }, { t: 'compact_tiered' },
  at0(9, 1, 3, 10, 4, 5), { t: 'race' }, { t: 'index' }, { t: 'index' }, at0(0), at0(0), at0(0), { t: 'compact_tiered' },
];

/**
 * Regression `race-retire-clash` (found without the re-check after a lost CAS): an indexer published, inside a
 * compaction's CAS, a part with rows in a centroid the compaction retired; the compaction published anyway.
 */
const REGRESSION_RACE_RETIRE_CLASH: Op[] = [
  at0(0), at0(3, 1), at0(2, 4, 5, 6, 7, 8), { t: 'index' }, at0(0), { t: 'race' }, { t: 'delete', ids: [0] }, { t: 'compact' }, { t: 'index' },
  { t: 'race' }, at0(0), { t: 'index' }, { t: 'race' }, { t: 'delete_region', centre: 0 }, { t: 'delete_region', centre: 0 },
];

describe('IVF split / merge / reassignment (property)', () => {
  it('should keep every live vector its own nearest neighbour after random inserts, updates, deletes, indexing and compaction', async () => {
    for (const k of Object.keys(seen) as (keyof typeof seen)[]) seen[k] = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 30 }), (steps) => run(steps)),
      { numRuns: 40, seed: 0x5eed15, verbose: true, examples: [[EXAMPLE_EMPTY_REGION], [REGRESSION_KEEP_OTHER_PARTS], [REGRESSION_RACE_RETIRE_CLASH]] },
    );
    console.log(`IVF split/merge property: ${JSON.stringify(seen)}`);
    // The run really split, folded and retired (tiny clusters): the property was not checked vacuously.
    expect(seen.splits).toBeGreaterThan(0);
    expect(seen.folds).toBeGreaterThan(0);
    expect(seen.retiredSplit).toBeGreaterThan(0);
    expect(seen.retiredEmpty).toBeGreaterThan(0);
    expect(seen.clashes).toBeGreaterThan(0); // an indexer's part published meanwhile held a centroid the compaction retired
  });
});
