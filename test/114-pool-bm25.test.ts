/**
 * Issue 17, worker pool (RFC-0010 "BM25 over parts on the pool"): BM25 over parts scored on a pool thread (the
 * `bm25-part` task) gives the answers the event loop gives, through Engine.query: parts with dead rows (overwritten
 * and deleted ids), a WAL tail beside them, several terms, a prefix, filters (with and without filter indexes), Sum /
 * Max / Product, ties (duplicated texts) and top_k from 1 to past every match; with no pool, with a pool thread (pool
 * scans on) and with an inline pool. A query cancelled while a part is scored on the thread stops, and the thread
 * answers the next query.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortableControl } from './helpers/query-control.js';
import { gatedPool } from '../crates-ts/pool/gated-test-helpers.js';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { createPool, type TaskPool } from '../crates-ts/pool/index.js';
import { ElaxError } from '../crates-ts/core/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { Indexer } from '../indexer/indexer.js';

const WORDS = ['ocean', 'river', 'stone', 'forest', 'cloud', 'ember', 'quartz', 'quiet', 'delta', 'harbor', 'meadow', 'glacier'];
const now = () => performance.now();

describe('BM25 over parts on the pool', () => {
  const pools: TaskPool[] = [];
  const engines: Engine[] = [];
  const engine = (store: MemoryStore, pool?: TaskPool, minPostings = 1) => {
    if (pool) pools.push(pool);
    const e = new Engine(store, {
      clock: { now: () => Date.now() },
      sleep: (ms) => sleep(ms),
      random: Math.random,
      groupCommitMs: 0,
      ...(pool ? { pool, poolScans: true, poolBm25MinPostings: minPostings } : {}),
    });
    engines.push(e);
    return e;
  };
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(pools.map((p) => p.close()));
  });

  /** Two parts of `rows` documents each (skewed words, duplicated texts), then overwrites and deletes, and a tail. */
  async function corpus(store: MemoryStore, ns: string, rows: number): Promise<void> {
    const rand = seededRandom(ns.length * 7 + rows);
    const e = engine(store);
    const text = () => (rand() < 0.2 ? 'ocean river' : Array.from({ length: 1 + Math.floor(rand() * 9) }, () => WORDS[Math.floor(rand() * rand() * WORDS.length)]!).join(' '));
    const doc = (i: number) => ({ id: i, text: text(), title: rand() < 0.7 ? text() : null, group: i % 5 });
    let nonce = 0;
    const indexer = new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `b${nonce++}` });
    const schema = { text: { type: 'string', full_text_search: true }, title: { type: 'string', full_text_search: true }, group: { type: 'uint', filterable: true } };
    for (let part = 0; part < 2; part++) {
      for (let from = part * rows; from < (part + 1) * rows; from += 2000) {
        await e.write(ns, { upsert_rows: Array.from({ length: Math.min(2000, (part + 1) * rows - from) }, (_, j) => doc(from + j)), schema });
      }
      await indexer.indexNamespace(ns, true);
    }
    await e.write(ns, { upsert_rows: Array.from({ length: 300 }, (_, j) => doc(j * 13)) }); // their part rows are dead
    await e.write(ns, { deletes: Array.from({ length: 200 }, (_, j) => j * 17 + 3) });
    await e.write(ns, { upsert_rows: Array.from({ length: 100 }, (_, j) => doc(10 * rows + j)) });
  }

  const QUERIES: Record<string, unknown>[] = [
    { rank_by: ['text', 'BM25', 'ocean'], top_k: 10 },
    { rank_by: ['text', 'BM25', 'ocean river stone'], top_k: 25, include_attributes: ['group'] }, // ties: 'ocean river'
    { rank_by: ['text', 'BM25', 'river river quiet'], top_k: 1 },
    { rank_by: ['text', 'BM25', 'stone qu', { last_as_prefix: true }], top_k: 40 },
    { rank_by: ['text', 'BM25', 'glacier meadow'], top_k: 10_000 }, // past every match
    { rank_by: ['text', 'BM25', 'forest cloud'], top_k: 15, filters: ['group', 'Eq', 2] },
    { rank_by: ['text', 'BM25', 'ember delta'], top_k: 15, filters: ['group', 'In', [1, 3]] },
    { rank_by: ['text', 'BM25', 'harbor ocean'], top_k: 15, filters: ['id', 'Lt', 3000] }, // no filter index: stays here
    { rank_by: ['Sum', [['text', 'BM25', 'ocean stone'], ['title', 'BM25', 'river']]], top_k: 20 },
    { rank_by: ['Product', 2.5, ['title', 'BM25', 'cloud forest']], top_k: 12 },
    { rank_by: ['Max', [['text', 'BM25', 'quartz'], ['title', 'BM25', 'ocean']]], top_k: 30 },
    { rank_by: ['Sum', [['Product', 0, ['text', 'BM25', 'ocean']], ['title', 'BM25', 'stone']]], top_k: 8 },
  ];

  it('gives the answers of the event loop with a pool thread and with an inline pool, the parts scored on the thread', async () => {
    const store = new MemoryStore();
    await corpus(store, 'bm', 4000);
    const threaded = createPool({ threads: 1, now });
    await threaded.ready();
    const inline = createPool({ threads: 0, now });
    const answers: unknown[][] = [];
    const handed: number[] = [];
    for (const pool of [undefined, threaded, inline]) {
      const e = engine(store, pool);
      const out: unknown[] = [];
      for (const body of QUERIES) {
        const before = threaded.stats().byKind['bm25-part'].tasks;
        out.push((await e.query('bm', body)).rows);
        if (pool === threaded) handed.push(threaded.stats().byKind['bm25-part'].tasks - before);
      }
      answers.push(out);
    }
    expect((answers[0]![1] as unknown[]).length).toBe(25);
    expect((answers[0]![4] as unknown[]).length).toBeGreaterThan(100);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    // Each query hands a part to the thread (one or both: the second is scored here while the thread is busy), but the
    // one whose filter has no filter index (it would be evaluated over every posting's row here first).
    expect(handed.map((n) => n > 0)).toEqual(QUERIES.map((q) => !JSON.stringify(q.filters ?? null).includes('"id"')));
    expect(threaded.stats().byKind['bm25-part'].errors).toBe(0);
    expect(inline.stats().byKind['bm25-part'].tasks).toBe(0); // no idle thread: scored here
    expect(threaded.stats().fallbacks + threaded.stats().coldInline).toBe(0);
  }, 120_000);

  it('keeps small parts on the event loop (fewer postings than the threshold)', async () => {
    const store = new MemoryStore();
    await corpus(store, 'small', 500);
    const pool = createPool({ threads: 1, now });
    await pool.ready();
    const e = engine(store, pool, 1_000_000);
    for (const body of QUERIES.slice(0, 3)) await e.query('small', body);
    expect(pool.stats().byKind['bm25-part'].tasks).toBe(0);
  }, 60_000);

  it('a query cancelled while a part is scored on the pool stops, and frees the thread for the next query', async () => {
    const store = new MemoryStore();
    await corpus(store, 'cancel', 3000);
    // The gated entry holds the first bm25-part task until its cancel flag is set (60 s at most).
    const pool = await gatedPool(now);
    const e = engine(store, pool);
    const { ac, control } = abortableControl();
    const reason = new ElaxError('ELAX_ERR_QUERY_CANCELLED', 'the client closed the connection');
    const body = { rank_by: ['text', 'BM25', 'ocean stone'], top_k: 10 };
    const cancelled = e.query('cancel', body, control).then(
      () => null,
      (err: unknown) => err,
    );
    while (pool.stats().byKind['bm25-part'].inFlight === 0) await sleep(5); // a part is with the pool
    ac.abort(reason);
    expect(await cancelled).toBe(reason);
    expect(pool.stats().byKind['bm25-part'].cancelled).toBe(1);
    // The single thread answers the next query (had the cancelled task kept it, this would wait out the 60 s gate).
    const next = await e.query('cancel', body);
    expect(next.rows).toEqual((await engine(store).query('cancel', body)).rows);
    expect(pool.stats().byKind['bm25-part'].tasks).toBeGreaterThanOrEqual(2);
    expect(pool.stats().fallbacks).toBe(0);
  }, 60_000);
});
