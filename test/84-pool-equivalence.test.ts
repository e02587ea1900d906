/**
 * Issue 17, worker pool (RFC-0010): WAL entries encoded and decoded on pool threads give exactly what the inline path
 * gives.
 *  1. The same writes (upserts with vectors, patches, deletes, a schema with full-text search) and queries (exact
 *     vector, BM25, filtered, order by attribute) over HTTP with --pool-threads 0 and 2: identical WAL entries and
 *     identical results (the entries equal but for committed_at), read by the writing server (the entries it
 *     folded) and by a second server that decodes the whole tail from the store (through its pool).
 *  2. A task that fails on a worker fails the same way inline: a corrupt WAL entry is the same ELAX_ERR_CORRUPT.
 *  3. A worker that dies in the middle of encoding does not hang the write nor lose it: the entry is encoded
 *     inline, appended, acknowledged and readable.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortableControl } from './helpers/query-control.js';
import { gatedPool } from '../crates-ts/pool/gated-test-helpers.js';
import { Engine, POOL_SCANS_MIN_THREADS } from '../crates-ts/engine/index.js';
import { MemoryStore, walKey } from '../crates-ts/store/index.js';
import { createPool, type TaskPool } from '../crates-ts/pool/index.js';
import { ElaxError, isElaxError } from '../crates-ts/core/index.js';
import { decodeWalEntry } from '../crates-ts/wal/index.js';
import { Indexer } from '../indexer/indexer.js';
import { startTestServer, tempStoreDir, type TestServer } from './helpers/server.js';
import { OFFLOAD_MIN_BYTES } from '../server/json-body.js';

const DIMS = 8;
function vec(i: number): number[] {
  return Array.from({ length: DIMS }, (_, d) => Math.round(Math.sin(i * 7 + d) * 1000) / 1000);
}
const WORDS = ['ocean', 'river', 'stone', 'forest', 'cloud', 'ember'];

/** The writes of the scenario: batches of upserts, a patch, deletes; returns each write's response. */
async function writeScenario(s: TestServer, ns: string): Promise<unknown[]> {
  const n = s.client().namespace(ns);
  const out: unknown[] = [];
  const push = (r: { performance?: unknown }) => {
    const { performance: _timings, ...rest } = r;
    out.push(rest);
  };
  push(
    await n.write({
      upsert_rows: Array.from({ length: 60 }, (_, i) => ({ id: i, vector: vec(i), text: `${WORDS[i % 6]} ${WORDS[(i * 5) % 6]} ${i}`, group: i % 3, name: `doc-${i}` })),
      distance_metric: 'cosine_distance',
      schema: { text: { type: 'string', full_text_search: true } },
    }),
  );
  push(await n.write({ upsert_rows: Array.from({ length: 40 }, (_, i) => ({ id: 100 + i, vector: vec(100 + i), text: WORDS[i % 6]!, group: i % 4 })) }));
  push(await n.write({ patch_rows: [{ id: 3, group: 9 }, { id: 107, name: 'patched' }], return_affected_ids: true }));
  push(await n.write({ deletes: [5, 6, 101], return_affected_ids: true }));
  push(await n.write({ delete_by_filter: ['group', 'Eq', 2], return_affected_ids: true }));
  return out;
}

async function queryScenario(s: TestServer, ns: string): Promise<unknown[]> {
  const n = s.client().namespace(ns);
  const strip = (r: { rows?: unknown[] }) => r.rows;
  return [
    strip(await n.query({ rank_by: ['vector', 'ANN', vec(11)], top_k: 10, include_attributes: true })),
    strip(await n.query({ rank_by: ['text', 'BM25', 'river ocean'], top_k: 10, include_attributes: ['name', 'group'] })),
    strip(await n.query({ rank_by: ['id', 'asc'], filters: ['group', 'In', [0, 9]], top_k: 200, include_attributes: ['group', 'name'] })),
    strip(await n.query({ rank_by: ['name', 'desc'], top_k: 5, include_attributes: ['vector'] })),
  ];
}

function walFiles(storeDir: string, ns: string): Buffer[] {
  const dir = path.join(storeDir, ns, 'wal');
  return readdirSync(dir)
    .sort()
    .map((f) => readFileSync(path.join(dir, f)));
}

describe('worker pool equivalence', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('gives identical WAL entries and query results with --pool-threads 0 and 2, in the writer and in a reader that decodes the tail', async () => {
    const runs: { writes: unknown[]; own: unknown[]; fresh: unknown[]; wal: Buffer[] }[] = [];
    for (const poolThreads of [0, 2]) {
      const storeDir = tempStoreDir('pool');
      const writer = await startTestServer({ poolThreads, storeDir });
      servers.push(writer);
      await writer.pool.ready(); // else the first writes run inline while the threads load (pool.ts, cold start)
      const writes = await writeScenario(writer, 'eq');
      const own = await queryScenario(writer, 'eq');
      // A second server on the same store has no view yet: it reads and decodes every WAL entry (on its pool).
      const reader = await startTestServer({ poolThreads: Math.min(poolThreads, 1), storeDir }); // one thread: start-up CPU
      servers.push(reader);
      await reader.pool.ready();
      const fresh = await queryScenario(reader, 'eq');
      // The work went through each server's pool (inline at 0): every entry encoded by the writer, decoded by the reader.
      expect(writer.pool.threads).toBe(poolThreads);
      expect(reader.pool.threads).toBe(Math.min(poolThreads, 1));
      expect(writer.pool.stats().byKind['wal-encode']).toMatchObject({ tasks: 5, errors: 0 });
      expect(reader.pool.stats().byKind['wal-decode']).toMatchObject({ tasks: 5, errors: 0 });
      expect(writer.pool.stats().fallbacks + reader.pool.stats().fallbacks).toBe(0);
      expect(writer.pool.stats().coldInline + reader.pool.stats().coldInline).toBe(0);
      runs.push({ writes, own, fresh, wal: walFiles(storeDir, 'eq') });
    }
    const [inline, pooled] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(inline.own).toEqual(inline.fresh);
    expect((inline.own[0] as unknown[]).length).toBe(10);
    expect(pooled.writes).toEqual(inline.writes);
    expect(pooled.own).toEqual(inline.own);
    expect(pooled.fresh).toEqual(inline.fresh);
    // The entries hold the same operations and metadata (but committed_at, a clock reading).
    const entries = (wal: Buffer[]) => wal.map((b, i) => ({ ...decodeWalEntry(i + 1, b), meta: { ...decodeWalEntry(i + 1, b).meta, committed_at: 0 } }));
    expect(pooled.wal.length).toBe(5);
    expect(entries(pooled.wal)).toEqual(entries(inline.wal));
  });
});

describe('large JSON bodies parsed on the pool', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('gives the same documents, answers and errors for a body of more than OFFLOAD_MIN_BYTES with --pool-threads 0 and 1, and parses it on the thread', async () => {
    const D = 32;
    const rows = Array.from({ length: 2500 }, (_, i) => ({ id: i, vector: Array.from({ length: D }, (_, d) => Math.sin(i * 31 + d) / 3), tag: `t${i % 7}` }));
    const body = JSON.stringify({ upsert_rows: rows, distance_metric: 'euclidean_squared' });
    expect(Buffer.byteLength(body)).toBeGreaterThan(OFFLOAD_MIN_BYTES);
    // A large malformed body, and a large body whose vector is wrong (beyond f32): both errors cross the thread.
    const malformed = body.slice(0, -3);
    const tooBig = JSON.stringify({ upsert_rows: rows.map((r, i) => (i === 1700 ? { ...r, vector: r.vector.map((x, d) => (d === 4 ? 1e39 : x)) } : r)), distance_metric: 'euclidean_squared' });
    const post = (s: TestServer, text: string) =>
      fetch(`${s.url}/v2/namespaces/big`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    const runs: unknown[] = [];
    for (const poolThreads of [0, 1]) {
      const s = await startTestServer({ poolThreads });
      servers.push(s);
      await s.pool.ready();
      const bad = await post(s, malformed);
      const wrong = await post(s, tooBig);
      const ok = await post(s, body);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const n = s.client().namespace('big');
      const all = await n.query({ rank_by: ['id', 'asc'], top_k: 2500, include_attributes: ['vector', 'tag'] });
      const near = await n.query({ rank_by: ['vector', 'kNN', rows[42]!.vector], top_k: 5 });
      expect((all.rows ?? []).length).toBe(2500);
      expect(near.rows?.[0]?.id).toBe(42);
      // Through the thread exactly when there is one (the three bodies), never for small ones (the queries).
      expect(s.pool.stats().byKind['json-parse'].tasks).toBe(poolThreads === 0 ? 0 : 3);
      runs.push({ bad, wrong: { status: wrong.status, error: wrong.body.error }, rows: all.rows, near: near.rows });
    }
    const [inline, pooled] = runs as [{ bad: { status: number; body: { error: string } } }, unknown];
    expect(inline.bad.status).toBe(400);
    expect(inline.bad.body.error).toMatch(/malformed JSON body/);
    expect((inline as unknown as { wrong: { status: number; error: string } }).wrong).toMatchObject({ status: 400, error: expect.stringMatching(/upsert_rows\[1700\]\.vector.*element 4/) });
    expect(pooled).toEqual(inline);
  });
});

describe('worker pool failures', () => {
  const pools: TaskPool[] = [];
  const engines: Engine[] = [];
  const engine = (store: MemoryStore, pool?: TaskPool) => {
    if (pool) pools.push(pool);
    const e = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => sleep(ms), random: Math.random, groupCommitMs: 0, ...(pool ? { pool } : {}) });
    engines.push(e);
    return e;
  };
  const now = () => performance.now();
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(pools.map((p) => p.close()));
  });

  it('a corrupt WAL entry decoded on a worker is the same ELAX_ERR_CORRUPT as inline', async () => {
    const store = new MemoryStore();
    await engine(store).write('bad', { upsert_rows: [{ id: 1, vector: [1, 2], x: 1 }], distance_metric: 'cosine_distance' });
    await store.putIfAbsent(walKey('bad', 2), new TextEncoder().encode('not parquet'));
    const errors: unknown[] = [];
    for (const pool of [undefined, createPool({ threads: 1, now })]) {
      await pool?.ready();
      errors.push(await engine(store, pool).query('bad', { rank_by: ['id', 'asc'] }).then(() => null, (e: unknown) => e));
    }
    const [inline, pooled] = errors;
    expect(isElaxError(inline, 'ELAX_ERR_CORRUPT')).toBe(true);
    expect(isElaxError(pooled, 'ELAX_ERR_CORRUPT')).toBe(true);
    expect((pooled as Error).message).toBe((inline as Error).message);
    expect(pools[0]!.stats().byKind['wal-decode'].errors).toBeGreaterThan(0);
  });

  it('a worker killed while encoding neither hangs the write nor acknowledges unwritten data', async () => {
    const store = new MemoryStore();
    const pool = createPool({ threads: 1, now, entry: new URL('../crates-ts/pool/dying-worker-entry.mjs', import.meta.url) });
    const e = engine(store, pool);
    await pool.ready();
    const res = await e.write('dies', { upsert_rows: [{ id: 'a', vector: [0.5, 0.5], t: 'x' }, { id: 'b', vector: [1, 0], t: 'y' }], distance_metric: 'cosine_distance' });
    expect(pool.stats().fallbacks).toBeGreaterThan(0);
    expect(res).toMatchObject({ rows_affected: 2 });
    // Acknowledged means durable: a fresh engine (no pool) reads it back from the store.
    const back = await engine(store).query('dies', { rank_by: ['id', 'asc'], include_attributes: ['t'] });
    expect(back).toMatchObject({ rows: [{ id: 'a', t: 'x' }, { id: 'b', t: 'y' }] });
  });
});

describe('tail scans on the pool (RFC-0010 "Tail scans on the pool")', () => {
  const now = () => performance.now();
  const pools: TaskPool[] = [];
  const engines: Engine[] = [];
  const engine = (store: MemoryStore, pool?: TaskPool) => {
    if (pool) pools.push(pool);
    const e = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => sleep(ms), random: Math.random, groupCommitMs: 0, ...(pool ? { pool, poolScans: true } : {}) });
    engines.push(e);
    return e;
  };
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(pools.map((p) => p.close()));
  });

  /** A tail past the pool threshold (POOL_SCAN_MIN_FLOATS): rows × dims ≥ 2^20, with overwritten and deleted rows and duplicate vectors. */
  async function bigTail(store: MemoryStore, ns: string, dims: number, rows: number, metric: string) {
    const e = engine(store);
    let seed = dims;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const dup = Array.from({ length: dims }, () => rand());
    const doc = (i: number) => ({ id: i, vector: i % 97 === 0 ? dup : Array.from({ length: dims }, () => rand()), group: i % 5 });
    for (let from = 0; from < rows; from += 2000) {
      await e.write(ns, { upsert_rows: Array.from({ length: Math.min(2000, rows - from) }, (_, j) => doc(from + j)), distance_metric: metric });
    }
    await e.write(ns, { upsert_rows: Array.from({ length: 300 }, (_, j) => doc(j * 7)) }); // overwritten: their old rows are dead
    await e.write(ns, { deletes: Array.from({ length: 200 }, (_, j) => j * 11 + 1) });
    return dup;
  }

  it('gives the same answers as the event-loop scan, with a thread and with none, and the scans went through the thread', async () => {
    const store = new MemoryStore();
    const dupCos = await bigTail(store, 'cos', 128, 8300, 'cosine_distance');
    const dupL2 = await bigTail(store, 'l2', 256, 4200, 'euclidean_squared');
    const queries: [string, Record<string, unknown>][] = [
      ['cos', { rank_by: ['vector', 'ANN', dupCos], top_k: 10, include_attributes: ['group'] }], // ties: the duplicates, by id
      ['cos', { rank_by: ['vector', 'ANN', Array.from({ length: 128 }, (_, d) => Math.cos(d))], top_k: 100 }],
      ['cos', { rank_by: ['vector', 'ANN', dupCos], top_k: 20, filters: ['group', 'In', [1, 3]] }],
      ['l2', { rank_by: ['vector', 'ANN', dupL2], top_k: 15, include_attributes: ['group'] }],
      ['l2', { rank_by: ['vector', 'ANN', Array.from({ length: 256 }, (_, d) => Math.sin(d))], top_k: 5, filters: ['group', 'Eq', 2] }],
    ];
    const answers: unknown[][] = [];
    const threaded = createPool({ threads: 1, now });
    await threaded.ready();
    const inline = createPool({ threads: 0, now });
    for (const pool of [undefined, threaded, inline]) {
      const e = engine(store, pool);
      const out: unknown[] = [];
      for (const [ns, body] of queries) out.push((await e.query(ns, body)).rows);
      answers.push(out);
    }
    expect((answers[0]![0] as unknown[]).length).toBe(10);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    expect(threaded.stats().byKind['vector-scan']).toMatchObject({ tasks: queries.length, errors: 0 });
    expect(inline.stats().byKind['vector-scan'].tasks).toBe(0); // no thread: the scans ran here, not through the pool
    expect(threaded.stats().fallbacks + threaded.stats().coldInline).toBe(0);
  });

  it('scans a part whose vectors are in shared memory on the pool too (kNN over parts and tail), with the same answers', async () => {
    const store = new MemoryStore();
    const dup = await bigTail(store, 'parts', 128, 8800, 'cosine_distance');
    let nonce = 0;
    await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `p${nonce++}` }).indexNamespace('parts', true);
    await engine(store).write('parts', { upsert_rows: Array.from({ length: 50 }, (_, j) => ({ id: 100_000 + j, vector: dup, group: j % 5 })) });
    const queries = [
      { rank_by: ['vector', 'kNN', dup], top_k: 30, include_attributes: ['group'] }, // ties across the part and the tail
      { rank_by: ['vector', 'kNN', Array.from({ length: 128 }, (_, d) => Math.cos(d / 3))], top_k: 10, filters: ['group', 'Eq', 4] },
    ];
    const pool = createPool({ threads: 1, now });
    await pool.ready();
    const answers: unknown[][] = [];
    for (const p of [undefined, pool]) {
      const e = engine(store, p);
      const out: unknown[] = [];
      for (const body of queries) out.push((await e.query('parts', body)).rows);
      answers.push(out);
    }
    expect((answers[0]![0] as unknown[]).length).toBe(30);
    expect(answers[1]).toEqual(answers[0]);
    // Each query scanned the part (8,600 rows × 128 ≥ 2^20 floats) on the pool; the 50-row tail stayed here.
    expect(pool.stats().byKind['vector-scan']).toMatchObject({ tasks: queries.length, errors: 0 });
  });

  it('by default hands scans to a pool of 2 threads or more, not to a single thread (ELAX_POOL_SCANS unset)', async () => {
    expect(process.env.ELAX_POOL_SCANS).toBeUndefined();
    const store = new MemoryStore();
    const dup = await bigTail(store, 'default', 128, 8300, 'cosine_distance');
    const body = { rank_by: ['vector', 'ANN', dup], top_k: 5 };
    const counts: number[] = [];
    for (const threads of [1, POOL_SCANS_MIN_THREADS]) {
      const pool = createPool({ threads, now });
      pools.push(pool);
      await pool.ready();
      const e = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => sleep(ms), random: Math.random, groupCommitMs: 0, pool });
      engines.push(e);
      expect((await e.query('default', body)).rows!.length).toBe(5);
      counts.push(pool.stats().byKind['vector-scan'].tasks);
    }
    expect(counts).toEqual([0, 1]);
  });

  it('a query cancelled while its tail scan runs on the pool stops, and frees the thread for the next query', async () => {
    const store = new MemoryStore();
    const dup = await bigTail(store, 'cancel', 128, 8300, 'cosine_distance');
    // The gated entry holds the first vector-scan until its cancel flag is set (60 s at most).
    const pool = await gatedPool(now);
    const e = engine(store, pool);
    const { ac, control } = abortableControl();
    const reason = new ElaxError('ELAX_ERR_QUERY_CANCELLED', 'the client closed the connection');
    const body = { rank_by: ['vector', 'ANN', dup], top_k: 10 };
    await e.query('cancel', { rank_by: ['id', 'asc'], top_k: 1 }); // the view is loaded: the next query goes straight to its scan
    const cancelled = e.query('cancel', body, control).then(
      () => null,
      (err: unknown) => err,
    );
    while (pool.stats().byKind['vector-scan'].inFlight === 0) await sleep(5); // its scan is with the pool
    ac.abort(reason);
    expect(await cancelled).toBe(reason);
    expect(pool.stats().byKind['vector-scan'].cancelled).toBe(1);
    // The single thread answers the next query (had the cancelled scan kept it, this would wait out the 60 s gate).
    const next = await e.query('cancel', body);
    expect(next.rows).toEqual((await engine(store).query('cancel', body)).rows);
    expect(pool.stats().fallbacks).toBe(0);
  }, 30_000);
});
