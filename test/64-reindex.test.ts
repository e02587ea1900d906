/**
 * `elax reindex` against a live server process (local store, embedded indexer) while a writer and queries run:
 * no query fails, no acknowledged write is lost (every id carries its last acknowledged value afterwards), the
 * rebuilt parts carry the new HNSW parameters, and the reindex advances the epoch exactly once (its publish is the
 * one recording `indexer.last_reindex`; every router observed before it has none, every one after it the same).
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rmSync } from 'node:fs';
import { ELAX_BIN, startServerProcess, tempStoreDir } from './helpers/server.js';
import { openStore } from '../crates-ts/store/index.js';
import { RouterStore, type Router } from '../crates-ts/router/index.js';
import { readManifest } from '../crates-ts/part/index.js';
import type { ReindexOutcome, ReindexPlan, ReindexRecord } from '../indexer/index.js';
import { Engine } from '../crates-ts/engine/index.js';

const run = promisify(execFile);
const DIMS = 8;
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const vec = () => Array.from({ length: DIMS }, () => Math.random());

async function post(url: string, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as unknown) : null };
}

describe('elax reindex under concurrent writes and queries', () => {
  it('should cut over with one CAS, lose no acknowledged write and fail no query', { timeout: 180_000 }, async () => {
    const storeDir = tempStoreDir('reindex');
    const server = await startServerProcess({ store: storeDir, args: ['--index-min-entries', '1', '--index-max-age-ms', '50'] });
    const store = await openStore(storeDir);
    const routers = new RouterStore(store);
    const ns = 'live';
    try {
      // Seed 1500 rows and wait until the embedded indexer has them in parts.
      const last = new Map<number, number>(); // id → last acknowledged value
      for (let b = 0; b < 3; b++) {
        const rows = Array.from({ length: 500 }, (_, i) => ({ id: b * 500 + i, vector: vec(), text: `${WORDS[i % 6]} ${WORDS[(i + b) % 6]}`, v: -1 }));
        const res = await post(server.url, `/v2/namespaces/${ns}`, { upsert_rows: rows, distance_metric: 'cosine_distance', schema: { text: { type: 'string', full_text_search: true } } });
        expect(res.status).toBe(200);
        for (const r of rows) last.set(r.id, -1);
      }
      for (let i = 0; ; i++) {
        const r = (await routers.read(ns))!.router;
        if (r.indexed_wal === 3) break;
        if (i > 300) throw new Error(`the embedded indexer did not index the seed: ${JSON.stringify(r)}\n${server.stderr()}`);
        await sleep(50);
      }

      // Dry run: reports, changes nothing.
      const before = (await routers.read(ns))!.router;
      const dry = JSON.parse((await run(process.execPath, [ELAX_BIN, 'reindex', '--ns', ns, '--store', storeDir, '--dry-run', '--json', '--hnsw-m', '8'])).stdout) as ReindexPlan;
      expect(dry).toMatchObject({ ns, epoch: before.epoch, indexed_wal: 3, rows: 1500 });
      expect(dry.source_parts.map((p) => p.id)).toEqual(before.parts.map((p) => p.id));
      expect(dry.parameters).toMatchObject({ M: 8, source: { M: 'option' } });
      expect((await routers.read(ns))!.router).toEqual(before);

      // Observers: every router version we manage to see, and the load.
      const seen: Router[] = [];
      let stop = false;
      const monitor = (async () => {
        while (!stop) {
          seen.push((await routers.read(ns))!.router);
          await sleep(10);
        }
      })();
      let counter = 0;
      let writes = 0;
      const writer = (async () => {
        while (!stop) {
          const rows = Array.from({ length: 5 }, () => ({ id: Math.floor(Math.random() * 2000), vector: vec(), text: `${WORDS[counter % 6]} write`, v: counter++ }));
          const dedup = [...new Map(rows.map((r) => [r.id, r])).values()];
          const res = await post(server.url, `/v2/namespaces/${ns}`, { upsert_rows: dedup });
          expect(res.status, JSON.stringify(res.json)).toBe(200); // acknowledged
          for (const r of dedup) last.set(r.id, r.v);
          writes++;
          await sleep(5);
        }
      })();
      const queryErrors: string[] = [];
      let queries = 0;
      const queriers = Array.from({ length: 2 }, async (_, k) => {
        const bodies = [
          () => ({ rank_by: ['vector', 'ANN', vec()], top_k: 10, include_attributes: ['v'] }),
          () => ({ rank_by: ['text', 'BM25', WORDS[k % 6]], top_k: 10 }),
          () => ({ rank_by: ['id', 'asc'], top_k: 50, filters: ['v', 'Gte', 0] }),
        ];
        for (let i = 0; !stop; i++) {
          const res = await post(server.url, `/v2/namespaces/${ns}/query`, bodies[i % bodies.length]!());
          queries++;
          if (res.status !== 200) queryErrors.push(`${res.status} ${JSON.stringify(res.json)}`);
          else if (i % 3 !== 2 && (res.json as { rows: unknown[] }).rows.length !== 10) queryErrors.push(`query ${i % 3} returned ${(res.json as { rows: unknown[] }).rows.length} rows`);
        }
      });

      await sleep(500);
      const queriesBefore = queries;
      const { stdout } = await run(process.execPath, [ELAX_BIN, 'reindex', '--ns', ns, '--store', storeDir, '--hnsw-m', '8', '--hnsw-ef-construction', '64', '--vector-index', 'hnsw', '--json']);
      const out = JSON.parse(stdout) as Extract<ReindexOutcome, { result: 'reindexed' }>;
      const queriesDuring = queries - queriesBefore;
      await sleep(800); // keep writing and querying on the new parts
      stop = true;
      await Promise.all([monitor, writer, ...queriers]);

      expect(out.result).toBe('reindexed');
      expect(queryErrors).toEqual([]);
      expect(queriesDuring).toBeGreaterThan(0);
      expect(writes).toBeGreaterThan(10);

      // The new parts: built with the new parameters, covering from the first WAL entry.
      expect(out.parts[0]!.wal_start).toBe(1);
      for (const p of out.parts) {
        const m = (await readManifest(store, ns, p.id))!;
        expect(m.index).toMatchObject({ kind: 'hnsw', M: 8, ef_construction: 64 });
        expect(m.tombstones).toBe(0);
      }

      // Exactly one epoch belongs to the reindex.
      const E = out.epoch;
      const final = (await routers.read(ns))!.router;
      const rec = final.indexer!.last_reindex as ReindexRecord;
      expect(rec.epoch).toBe(E);
      expect(rec.parts).toEqual(out.parts.map((p) => p.id));
      expect(final.epoch).toBeGreaterThanOrEqual(E);
      for (const r of seen) {
        const lr = r.indexer?.last_reindex as ReindexRecord | undefined;
        if (r.epoch < E) expect(lr).toBeUndefined();
        else expect(lr?.epoch).toBe(E);
        if (r.epoch === E) expect(r.parts.slice(0, out.parts.length).map((p) => p.id)).toEqual(rec.parts);
      }
      // Nothing published meanwhile was dropped: parts still tile the WAL from 1 to indexed_wal.
      for (let i = 1; i < final.parts.length; i++) expect(final.parts[i]!.wal_start).toBe(final.parts[i - 1]!.wal_end + 1);
      expect(final.parts.some((p) => rec.replaced.includes(p.id))).toBe(false);

      // No lost write: every acknowledged id carries its last acknowledged value (strong read, paged by id).
      const got = new Map<number, number>();
      let after = -1;
      for (;;) {
        const res = await post(server.url, `/v2/namespaces/${ns}/query`, { rank_by: ['id', 'asc'], top_k: 1000, filters: ['id', 'Gt', after], include_attributes: ['v'] });
        expect(res.status).toBe(200);
        const rows = (res.json as { rows: { id: number; v: number }[] }).rows;
        for (const r of rows) got.set(r.id, r.v);
        if (rows.length < 1000) break;
        after = rows[rows.length - 1]!.id;
      }
      expect(got).toEqual(last);
    } finally {
      await server.stop();
      await store.close();
      rmSync(storeDir, { recursive: true, force: true });
    }
  });

  it('should write IVF parts by default: reindex converts HNSW parts, and the indexer then builds against the codebook', { timeout: 120_000 }, async () => {
    const storeDir = tempStoreDir('reindex-ivf');
    const store = await openStore(storeDir);
    const routers = new RouterStore(store);
    const ns = 'convert';
    let t = Date.now();
    const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
    // Clustered 8-d rows: 16 centres, so the codebook's clusters mean something.
    const row = (id: number) => ({ id, vector: Array.from({ length: DIMS }, (_, d) => Math.sin((id % 16) * 1.7 + d) * 3 + Math.random() * 0.3), text: WORDS[id % 6] });
    try {
      for (let b = 0; b < 3; b++) await e.write(ns, { distance_metric: 'euclidean_squared', upsert_rows: Array.from({ length: 1000 }, (_, i) => row(b * 1000 + i)) });
      await run(process.execPath, [ELAX_BIN, 'indexer', '--once', '--ns', ns, '--store', storeDir, '--vector-index', 'hnsw']);
      const before = (await routers.read(ns))!.router;
      expect(before.parts.map((p) => p.index_kind)).toEqual(['hnsw']);
      const q = row(7).vector;
      const knn = async () => ((await new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 }).query(ns, { rank_by: ['vector', 'kNN', q], top_k: 10 })).rows ?? []).map((r) => r.id);
      const want = await knn();

      const { stdout } = await run(process.execPath, [ELAX_BIN, 'reindex', '--ns', ns, '--store', storeDir, '--ivf-min-rows', '1000', '--json']);
      expect((JSON.parse(stdout) as ReindexOutcome).result).toBe('reindexed');
      const after = (await routers.read(ns))!.router;
      expect(after.parts.map((p) => p.index_kind)).toEqual(['ivf']);
      expect(after.vindex).toMatchObject({ version: 1 });
      expect((after.indexer!.last_reindex as ReindexRecord).codebook).toBe(after.vindex!.codebook);
      expect(await knn()).toEqual(want);

      // Later writes: the default indexer builds a format-3 part against the codebook, however small the part.
      await e.write(ns, { upsert_rows: Array.from({ length: 50 }, (_, i) => row(5000 + i)) });
      await run(process.execPath, [ELAX_BIN, 'indexer', '--once', '--ns', ns, '--store', storeDir]);
      const last = (await routers.read(ns))!.router;
      expect(last.parts.map((p) => p.index_kind)).toEqual(['ivf', 'ivf']);
      expect(last.vindex!.codebook.startsWith('codebook-')).toBe(true);
    } finally {
      await store.close();
      rmSync(storeDir, { recursive: true, force: true });
    }
  });
});
