/**
 * Randomized model test: random sequences of upserts, patches, deletes, conditional writes and filter writes go
 * through two engines ("nodes") sharing one store, interleaved with indexing, forced and size-tiered (middle-run)
 * compaction, GC, query-node restarts, an indexer that dies between upload and publish, and publishers racing each
 * other inside a router CAS (deletion-vector recomputation and translation, RFC-0004 §3 / RFC-0005 step 5); after
 * every operation a strong query on a random node must return exactly what a plain Map model says. Seeded; the seed
 * is printed on failure.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, codebookKey, type ObjectStore, type Witness } from '../crates-ts/store/index.js';
import { gcNamespace } from '../indexer/gc.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { applyWrite, docArb, expectOneLiveRowPerId, expectedRows, idArb, loadPartsAndMasks, PATCH_DELETE_ARBS, publisherArb, type ModelDoc, type Publisher, type WriteOp } from './helpers/model-ops.js';

type Op =
  | WriteOp
  | { t: 'cond_upsert'; row: ModelDoc }
  | { t: 'cond_delete'; id: number; vLt: number }
  | { t: 'concurrent'; rows: ModelDoc[] }
  | { t: 'index' }
  | { t: 'compact' }
  | { t: 'compact_tiered' }
  | { t: 'gc' }
  | { t: 'restart' }
  | { t: 'crash_indexer' }
  | { t: 'race'; first: Publisher; second: Publisher };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ t: 'index' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'compact_tiered' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'gc' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'crash_indexer' as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('race' as const), first: publisherArb, second: publisherArb }) },
  // A write request names each id once (a duplicate is a 400: test/21-duplicate-ids.test.ts).
  { weight: 5, arbitrary: fc.uniqueArray(docArb, { minLength: 1, maxLength: 6, selector: (d) => d.id }).map((rows) => ({ t: 'upsert' as const, rows })) },
  ...PATCH_DELETE_ARBS,
  { weight: 2, arbitrary: docArb.map((row) => ({ t: 'cond_upsert' as const, row })) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cond_delete' as const), id: idArb, vLt: fc.integer({ min: 0, max: 5 }) }) },
  {
    weight: 1,
    arbitrary: fc.uniqueArray(docArb, { minLength: 2, maxLength: 5, selector: (d) => d.id }).map((rows) => ({ t: 'concurrent' as const, rows })),
  },
);

function applyModel(model: Map<number, ModelDoc>, op: Op): void {
  switch (op.t) {
    case 'upsert':
    case 'patch':
    case 'delete':
    case 'delete_by_filter':
    case 'patch_by_filter':
      applyWrite(model, op);
      break;
    case 'concurrent':
      for (const r of op.rows) model.set(r.id, structuredClone(r));
      break;
    case 'cond_upsert': {
      const d = model.get(op.row.id);
      if (!d || d.attrs.v < op.row.attrs.v) model.set(op.row.id, structuredClone(op.row));
      break;
    }
    case 'cond_delete': {
      const d = model.get(op.id);
      if (d && d.attrs.v < op.vLt) model.delete(op.id);
      break;
    }
    case 'index':
    case 'compact':
    case 'compact_tiered':
    case 'gc':
    case 'restart':
    case 'crash_indexer':
    case 'race':
      break; // indexing, compaction, GC and restarts never change what a query sees
  }
}

let nonce = 0;
/** The second run indexes into IVF (format-3) parts with tiny clusters: training, reuse and splits all happen. */
let ivfParts = false;
const ivfOptions = () => (ivfParts ? { vectorIndex: { kind: 'ivf' as const, minRows: 3, targetSize: 2, minSize: 1, maxSize: 4 } } : {});
const indexerFor = (store: ObjectStore) =>
  new Indexer(store, {
    clock: { now: () => Date.now() },
    nonce: () => `n${nonce++}`,
    hnsw: { flatThreshold: 8 },
    maxEntriesPerPart: 3,
    ...ivfOptions(),
  });

/** A store that can run another publisher inside the next router CAS, or fail it (a publisher dying there). */
class HookStore extends MemoryStore {
  beforeRouterCas: (() => Promise<void>) | null = null;
  failRouterCas = false;
  override async putIfMatch(key: string, bytes: Uint8Array, witness: Witness) {
    if (key.endsWith('router.json')) {
      if (this.failRouterCas) {
        this.failRouterCas = false;
        throw new Error('simulated crash before the router CAS');
      }
      const hook = this.beforeRouterCas;
      this.beforeRouterCas = null;
      if (hook) await hook();
    }
    return super.putIfMatch(key, bytes, witness);
  }
}

async function publish(store: ObjectStore, ns: string, p: Publisher): Promise<void> {
  const clock = { now: () => Date.now() };
  if (p === 'index') await indexerFor(store).indexNamespace(ns, true);
  else await compactNamespace(store, ns, { clock, nonce: () => `c${nonce++}`, force: p === 'compact', fanout: 2, maxParts: 3, hnsw: { flatThreshold: 8 }, ...ivfOptions() });
}

async function applyEngine(e: Engine, ns: string, op: Op): Promise<void> {
  const store = e.store as HookStore;
  switch (op.t) {
    case 'index':
    case 'compact':
    case 'compact_tiered':
      return publish(store, ns, op.t);
    case 'gc':
      // Past every grace period: deletes covered WAL entries, replaced parts and superseded deletion vectors.
      await gcNamespace(store, ns, { clock: { now: () => Date.now() + 3_600_000 }, walRetentionMs: 0, partGraceMs: 0 });
      return;
    case 'crash_indexer':
      store.failRouterCas = true;
      await indexerFor(store).indexNamespace(ns, true).catch(() => undefined);
      store.failRouterCas = false;
      return;
    case 'race':
      // The second publisher wins a CAS inside the first one's: the first re-reads and recomputes or translates.
      store.beforeRouterCas = () => publish(store, ns, op.second);
      await publish(store, ns, op.first);
      store.beforeRouterCas = null;
      return;
    case 'restart':
      return; // handled by the caller (a fresh engine replaces the node)
  }
  const row = (r: ModelDoc) => ({ id: r.id, vector: r.vector, ...r.attrs });
  const base = { distance_metric: 'euclidean_squared' };
  switch (op.t) {
    case 'upsert':
      await e.write(ns, { ...base, upsert_rows: op.rows.map(row) });
      break;
    case 'concurrent':
      // Disjoint ids written concurrently: they coalesce into group commits; order does not matter.
      await Promise.all(op.rows.map((r) => e.write(ns, { ...base, upsert_rows: [row(r)] })));
      break;
    case 'patch':
      await e.write(ns, { patch_rows: [{ id: op.id, n: op.n }] });
      break;
    case 'delete':
      await e.write(ns, { deletes: op.ids });
      break;
    case 'cond_upsert':
      await e.write(ns, { ...base, upsert_rows: [row(op.row)], upsert_condition: ['v', 'Lt', { $ref_new: 'v' }] });
      break;
    case 'delete_by_filter':
      await e.write(ns, { delete_by_filter: ['n', 'Gte', op.nGte] });
      break;
    case 'patch_by_filter':
      await e.write(ns, { patch_by_filter: { filters: ['cat', 'Eq', op.cat], patch: { flag: op.flag } } });
      break;
    case 'cond_delete':
      await e.write(ns, { deletes: [op.id], delete_condition: ['v', 'Lt', op.vLt] });
      break;
  }
}

/**
 * Invariant L (RFC-0004 §3), checked on the stored state itself: under a v2 router each id has at most one live row
 * among the parts, and no part newer than that row holds the id (as a row or a deletion). The query path alone
 * cannot show a violation (its document map keeps the newest version), so the test reads the parts directly.
 */
async function checkLiveness(store: ObjectStore, ns: string): Promise<void> {
  const read = await new RouterStore(store).read(ns);
  if (!read || read.router.format_version < 2) return;
  const { parts, masks } = await loadPartsAndMasks(store, ns, read.router);
  expectOneLiveRowPerId(parts, masks);
}

function makeEngine(store: ObjectStore): Engine {
  let t = 1_700_000_000_000;
  return new Engine(store, {
    clock: { now: () => (t += 1) },
    sleep: () => Promise.resolve(),
    random: Math.random,
    groupCommitMs: 0,
    // Any tail is rebuilt in the background at a publish while queries answer from the cached view (catalog viewFor):
    // the random histories exercise that path too (the default waits for 10,000 tail rows).
    // foldSlice: every committed entry of more than two operations is folded in slices (NamespaceView.apply), so
    // queries and writes run between its slices and must see it whole or not at all.
    catalog: { staleRebuildMinRows: 0, foldSlice: { ms: 0, ops: 2 } },
  });
}

/**
 * Regression `ivf-bound-miss` (CI, 2026-12-04): 13 rows in 2-d, top 10 of them asked. Row [-0.3, 0.5] sits at the
 * 10th distance and its RaBitQ lower bound (a ≈ 97 %-confidence bound at ε0 = 1.9) was above its exact distance, so
 * ANN left it out. That is the approximation, not a bug: with IVF parts the test holds ANN to recall, not equality.
 */
const REGRESSION_IVF_BOUND_MISS = [
  [{"t":"upsert","rows":[{"id":0,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"upsert","rows":[{"id":2,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"upsert","rows":[{"id":0,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"race","first":"index","second":"index"},false,false],
  [{"t":"upsert","rows":[{"id":0,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"concurrent","rows":[{"id":1,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}},{"id":0,"vector":[-0.2,0.2],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"index"},false,false],
  [{"t":"upsert","rows":[{"id":4,"vector":[-0.6,0],"attrs":{"v":0,"n":0,"cat":"a"}},{"id":2,"vector":[-0.7,0.3],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"upsert","rows":[{"id":1,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}},{"id":3,"vector":[0,-0.1],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"upsert","rows":[{"id":0,"vector":[-0.3,0.5],"attrs":{"v":0,"n":0,"cat":"a"}},{"id":7,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"race","first":"index","second":"compact"},false,false],
  [{"t":"cond_upsert","row":{"id":2,"vector":[0,0],"attrs":{"v":1,"n":0,"cat":"a"}}},false,false],
  [{"t":"index"},false,false],
  [{"t":"concurrent","rows":[{"id":5,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}},{"id":6,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}},{"id":8,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}},{"id":9,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"index"},false,false],
  [{"t":"cond_upsert","row":{"id":0,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}},false,false],
  [{"t":"cond_upsert","row":{"id":10,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}},false,false],
  [{"t":"index"},false,false],
  [{"t":"upsert","rows":[{"id":0,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"race","first":"index","second":"index"},false,false],
  [{"t":"upsert","rows":[{"id":0,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
] as [Op, boolean, boolean][];

/**
 * Regression `carry-unsettled` (issue 17, tail carry-over): node 2's strong read answered from its cached view while
 * the compacted part set was prepared; settling that view's new tail ids failed (GC had taken the old parts' files),
 * the read retried on the new part set, and the view carried over had lost those ids: the tail's id 13 did not shadow
 * its row in the compacted part (two rows for one id). A failed settle now puts its ids back.
 */
const REGRESSION_CARRY_UNSETTLED = [
  [{"t":"upsert","rows":[{"id":13,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}},{"id":0,"vector":[0,0],"attrs":{"v":0,"n":60,"cat":"a"}}]},false,false],
  [{"t":"patch","id":13,"n":0},false,false],
  [{"t":"delete_by_filter","nGte":60},false,false],
  [{"t":"index"},false,false],
  [{"t":"restart"},false,false],
  [{"t":"race","first":"index","second":"index"},false,false],
  [{"t":"delete_by_filter","nGte":60},true,false],
  [{"t":"compact"},false,false],
  [{"t":"gc"},false,false],
  [{"t":"patch","id":0,"n":0},false,false],
  [{"t":"upsert","rows":[{"id":0,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,false],
  [{"t":"delete","ids":[0]},false,false],
  [{"t":"patch_by_filter","cat":"a","flag":false},false,false],
  [{"t":"upsert","rows":[{"id":0,"vector":[0,0],"attrs":{"v":0,"n":0,"cat":"a"}}]},false,true]
] as [Op, boolean, boolean][];

describe('randomized model test (two nodes, one store, indexing and compaction interleaved)', () => {
  it.each([
    ['HNSW/flat parts', false, 60],
    ['IVF parts (format 3) and a shared codebook', true, 30],
  ] as const)('should match an in-memory model after every operation, with %s', async (_name, ivf, numRuns) => {
    ivfParts = ivf;
    let sawIvfPart = false;
    let annFound = 0;
    let annAsked = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(opArb, fc.boolean(), fc.boolean()), { minLength: 10, maxLength: 40, size: 'max' }), async (steps) => {
        const store = new HookStore();
        const nodes = [makeEngine(store), makeEngine(store)];
        const model = new Map<number, ModelDoc>();
        const ns = 'model';
        // Filters on attributes the schema has never seen are a 400 (typo guard): declare them up front.
        await nodes[0]!.updateSchema(ns, { v: 'int', n: 'int', cat: 'string', flag: 'bool', vector: { type: '[2]f32', ann: { distance_metric: 'euclidean_squared' } } });
        let created = false;
        for (const [op, writeOnSecond, readOnSecond] of steps) {
          if (op.t === 'restart') nodes[writeOnSecond ? 1 : 0] = makeEngine(store); // a query node crashed and came back cold
          await applyEngine(nodes[writeOnSecond ? 1 : 0]!, ns, op);
          applyModel(model, op);
          created = true;
          const reader = nodes[readOnSecond ? 1 : 0]!;
          await checkLiveness(store, ns);
          const routerNow = (await new RouterStore(store).read(ns))?.router;
          sawIvfPart ||= routerNow?.parts.some((p) => p.index_kind === 'ivf') ?? false;
          const vindex = routerNow?.vindex;
          if (vindex) expect(await store.get(codebookKey(ns, vindex.codebook))).not.toBeNull(); // GC never takes it
          const res = await reader.query(ns, { rank_by: ['id', 'asc'], top_k: 1200, include_attributes: true });
          expect(created).toBe(true);
          expect(res.rows).toEqual(expectedRows(model));
          const count = await reader.query(ns, { aggregate_by: { c: ['Count'] } });
          expect(count.aggregations).toEqual({ c: model.size });
          // ANN (index hits + tail, re-ranked exactly) must find what exhaustive kNN finds on this tiny data set.
          const q = { top_k: 10, filters: ['cat', 'NotEq', 'c'] };
          const ann = await reader.query(ns, { ...q, rank_by: ['vector', 'ANN', [0.3, -0.2]] });
          const knn = await reader.query(ns, { ...q, rank_by: ['vector', 'kNN', [0.3, -0.2]] });
          const annDist = ann.rows!.map((r) => r.$dist as number);
          const knnDist = knn.rows!.map((r) => r.$dist as number);
          if (!ivf) {
            expect(annDist).toEqual(knnDist);
            continue;
          }
          // IVF's lower bounds are probabilistic: ANN may miss a row, but every row it returns is a live matching
          // row at its exact distance, in order, as many as kNN returns, never better than the exact i-th.
          const all = await reader.query(ns, { ...q, top_k: 1200, rank_by: ['vector', 'kNN', [0.3, -0.2]] });
          const exactOf = new Map(all.rows!.map((r) => [r.id, r.$dist as number]));
          expect(annDist.length).toBe(knnDist.length);
          ann.rows!.forEach((r, i) => {
            expect(r.$dist).toBe(exactOf.get(r.id));
            expect(annDist[i]!).toBeGreaterThanOrEqual(knnDist[i]!);
            if (i > 0) expect(annDist[i]!).toBeGreaterThanOrEqual(annDist[i - 1]!);
          });
          const kth = knnDist[knnDist.length - 1] ?? Infinity;
          annFound += annDist.filter((d) => d <= kth).length;
          annAsked += knnDist.length;
        }
      }),
      { numRuns, verbose: true, examples: ivf ? [[REGRESSION_IVF_BOUND_MISS]] : [[REGRESSION_CARRY_UNSETTLED]] },
    );
    expect(sawIvfPart).toBe(ivf); // the IVF run really built format-3 parts
    // Over the whole run (thousands of ANN rows, most of them found in parts), recall stays at the target.
    if (ivf) {
      console.log(`IVF model run: ANN recall ${(annFound / annAsked).toFixed(4)} over ${annAsked} rows`);
      expect(annFound / annAsked).toBeGreaterThanOrEqual(0.95);
    }

  });
});
