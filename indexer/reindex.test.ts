/**
 * Reindex: rebuilding every part changes where rows come from, never which rows are live (randomized, with splits
 * and a WAL tail); new build parameters land in the new parts; one CAS cuts over, and races with indexers,
 * compaction and deletes neither drop parts published meanwhile nor publish twice.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, routerKey, type ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore, type Router } from '../crates-ts/router/index.js';
import { readManifest, loadPart } from '../crates-ts/part/index.js';
import type { Doc, Id } from '../crates-ts/core/index.js';
import { Indexer } from './indexer.js';
import { compactNamespace } from './compact.js';
import { gcNamespace } from './gc.js';
import { splitBySeq } from './merge-parts.js';
import { planReindex, reindexNamespace, type ReindexOptions, type ReindexRecord } from './reindex.js';

let t = Date.now(); // near the wall clock: GC compares retired_at (this clock) with object times (the store's)
const clock = { now: () => (t += 1) };
let nonce = 0;
const nextNonce = () => `t${nonce++}`;
const makeEngine = (store: ObjectStore) => new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
const indexer = (store: ObjectStore, maxEntriesPerPart = 2) => new Indexer(store, { clock, nonce: nextNonce, maxEntriesPerPart, hnsw: { flatThreshold: 4 } });
const reindexOpts = (extra: Partial<ReindexOptions> = {}): ReindexOptions => ({ clock, nonce: nextNonce, hnsw: { flatThreshold: 4 }, ...extra });
const routerOf = async (store: ObjectStore, ns: string): Promise<Router> => (await new RouterStore(store).read(ns))!.router;
/** IVF with tiny clusters, so a few dozen rows train, split and reassign (RFC-0008). */
const IVF = { kind: 'ivf' as const, minRows: 3, targetSize: 4, minSize: 2, maxSize: 8 };
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'running', 'runs', 'ran'];

/** Everything a client can see that must not change: all live rows with attributes, and BM25 results. */
async function visible(store: ObjectStore, ns: string) {
  const e = makeEngine(store); // a cold node: nothing cached from before
  const all = (await e.query(ns, { rank_by: ['id', 'asc'], top_k: 1200, include_attributes: true })).rows!;
  const bm25 = [];
  for (const w of ['alpha', 'run', 'gamma delta']) bm25.push((await e.query(ns, { rank_by: ['text', 'BM25', w], top_k: 10 })).rows!.map((r) => [r.id, r.$dist]));
  return { all: JSON.parse(JSON.stringify(all)) as unknown, bm25 };
}

/** Parts cover first.wal_start..indexed_wal without gaps or overlaps. */
function expectContiguous(r: Router) {
  for (let i = 1; i < r.parts.length; i++) expect(r.parts[i]!.wal_start).toBe(r.parts[i - 1]!.wal_end + 1);
  if (r.parts.length) expect(r.parts[r.parts.length - 1]!.wal_end).toBe(r.indexed_wal);
}

/** The store with a hook run before each router CAS (the competitor works on the inner store, unhooked). */
function racing(inner: MemoryStore, beforeRouterCas: (n: number) => Promise<void>): ObjectStore {
  let n = 0;
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'putIfMatch') {
        return async (key: string, bytes: Uint8Array, w: Parameters<MemoryStore['putIfMatch']>[2]) => {
          if (key.endsWith('/router.json')) await beforeRouterCas(n++);
          return target.putIfMatch(key, bytes, w);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function seed(store: MemoryStore, ns: string, batches: number, perBatch: number) {
  const e = makeEngine(store);
  for (let b = 0; b < batches; b++) {
    const rows = Array.from({ length: perBatch }, (_, i) => {
      const id = (b * 7 + i * 3) % (batches * perBatch);
      return { id, vector: [Math.cos(id + b), Math.sin(id), b / 10], text: `${WORDS[id % WORDS.length]} ${WORDS[(id + b) % WORDS.length]}`, b };
    });
    await e.write(ns, { upsert_rows: rows, distance_metric: 'euclidean_squared', schema: { text: { type: 'string', full_text_search: true } } });
  }
  return e;
}

describe('splitBySeq', () => {
  it('should cover the range contiguously, keep every row in the range of its seq, and respect the row cap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 3, max: 20 }), fc.boolean()), { maxLength: 60 }),
        fc.integer({ min: 1, max: 12 }),
        (rows, maxRows) => {
          const changes = new Map<Id, Doc | null>();
          const seqs = new Map<Id, number>();
          for (const [id, seq, del] of rows) {
            changes.set(id, del ? null : { id, vector: null, attrs: {} });
            if (!del) seqs.set(id, seq);
            else seqs.delete(id);
          }
          const ranges = splitBySeq(changes, seqs, 3, 20, maxRows);
          expect(ranges[0]!.walStart).toBe(3);
          expect(ranges[ranges.length - 1]!.walEnd).toBe(20);
          for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.walStart).toBe(ranges[i - 1]!.walEnd + 1);
          const seen = new Map<Id, Doc | null>();
          for (const r of ranges) {
            expect(r.walStart).toBeLessThanOrEqual(r.walEnd);
            const upserts = [...r.changes.values()].filter((d) => d !== null).length;
            const distinctSeqs = new Set(r.seqs.values()).size;
            if (distinctSeqs > 1) expect(upserts).toBeLessThanOrEqual(maxRows); // only one seq alone may exceed it
            for (const [id, d] of r.changes) {
              expect(seen.has(id)).toBe(false);
              seen.set(id, d);
              if (d) expect(r.seqs.get(id)).toBe(seqs.get(id));
              if (d) expect(seqs.get(id)! >= r.walStart && seqs.get(id)! <= r.walEnd).toBe(true);
            }
          }
          expect(seen).toEqual(changes);
        },
      ),
    );
  });
});

describe('reindexNamespace', () => {
  it('should keep every visible row and BM25 result, cover the same WAL range, and leave the tail alone (randomized)', async () => {
    type Cmd = { kind: 'upsert'; ids: number[]; word: number } | { kind: 'delete'; ids: number[] } | { kind: 'index'; per: number } | { kind: 'compact' };
    const cmd: fc.Arbitrary<Cmd> = fc.oneof(
      fc.record({ kind: fc.constant('upsert' as const), ids: fc.uniqueArray(fc.integer({ min: 0, max: 25 }), { minLength: 1, maxLength: 8 }), word: fc.nat(50) }),
      fc.record({ kind: fc.constant('delete' as const), ids: fc.uniqueArray(fc.integer({ min: 0, max: 25 }), { minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('index' as const), per: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('compact' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 14 }), fc.array(cmd, { maxLength: 3 }), fc.constantFrom(1, 3, 10, undefined), fc.integer({ min: 4, max: 12 }), fc.boolean(), async (before, tailCmds, maxRowsPerPart, M, ivf) => {
        const store = new MemoryStore();
        const e = makeEngine(store);
        const ns = 'prop';
        const apply = async (c: Cmd, allowIndex: boolean) => {
          if (c.kind === 'upsert') {
            await e.write(ns, {
              distance_metric: 'euclidean_squared',
              schema: { text: { type: 'string', full_text_search: true } },
              upsert_rows: c.ids.map((id) => ({ id, vector: [id, c.word, 1], text: `${WORDS[(id + c.word) % WORDS.length]} ${WORDS[c.word % WORDS.length]}`, w: c.word })),
            });
          } else if (c.kind === 'delete') await e.write(ns, { deletes: c.ids });
          else if (allowIndex && c.kind === 'index') while ((await indexer(store, c.per).indexNamespace(ns, true)).result === 'published');
          else if (allowIndex && c.kind === 'compact') await compactNamespace(store, ns, { clock, nonce: nextNonce, force: true, hnsw: { flatThreshold: 4 } });
        };
        await e.write(ns, { upsert_rows: [{ id: 100, vector: [0, 0, 0], text: 'alpha', w: -1 }], distance_metric: 'euclidean_squared', schema: { text: { type: 'string', full_text_search: true } } });
        for (const c of before) await apply(c, true);
        await indexer(store, 3).indexNamespace(ns, true); // at least one part
        for (const c of tailCmds) await apply(c, false); // stays in the tail
        const r0 = await routerOf(store, ns);
        const tail0 = (await store.list(`${ns}/wal/`)).objects.map((o) => o.key);
        const want = await visible(store, ns);

        const out = await reindexNamespace(store, ns, reindexOpts({ maxRowsPerPart, hnsw: { M, efConstruction: 50, flatThreshold: 4 }, ...(ivf ? { vectorIndex: IVF } : {}) }));
        expect(out.result).toBe('reindexed');
        if (out.result !== 'reindexed') return;
        const r1 = await routerOf(store, ns);
        expect(r1.epoch).toBe(r0.epoch + 1);
        expect(out.epoch).toBe(r1.epoch);
        expect(r1.indexed_wal).toBe(r0.indexed_wal);
        expect(r1.schema).toEqual(r0.schema);
        expect(r1.parts[0]!.wal_start).toBe(r0.parts[0]!.wal_start);
        expectContiguous(r1);
        expect(r1.parts.map((p) => p.id)).toEqual(out.parts.map((p) => p.id));
        expect(r1.parts.some((p) => r0.parts.some((q) => q.id === p.id))).toBe(false);
        const rec = r1.indexer!.last_reindex as ReindexRecord;
        expect(rec).toMatchObject({ epoch: r1.epoch, parts: out.parts.map((p) => p.id), replaced: r0.parts.map((p) => p.id), wal_end: r0.indexed_wal, builds: 1 });
        for (const p of r1.parts) {
          const m = (await readManifest(store, ns, p.id))!;
          expect(m.tombstones).toBe(0); // nothing older remains: tombstones have nothing to shadow
          const seqsInPart = new Set((await loadPart(store, ns, p.id, undefined, { lazy: true })).seqs).size;
          if (maxRowsPerPart !== undefined && seqsInPart > 1) expect(m.rows).toBeLessThanOrEqual(maxRowsPerPart); // one WAL entry is never split
          if (m.index.kind === 'hnsw') expect(m.index).toMatchObject({ M, ef_construction: 50 });
          // With IVF every rebuilt part holding a vector is format 3 (minRows 3: the first such part trains), and
          // format-2 parts (no vector, or fewer than 3 before the codebook) are flat.
          if (ivf) expect(m.index.kind).not.toBe('hnsw');
          if (ivf && r1.vindex && m.rows > 0 && m.index.kind !== 'ivf') expect(p.wal_start).toBeLessThan(r1.parts.find((q) => q.index_kind === 'ivf')!.wal_start);
        }
        if (ivf && r1.parts.some((p) => p.index_kind === 'ivf')) {
          expect(r1.vindex).toBeDefined();
          expect(rec.codebook).toBe(r1.vindex!.codebook);
        } else expect(rec.codebook ?? null).toBe(null);
        if (maxRowsPerPart === undefined) expect(r1.parts).toHaveLength(1);
        expect((await store.list(`${ns}/wal/`)).objects.map((o) => o.key)).toEqual(tail0);
        expect(await visible(store, ns)).toEqual(want);
      }),
      { numRuns: 20 },
    );
  });

  it('should rebuild against the codebook an indexer trained during an IVF reindex (its part included)', async () => {
    const inner = new MemoryStore();
    const ns = 'race-ivf';
    const e = await seed(inner, ns, 6, 30);
    while ((await indexer(inner).indexNamespace(ns, true)).result === 'published'); // HNSW/flat parts, no codebook
    const want0 = await visible(inner, ns);
    let competitor: Router | null = null;
    const store = racing(inner, async (n) => {
      if (n !== 0) return;
      // The competitor trains codebook version 1 of its own lineage: the reindex's parts (its own version 1) are
      // invalid under it, so the reindex must rebuild, not publish on top.
      await e.write(ns, { upsert_rows: [{ id: 5000, vector: [1, 1, 1], text: 'alpha late', b: 99 }], deletes: [0] });
      const o = await new Indexer(inner, { clock, nonce: nextNonce, vectorIndex: { ...IVF, minRows: 1 } }).indexNamespace(ns, true);
      expect(o.result).toBe('published');
      competitor = await routerOf(inner, ns);
    });
    const out = await reindexNamespace(store, ns, reindexOpts({ vectorIndex: IVF }));
    expect(out).toMatchObject({ result: 'reindexed', builds: 2 });
    const r1 = await routerOf(inner, ns);
    const comp = competitor as Router | null;
    expect(comp!.vindex).toBeDefined();
    expect(r1.indexed_wal).toBe(comp!.indexed_wal);
    expect(r1.parts.some((p) => p.id === comp!.parts.at(-1)!.id)).toBe(false); // the rebuild folded it in
    expect(r1.parts.every((p) => p.index_kind === 'ivf')).toBe(true);
    expect(r1.vindex!.version).toBeGreaterThanOrEqual(comp!.vindex!.version); // the competitor's lineage, maybe extended
    expect((r1.indexer!.last_reindex as ReindexRecord).codebook).toBe(r1.vindex!.codebook);
    expectContiguous(r1);
    const ids = ((await visible(inner, ns)).all as { id: number }[]).map((x) => x.id);
    expect(ids).toContain(5000);
    expect(ids).not.toContain(0);
    expect(ids.length).toBe((want0.all as unknown[]).length);
  });

  it('should apply changed schema settings (HNSW m, text analysis) to the rebuilt parts; --dry-run reports and changes nothing', async () => {
    const store = new MemoryStore();
    const ns = 'settings';
    const e = await seed(store, ns, 4, 40);
    while ((await indexer(store).indexNamespace(ns, true)).result === 'published');
    const before = await routerOf(store, ns);
    const m0 = (await readManifest(store, ns, before.parts[0]!.id))!;
    expect(m0.index.M).toBe(16);
    // Re-configure: stemming (so "run" matches "running"/"runs"), and HNSW m / ef_construction.
    await e.updateSchema(ns, { text: { type: 'string', full_text_search: { stemming: true } }, vector: { type: '[3]f32', ann: { m: 6, ef_construction: 30 } } });
    while ((await indexer(store).indexNamespace(ns, true)).result === 'published');
    const want = await visible(store, ns);
    expect(want.bm25[1]!.length).toBeGreaterThan(0); // "run" matches stemmed words: analysis changed

    const keysBefore = (await store.list('')).objects.map((o) => `${o.key}@${o.size}`);
    const plan = await planReindex(store, ns, { hnsw: { M: 32 } });
    expect((await store.list('')).objects.map((o) => `${o.key}@${o.size}`)).toEqual(keysBefore);
    const r = await routerOf(store, ns);
    expect(plan).toMatchObject({ ns, epoch: r.epoch, indexed_wal: r.indexed_wal, tail_entries: 0, rows: r.parts.reduce((s, p) => s + p.rows, 0), bytes: r.parts.reduce((s, p) => s + p.bytes, 0) });
    expect(plan.parameters).toMatchObject({ M: 6, ef_construction: 30, source: { M: 'schema', ef_construction: 'schema' } });
    expect(plan.source_parts.map((p) => p.M)).toContain(16);
    expect(plan.warnings.join('\n')).toMatch(/vector\.ann\.m = 6, which wins over --hnsw-m 32/);

    const out = await reindexNamespace(store, ns, reindexOpts());
    expect(out.result).toBe('reindexed');
    const after = await routerOf(store, ns);
    const m1 = (await readManifest(store, ns, after.parts[0]!.id))!;
    expect(m1.index).toMatchObject({ kind: 'hnsw', M: 6, ef_construction: 30 });
    expect(m1.fts![0]!.analysis).not.toBe(m0.fts![0]!.analysis); // postings rebuilt with the new analysis
    expect((after.indexer!.last_reindex as ReindexRecord).hnsw).toEqual({ M: 6, ef_construction: 30 });
    expect(await visible(store, ns)).toEqual(want);
  });

  it('should say there is nothing to do without parts, and refuse a missing namespace', async () => {
    const store = new MemoryStore();
    await makeEngine(store).write('fresh', { upsert_rows: [{ id: 1 }] });
    const epoch = (await routerOf(store, 'fresh')).epoch;
    expect(await reindexNamespace(store, 'fresh', reindexOpts())).toMatchObject({ result: 'nothing' });
    expect((await routerOf(store, 'fresh')).epoch).toBe(epoch);
    await expect(reindexNamespace(store, 'missing', reindexOpts())).rejects.toThrow(/namespace 'missing' has no router.json/);
    await expect(planReindex(store, 'missing')).rejects.toMatchObject({ code: 'ELAX_ERR_NAMESPACE_NOT_FOUND' });
  });

  it('should keep a part an indexer published during the reindex: one more CAS on top of it, no rebuild', async () => {
    const inner = new MemoryStore();
    const ns = 'race-ix';
    const e = await seed(inner, ns, 6, 30);
    while ((await indexer(inner).indexNamespace(ns, true)).result === 'published');
    const want0 = await visible(inner, ns);
    let competitorPart = '';
    const store = racing(inner, async (n) => {
      if (n !== 0) return;
      await e.write(ns, { upsert_rows: [{ id: 5000, vector: [1, 1, 1], text: 'alpha late', b: 99 }], deletes: [0] });
      const o = await indexer(inner).indexNamespace(ns, true);
      expect(o.result).toBe('published');
      if (o.result === 'published') competitorPart = o.part.id;
    });
    const r0 = await routerOf(inner, ns);
    const out = await reindexNamespace(store, ns, reindexOpts());
    expect(out).toMatchObject({ result: 'reindexed', builds: 1, publishes: 2 });
    const r1 = await routerOf(inner, ns);
    expect(r1.parts.map((p) => p.id)).toEqual([...(out.result === 'reindexed' ? out.parts.map((p) => p.id) : []), competitorPart]);
    expect(r1.indexed_wal).toBe(r0.indexed_wal + 1); // the competitor's publish is kept
    expect(r1.epoch).toBe(r0.epoch + 2); // competitor + reindex, once each
    expect((r1.indexer!.last_reindex as ReindexRecord).epoch).toBe(r1.epoch);
    expect(r1.indexer!.last_part).toBe(competitorPart);
    expectContiguous(r1);
    const got = await visible(inner, ns);
    const ids = (got.all as { id: number }[]).map((x) => x.id);
    expect(ids).toContain(5000);
    expect(ids).not.toContain(0);
    expect(ids.length).toBe((want0.all as unknown[]).length);
  });

  it('should rebuild when compaction merged its source parts meanwhile, and GC should then delete the replaced parts and orphans', async () => {
    const inner = new MemoryStore();
    const ns = 'race-compact';
    await seed(inner, ns, 6, 30);
    while ((await indexer(inner).indexNamespace(ns, true)).result === 'published');
    const want = await visible(inner, ns);
    const oldParts = (await routerOf(inner, ns)).parts.map((p) => p.id);
    const holder = makeEngine(inner);
    const eventual = { rank_by: ['id', 'asc'], top_k: 1200, consistency: { level: 'eventual' } };
    await holder.query(ns, eventual); // a node holding the old router (eventual reads reuse its view)
    const store = racing(inner, async (n) => {
      if (n === 0) expect((await compactNamespace(inner, ns, { clock, nonce: nextNonce, force: true })).result).toBe('compacted');
    });
    const out = await reindexNamespace(store, ns, reindexOpts());
    expect(out).toMatchObject({ result: 'reindexed', builds: 2, publishes: 2 });
    const r = await routerOf(inner, ns);
    expect(r.parts).toHaveLength(1);
    expect((r.indexer!.last_reindex as ReindexRecord).replaced).toHaveLength(1); // the compacted part
    expect(await visible(inner, ns)).toEqual(want);
    // Old parts stay readable within the grace period (immutable, still listed), and go after it.
    const listedParts = async () => (await inner.list(`${ns}/parts/`, { delimiter: '/' })).prefixes.map((p) => p.split('/')[2]!);
    const keep = await gcNamespace(inner, ns, { clock: { now: () => Date.now() }, partGraceMs: 60_000 });
    expect(keep.parts).toEqual([]);
    expect((await holder.query(ns, eventual)).rows!.length).toBe((want.all as unknown[]).length);
    const orphansAndOld = (await listedParts()).filter((id) => id !== r.parts[0]!.id);
    expect(orphansAndOld.length).toBe(oldParts.length + 2); // replaced parts, the compacted part, the first build
    const gone = await gcNamespace(inner, ns, { clock: { now: () => Date.now() + 120_000 }, partGraceMs: 60_000 });
    expect(gone.parts.sort()).toEqual(orphansAndOld.sort());
    expect(await listedParts()).toEqual([r.parts[0]!.id]);
    expect(await visible(inner, ns)).toEqual(want);
  });

  it('should abandon, never dropping the competitors\' parts, when the parts keep changing; and when the namespace is deleted', async () => {
    const inner = new MemoryStore();
    const ns = 'race-forever';
    const e = await seed(inner, ns, 8, 10);
    for (let i = 0; i < 3; i++) await indexer(inner, 2).indexNamespace(ns, true);
    const rowsBefore = ((await visible(inner, ns)).all as unknown[]).length;
    let written = 0;
    const store = racing(inner, async () => {
      // Every CAS loses to an indexer publish + a compaction that merges the reindex's sources.
      await e.write(ns, { upsert_rows: [{ id: 9000 + written++, vector: [0, 0, 1], text: 'beta' }] });
      await indexer(inner, 100).indexNamespace(ns, true);
      await compactNamespace(inner, ns, { clock, nonce: nextNonce, force: true });
    });
    const out = await reindexNamespace(store, ns, reindexOpts({ maxBuilds: 2 }));
    expect(out).toMatchObject({ result: 'abandoned', builds: 2 });
    const r = await routerOf(inner, ns);
    expect(r.indexer?.last_reindex).toBeUndefined();
    expect(r.indexed_wal).toBe(8 + written);
    expectContiguous(r);
    expect(written).toBeGreaterThanOrEqual(2);
    expect((await visible(inner, ns)).all as unknown[]).toHaveLength(rowsBefore + written);

    const store2 = racing(inner, async (n) => {
      if (n === 0) await e.deleteNamespace(ns);
    });
    expect(await reindexNamespace(store2, ns, reindexOpts())).toMatchObject({ result: 'abandoned', reason: expect.stringMatching(/deleted/) });
    expect((await routerOf(inner, ns)).deleted).toBeDefined();
    expect((await inner.get(routerKey(ns)))).not.toBeNull();
  });
});
