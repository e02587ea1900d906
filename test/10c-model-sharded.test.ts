/**
 * Randomized model test of a SHARDED namespace (RFC-0013): random upserts, patches, deletes and filter writes through
 * two engines sharing one store, interleaved with indexing (one part per shard with changes, one CAS), per-shard
 * forced and size-tiered compaction, publishers racing inside a router CAS, GC, node restarts and indexing passes that
 * die mid-upload (their shards built in parallel on a build pool, RFC-0013 "Parallel shard builds"); after every
 * operation a strong query on a random node must return exactly what a plain Map model says, and the stored state
 * must keep the shard layout: every part holds only ids of its shard, each id has at most one live row, in the newest
 * part of its shard. Seeded by fast-check; the seed is printed on failure.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, type ObjectStore, type Witness } from '../crates-ts/store/index.js';
import { gcNamespace } from '../indexer/gc.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { createPool, type TaskPool } from '../crates-ts/pool/index.js';
import { applyWrite, docArb, expectOneLiveRowPerId, expectedRows, idArb, loadPartsAndMasks, PATCH_DELETE_ARBS, publisherArb, type ModelDoc, type Publisher, type WriteOp } from './helpers/model-ops.js';

const SHARDS = 3;
type Op =
  | WriteOp
  | { t: 'publish'; p: Publisher }
  | { t: 'race'; first: Publisher; second: Publisher }
  | { t: 'gc' }
  | { t: 'restart' }
  /** An indexing pass that dies after `puts` part-file uploads (mid-upload of its shards' parts, before its CAS). */
  | { t: 'crash_index'; puts: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ t: 'publish' as const, p: 'index' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'publish' as const, p: 'compact' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'publish' as const, p: 'compact_tiered' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('race' as const), first: publisherArb, second: publisherArb }) },
  { weight: 1, arbitrary: fc.constant({ t: 'gc' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('crash_index' as const), puts: fc.integer({ min: 0, max: 12 }) }) },
  { weight: 6, arbitrary: fc.uniqueArray(docArb, { minLength: 1, maxLength: 8, selector: (d) => d.id }).map((rows) => ({ t: 'upsert' as const, rows })) },
  ...PATCH_DELETE_ARBS,
);

function applyModel(model: Map<number, ModelDoc>, op: Op): void {
  if (op.t === 'upsert' || op.t === 'patch' || op.t === 'delete' || op.t === 'delete_by_filter' || op.t === 'patch_by_filter') applyWrite(model, op);
}

/** The shard function as the RFC states it, written out again here (FNV-1a 32 over the id's JSON, fmix32, mod n). */
function expectedShard(id: number): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(JSON.stringify(id))) h = Math.imul(h ^ b, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % SHARDS;
}

let nonce = 0;
let ivfParts = false;
/** Indexing passes build their shards on this pool (RFC-0013 "Parallel shard builds"). */
let buildPool: TaskPool | undefined;
let sawIvf = false;
let sawMerged = false;
const ivfOptions = () => (ivfParts ? { vectorIndex: { kind: 'ivf' as const, minRows: 3, targetSize: 2, minSize: 1, maxSize: 4 } } : {});

class HookStore extends MemoryStore {
  beforeRouterCas: (() => Promise<void>) | null = null;
  /** Part-file uploads left before the indexer "dies" (every later put of a part file throws); null: no crash. */
  partPutsLeft: number | null = null;
  crashed = false;
  override async put(key: string, bytes: Uint8Array) {
    if (this.partPutsLeft !== null && key.includes('/parts/')) {
      if (this.partPutsLeft === 0) {
        this.crashed = true;
        throw new Error('the indexer died mid-pass');
      }
      this.partPutsLeft--;
    }
    return super.put(key, bytes);
  }
  override async putIfMatch(key: string, bytes: Uint8Array, witness: Witness) {
    if (key.endsWith('router.json')) {
      const hook = this.beforeRouterCas;
      this.beforeRouterCas = null;
      if (hook) await hook();
    }
    return super.putIfMatch(key, bytes, witness);
  }
}

async function publish(store: ObjectStore, ns: string, p: Publisher): Promise<void> {
  const clock = { now: () => Date.now() };
  if (p === 'index') await new Indexer(store, { clock, nonce: () => `n${nonce++}`, hnsw: { flatThreshold: 4 }, maxEntriesPerPart: 3, buildPool, ...ivfOptions() }).indexNamespace(ns, true);
  else await compactNamespace(store, ns, { clock, nonce: () => `c${nonce++}`, force: p === 'compact', fanout: 2, maxParts: 2, hnsw: { flatThreshold: 4 }, ...ivfOptions() });
}

/** The stored layout: parts sorted by (wal_start, shard), ids in their shard, one live row per id in its newest part. */
async function checkLayout(store: ObjectStore, ns: string): Promise<number> {
  const read = await new RouterStore(store).read(ns);
  if (!read || read.router.parts.length === 0) return 0;
  const r = read.router;
  sawIvf ||= r.parts.some((p) => p.index_kind === 'ivf');
  sawMerged ||= r.parts.some((p) => p.level > 0);
  expect(r.sharding).toEqual({ num_shards: SHARDS });
  expect(r.format_version).toBe(4);
  const { parts, masks } = await loadPartsAndMasks(store, ns, r);
  parts.forEach((part, i) => {
    const ref = r.parts[i]!;
    if (i > 0) {
      const prev = r.parts[i - 1]!;
      expect(prev.wal_start < ref.wal_start || (prev.wal_start === ref.wal_start && prev.shard! < ref.shard!)).toBe(true);
    }
    expect(part.manifest.shard).toBe(ref.shard);
    for (const id of [...part.docs.map((d) => d.id), ...part.tombstones]) expect(expectedShard(id as number), `id ${String(id)} in a part of shard ${ref.shard}`).toBe(ref.shard);
  });
  expectOneLiveRowPerId(parts, masks, 'of its shard is newer');
  return new Set(r.parts.map((p) => p.shard)).size;
}

function makeEngine(store: ObjectStore): Engine {
  let t = 1_700_000_000_000;
  return new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0, catalog: { staleRebuildMinRows: 0 } });
}

describe('randomized model test of a sharded namespace (RFC-0013)', () => {
  beforeAll(async () => {
    buildPool = createPool({ threads: 2, now: () => performance.now() });
    await buildPool.ready();
  });
  afterAll(async () => {
    await buildPool?.close();
  });

  it.each([
    ['HNSW/flat parts', false, 40],
    ['IVF parts sharing one codebook', true, 15],
  ] as const)('matches an in-memory model after every operation, with %s', async (_name, ivf, numRuns) => {
    ivfParts = ivf;
    sawIvf = false;
    sawMerged = false;
    let maxShardsWithParts = 0;
    let crashes = 0;
    const pooledBefore = buildPool!.stats().byKind['part-build'].tasks;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(opArb, fc.boolean(), fc.boolean()), { minLength: 10, maxLength: 40, size: 'max' }), async (steps) => {
        const store = new HookStore();
        const nodes = [makeEngine(store), makeEngine(store)];
        const model = new Map<number, ModelDoc>();
        const ns = 'model';
        // The inaugural write: sharding and the schema (filters on attributes never seen are 400s).
        await nodes[0]!.write(ns, {
          sharding: { num_shards: SHARDS },
          distance_metric: 'euclidean_squared',
          schema: { v: 'int', n: 'int', cat: 'string', flag: 'bool', vector: { type: '[2]f32', ann: { distance_metric: 'euclidean_squared' } } },
        });
        for (const [op, writeOnSecond, readOnSecond] of steps) {
          const w = writeOnSecond ? 1 : 0;
          const e = nodes[w]!;
          const row = (r: ModelDoc) => ({ id: r.id, vector: r.vector, ...r.attrs });
          switch (op.t) {
            case 'restart':
              nodes[w] = makeEngine(store);
              break;
            case 'crash_index':
              // The pass dies part-way through uploading its shards' parts (or before any): nothing is published, the
              // parts it left are orphans (GC's), and the next pass indexes the range again. The node restarts too.
              store.partPutsLeft = op.puts;
              store.crashed = false;
              try {
                await publish(store, ns, 'index');
              } catch (e) {
                expect((e as Error).message).toMatch(/died mid-pass/);
              }
              if (store.crashed) crashes++;
              store.partPutsLeft = null;
              nodes[w] = makeEngine(store);
              break;
            case 'publish':
              await publish(store, ns, op.p);
              break;
            case 'race':
              store.beforeRouterCas = () => publish(store, ns, op.second);
              await publish(store, ns, op.first);
              store.beforeRouterCas = null;
              break;
            case 'gc':
              await gcNamespace(store, ns, { clock: { now: () => Date.now() + 3_600_000 }, walRetentionMs: 0, partGraceMs: 0 });
              break;
            case 'upsert':
              await e.write(ns, { upsert_rows: op.rows.map(row) });
              break;
            case 'patch':
              await e.write(ns, { patch_rows: [{ id: op.id, n: op.n }] });
              break;
            case 'delete':
              await e.write(ns, { deletes: op.ids });
              break;
            case 'delete_by_filter':
              await e.write(ns, { delete_by_filter: ['n', 'Gte', op.nGte] });
              break;
            case 'patch_by_filter':
              await e.write(ns, { patch_by_filter: { filters: ['cat', 'Eq', op.cat], patch: { flag: op.flag } } });
              break;
          }
          applyModel(model, op);
          maxShardsWithParts = Math.max(maxShardsWithParts, await checkLayout(store, ns));
          const reader = nodes[readOnSecond ? 1 : 0]!;
          const res = await reader.query(ns, { rank_by: ['id', 'asc'], top_k: 1200, include_attributes: true });
          expect(res.rows).toEqual(expectedRows(model));
          const count = await reader.query(ns, { aggregate_by: { c: ['Count'] } });
          expect(count.aggregations).toEqual({ c: model.size });
          const filtered = await reader.query(ns, { rank_by: ['n', 'desc'], top_k: 5, filters: ['cat', 'In', ['a', 'b']], include_attributes: ['n'] });
          const want = [...model.values()].filter((d) => d.attrs.cat !== 'c').sort((a, b) => b.attrs.n - a.attrs.n || a.id - b.id).slice(0, 5);
          expect(filtered.rows!.map((r) => r.n)).toEqual(want.map((d) => d.attrs.n));
          const q = { top_k: 10, filters: ['cat', 'NotEq', 'c'] };
          const knn = await reader.query(ns, { ...q, rank_by: ['vector', 'kNN', [0.3, -0.2]] });
          const exact = [...model.values()].filter((d) => d.attrs.cat !== 'c').map((d) => (d.vector[0]! - 0.3) ** 2 + (d.vector[1]! + 0.2) ** 2).sort((a, b) => a - b).slice(0, 10);
          knn.rows!.forEach((r, i) => expect(r.$dist as number).toBeCloseTo(exact[i]!, 5));
          expect(knn.rows!.length).toBe(exact.length);
          if (!ivf) {
            const ann = await reader.query(ns, { ...q, rank_by: ['vector', 'ANN', [0.3, -0.2]] });
            expect(ann.rows!.map((r) => r.$dist)).toEqual(knn.rows!.map((r) => r.$dist));
          }
        }
        const meta = await nodes[0]!.metadata(ns);
        expect(meta.sharding).toEqual({ num_shards: SHARDS });
      }),
      { numRuns, verbose: true },
    );
    expect(maxShardsWithParts).toBe(SHARDS); // the runs really spread parts over every shard
    expect(sawMerged).toBe(true); // and compaction merged runs of a shard
    expect(sawIvf).toBe(ivf);
    expect(crashes).toBeGreaterThan(0); // passes really died mid-upload
    expect(buildPool!.stats().byKind['part-build'].tasks).toBeGreaterThan(pooledBefore); // and shards built on the pool
  });
});
