/**
 * Parallel shard builds (RFC-0013 "Parallel shard builds"): an indexing pass over a sharded namespace builds its
 * shards' parts on the indexer's build pool (pool task `part-build`), with IVF after assigning each shard's vectors
 * on the indexer's thread, one shard after another. The parts, codebooks and routers must be byte-identical to a
 * serial build (no pool) of the same WAL: seeded random rows (vectors, full-text, filterable attributes, deletes and
 * updates across passes), HNSW and IVF (the first pass trains the codebook, the next ones extend it), and a pool whose
 * threads die mid-task (every build falls back to the indexer's thread).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, type ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { createPool, type TaskPool } from '../crates-ts/pool/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { Indexer, type IndexerOptions } from '../indexer/indexer.js';
import { lazyBuildPool } from '../indexer/build-pool.js';

const SHARDS = 4;
const DIMS = 16;
const WORDS = ['puffer', 'fish', 'ocean', 'reef', 'spiny', 'blue', 'deep', 'swim', 'coral', 'tide', 'sand', 'wave', 'kelp', 'gill'];
const clock = { now: () => 1_700_000_000_000 };

/** The WAL of a sharded namespace: an inaugural write, then `passes` rounds of upserts, patches and deletes. */
async function writeWal(store: ObjectStore, seed: number, rounds: number): Promise<void> {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  let t = 1_700_000_000_000;
  const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random, groupCommitMs: 0 });
  await e.write('ns', {
    sharding: { num_shards: SHARDS },
    distance_metric: 'cosine_distance',
    schema: { text: { type: 'string', full_text_search: true }, cat: { type: 'string', filterable: true }, n: 'int', tags: '[]string' },
  });
  for (let round = 0; round < rounds; round++) {
    for (let batch = 0; batch < 3; batch++) {
      const ids = [...new Set(Array.from({ length: 150 }, () => int(900)))];
      const rows = ids.map((k) => {
        return {
          id: k,
          vector: Array.from({ length: DIMS }, () => random() * 2 - 1),
          text: Array.from({ length: 3 + int(8) }, () => WORDS[int(WORDS.length)]).join(' '),
          cat: `c${int(7)}`,
          n: int(1000),
          tags: Array.from({ length: int(3) }, () => WORDS[int(WORDS.length)]!),
        };
      });
      await e.write('ns', { upsert_rows: rows });
    }
    await e.write('ns', { deletes: [...new Set(Array.from({ length: 20 }, () => int(900)))] });
    await e.write('ns', { patch_rows: [...new Set(Array.from({ length: 20 }, () => int(900)))].map((id) => ({ id, n: int(1000) })) });
  }
}

async function copyStore(from: MemoryStore): Promise<MemoryStore> {
  const to = new MemoryStore();
  for (const o of (await from.list('')).objects) await to.put(o.key, (await from.get(o.key))!.bytes);
  return to;
}

/** Every object of the store, key → bytes (as hex digests would hide nothing: compared whole). */
async function contents(store: ObjectStore): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const o of (await store.list('')).objects) out.set(o.key, Buffer.from((await store.get(o.key))!.bytes));
  return out;
}

/** Index the namespace pass by pass (a few WAL entries per pass, so later passes extend the first one's codebook). */
async function indexAll(store: ObjectStore, opts: Partial<IndexerOptions>): Promise<number> {
  let nonce = 0;
  const ix = new Indexer(store, { clock, nonce: () => `p${nonce++}`, maxEntriesPerPart: 5, ...opts });
  return ix.drain('ns');
}

const HNSW: Partial<IndexerOptions> = { hnsw: { M: 8, efConstruction: 40, flatThreshold: 16 } };
const IVF: Partial<IndexerOptions> = { vectorIndex: { kind: 'ivf', minRows: 50, targetSize: 40, minSize: 10, maxSize: 60 } };

describe('parallel shard builds (RFC-0013)', () => {
  const pools: TaskPool[] = [];
  const pool = async (threads: number, entry?: URL) => {
    const p = createPool({ threads, now: () => performance.now(), entry });
    pools.push(p);
    await p.ready();
    return p;
  };
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it.each([
    ['HNSW parts', HNSW, 11],
    ['IVF parts (one codebook, trained then extended)', IVF, 12],
  ] as const)('builds byte-identical parts, codebooks and routers on the pool as serially: %s', async (_name, kindOpts, seed) => {
    const source = new MemoryStore();
    await writeWal(source, seed, 3);
    const serial = await copyStore(source);
    const parallel = await copyStore(source);
    // The indexer's own build pool (started on first use, its threads niced) for HNSW; a plain pool for IVF.
    const p = kindOpts === HNSW ? lazyBuildPool({ threads: 2, nice: 5 }) : await pool(2);
    if (kindOpts === HNSW) pools.push(p);

    const passes = await indexAll(serial, kindOpts);
    expect(await indexAll(parallel, { ...kindOpts, buildPool: p })).toBe(passes);
    expect(passes).toBeGreaterThanOrEqual(3);
    // The builds really ran on the threads, every shard's part of every pass but none inline.
    const s = p.stats();
    const router = (await new RouterStore(parallel).read('ns'))!.router;
    expect(s.byKind['part-build'].tasks).toBeGreaterThanOrEqual(passes * 2);
    expect(s.byKind['part-build'].errors).toBe(0);
    expect(s.fallbacks + s.coldInline).toBe(0);
    expect(new Set(router.parts.map((r) => r.shard))).toEqual(new Set([0, 1, 2, 3]));
    if (kindOpts === IVF) {
      // Each shard's nearest centroids were searched on the threads too (then extended to the appended centroids here).
      expect(s.byKind['ivf-nearest'].tasks).toBeGreaterThanOrEqual(passes);
      expect(s.byKind['ivf-nearest'].errors).toBe(0);
      // Several codebook versions: the first pass trained one, later passes split clusters (appended centroids).
      expect(router.parts.some((r) => r.index_kind === 'ivf')).toBe(true);
      expect(router.vindex!.codebook).toBeDefined();
      const codebooks = [...(await contents(parallel)).keys()].filter((k) => k.includes('codebook'));
      expect(codebooks.length).toBeGreaterThanOrEqual(2);
    } else {
      expect(router.parts.some((r) => r.index_kind === 'hnsw')).toBe(true);
    }

    const a = await contents(serial);
    const b = await contents(parallel);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [key, bytes] of a) expect(b.get(key)!.equals(bytes), key).toBe(true);

    // The namespace answers the same on both stores (and, as the stores are equal, any query would).
    const q = (store: ObjectStore) => new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
    const body = { rank_by: ['text', 'BM25', 'coral reef'], top_k: 20, filters: ['cat', 'NotEq', 'c3'] };
    expect((await q(parallel).query('ns', body)).rows).toEqual((await q(serial).query('ns', body)).rows);
  });

  it('builds the same parts when the pool threads die mid-build (each build reruns on the indexer thread)', async () => {
    const source = new MemoryStore();
    await writeWal(source, 13, 2);
    const serial = await copyStore(source);
    const dying = await copyStore(source);
    const p = await pool(2, new URL('../crates-ts/pool/dying-worker-entry.mjs', import.meta.url));
    await indexAll(serial, IVF);
    await indexAll(dying, { ...IVF, buildPool: p });
    expect(p.stats().fallbacks).toBeGreaterThan(0);
    const a = await contents(serial);
    const b = await contents(dying);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [key, bytes] of a) expect(b.get(key)!.equals(bytes), key).toBe(true);
  });
});
