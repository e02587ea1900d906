/**
 * Issue 17, the pool thread's fresh buffers (core/reused-buffers.ts settleLent): a write body's vectors are packed by
 * the pool thread into a shared buffer the event loop lends, which comes back for the next body once the parsed body's
 * views of it are collected. A buffer handed out again while anything still read it would corrupt acknowledged data,
 * silently: the vectors validated, encoded into the WAL entry and folded into the tail. So: many writes through a real
 * pool thread with full collections between them (buffers do come back and are lent again), then every row's vector
 * read back exactly, and every entry the catalog keeps for replays equal to its file in the store.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import { reusedBuffers } from '../crates-ts/core/index.js';
import { walKey } from '../crates-ts/store/index.js';
import { OFFLOAD_MIN_BYTES } from '../server/json-body.js';
import { startTestServer, type TestServer } from './helpers/server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const DIMS = 64;
const ROWS = 800; // a body of ≈ 300 KB: parsed on the pool (OFFLOAD_MIN_BYTES)
const BATCHES = 18;
const CONCURRENT = 6;

function vectorOf(id: number): Float32Array {
  return Float32Array.from({ length: DIMS }, (_, d) => Math.fround(Math.sin(id * 0.37 + d * 1.7) * 10));
}

describe('buffers lent to the pool thread', () => {
  let s: TestServer;
  afterAll(async () => {
    await s?.close();
  });

  it('come back and are lent again, and never while a kept row or entry still reads them', async () => {
    s = await startTestServer({ poolThreads: 1, groupCommitMs: 40 });
    const ns = 'lent';
    await s.pool.ready(); // bodies parsed on the thread, not inline while it loads
    const hits0 = reusedBuffers.hits;
    const parses0 = s.pool.stats().byKind['json-parse'].tasks;
    // Rounds of concurrent writes, staggered, committed together (group commit): a buffer given back too early would be
    // lent to a later body of the same round, whose vectors would overwrite those of a request not yet encoded.
    for (let round = 0; round < BATCHES / CONCURRENT; round++) {
      await Promise.all(
        Array.from({ length: CONCURRENT }, async (_, k) => {
          const b = round * CONCURRENT + k;
          await sleep(k * 8); // staggered: later bodies are parsed while earlier ones wait for their group commit
          const rows = Array.from({ length: ROWS }, (_, i) => {
            const id = b * ROWS + i;
            return { id, vector: Buffer.from(vectorOf(id).buffer).toString('base64'), b };
          });
          const body = JSON.stringify({ upsert_rows: rows, distance_metric: 'euclidean_squared' });
          expect(Buffer.byteLength(body)).toBeGreaterThanOrEqual(OFFLOAD_MIN_BYTES);
          const r = await fetch(`${s.url}/v2/namespaces/${ns}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          expect(r.status).toBe(200);
        }),
      );
      // Collect what the round left, so that its lent buffers come back before the next one (FinalizationRegistry
      // callbacks run in a task after the collection).
      gc();
      await sleep(20);
    }
    // Every row, exactly: the tail folded from the views of lent buffers.
    const all = BATCHES * ROWS;
    const got = new Map<number, number[]>();
    for (let after = -1; got.size < all; ) {
      const r = await fetch(`${s.url}/v2/namespaces/${ns}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rank_by: ['id', 'asc'], filters: ['id', 'Gt', after], top_k: 1000, include_attributes: ['vector'] }),
      });
      expect(r.status).toBe(200);
      const page = ((await r.json()) as { rows: { id: number; vector: number[] }[] }).rows;
      expect(page.length).toBeGreaterThan(0);
      for (const row of page) got.set(row.id, row.vector);
      after = page[page.length - 1]!.id;
    }
    // (Written as f32, answered as the shortest decimal of each f32: fround gives the f32 back.)
    for (let id = 0; id < all; id++) expect(got.get(id)!.map(Math.fround)).toEqual(Array.from(vectorOf(id)));

    // Bodies went through the thread, and lent buffers came
    // back and were handed out again: more hits than the bodies' own buffers alone (which come back at once) give.
    const parses = s.pool.stats().byKind['json-parse'].tasks - parses0;
    expect(parses).toBe(BATCHES);
    expect(s.pool.stats().coldInline).toBe(0);
    expect(reusedBuffers.hits - hits0).toBeGreaterThan(parses);

    // Every entry the catalog keeps for replays equals its file.
    const kept = (s.engine.catalog as unknown as { tailEntries: Map<string, Map<number, { encoded: Uint8Array }>> }).tailEntries.get(ns)!;
    expect(kept.size).toBeGreaterThan(0);
    for (const [seq, c] of kept) {
      const file = readFileSync(path.join(s.storeDir, walKey(ns, seq)));
      expect(Buffer.from(c.encoded.buffer, c.encoded.byteOffset, c.encoded.byteLength).equals(file)).toBe(true);
    }
  }, 120_000);
});
