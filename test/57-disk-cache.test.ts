/**
 * The disk cache of part files across server restarts (server/cache-dir.ts, crates-ts/part/file-cache.ts), in front
 * of an S3 store (the test server): a local directory store's parts are on the disk already and are not copied into
 * the cache (docs/rfcs/0010-worker-pool.md "Part blocks from a local store"; test/58 checks that).
 *  - a server restarted on the same cache directory (flag or ELAX_CACHE_DIR) answers a cold query from disk: the
 *    part files are deleted from the store first, so a single GET of one would fail the query;
 *  - `--cache-dir temp` is removed when the server stops (SIGINT here; SIGTERM for the others);
 *  - a cached file damaged on disk is caught by its checksum, fetched once and healed in place;
 *  - a restart with a smaller `diskCacheBytes` trims the directory before the first query;
 *  - a size that is not one stops `elax serve` with a message naming the flag or variable.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ELAX_BIN, startServerProcess } from './helpers/server.js';
import { s3ChildEnv, s3TestConfig, uniquePrefix } from './helpers/s3-env.js';
import { startServer } from '../server/serve.js';
import { Engine } from '../crates-ts/engine/index.js';
import { openStore, type ByteRange, type GetResult, type ObjectStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';

const NS = 'cached';
const DIMS = 8;
const ANN = { rank_by: ['vector', 'ANN', Array.from({ length: DIMS }, (_, j) => (j % 3) / 3)], top_k: 10, include_attributes: ['text'] };
const BM25 = { rank_by: ['text', 'BM25', 'gamma'], top_k: 10 };

/** A fresh prefix of the S3 test bucket. */
const s3Uri = () => `s3://${s3TestConfig().bucket}/${uniquePrefix('disk-cache')}`;
const openS3 = (uri: string): Promise<ObjectStore> => openStore(uri, { env: s3ChildEnv() });

/** 400 rows (an HNSW part: more than the flat threshold) with full-text postings, indexed into parts. */
async function seed(uri: string): Promise<void> {
  const store = await openS3(uri);
  let t = 1_700_000_000_000;
  const engine = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
  const rows = Array.from({ length: 400 }, (_, i) => ({ id: i, vector: Array.from({ length: DIMS }, (_, j) => Math.sin(i * (j + 1))), text: `${['alpha', 'beta', 'gamma'][i % 3]} row${i}` }));
  await engine.write(NS, { distance_metric: 'euclidean_squared', schema: { text: { type: 'string', full_text_search: true } }, upsert_rows: rows });
  await new Indexer(store, { clock: { now: () => (t += 1) }, nonce: () => 'seed' }).indexNamespace(NS, true);
  await engine.close();
  await store.close();
}

async function query(url: string, body: unknown): Promise<unknown> {
  const r = await fetch(`${url}/v2/namespaces/${NS}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await r.json()) as { rows?: unknown };
  expect(r.status, JSON.stringify(json)).toBe(200);
  return json.rows;
}

/** Every cached part file under a cache root (path → bytes). */
function cachedFiles(root: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.bin')) out.set(path.join(e.parentPath, e.name), statSync(path.join(e.parentPath, e.name)).size);
  }
  return out;
}

/** Part files other than manifests, as store keys. */
async function partDataKeys(uri: string): Promise<string[]> {
  const store = await openS3(uri);
  try {
    return (await store.list(`${NS}/parts/`)).objects.map((o) => o.key).filter((k) => !k.endsWith('/manifest.json'));
  } finally {
    await store.close();
  }
}

/** Deletes the part files other than manifests from the store. */
async function deletePartData(uri: string): Promise<void> {
  const keys = await partDataKeys(uri);
  expect(keys.length).toBeGreaterThan(0);
  const store = await openS3(uri);
  try {
    for (const k of keys) await store.delete(k);
  } finally {
    await store.close();
  }
}

describe('disk cache of part files', () => {
  it('should answer a cold query after a restart from the cache directory alone, and remove a temporary one on stop', { timeout: 60_000 }, async () => {
    const store = s3Uri();
    const env = s3ChildEnv();
    const cacheRoot = mkdtempSync(path.join(tmpdir(), 'elax-cache-root-'));
    const childTmp = mkdtempSync(path.join(tmpdir(), 'elax-child-tmp-'));
    try {
      await seed(store);
      const first = await startServerProcess({ store, env, args: ['--no-indexer', '--cache-dir', cacheRoot] });
      const ann = await query(first.url, ANN);
      const bm25 = await query(first.url, BM25);
      await first.stop();
      const cached = cachedFiles(cacheRoot);
      // What the queries read is on disk: whole files for the columns they scanned (ids, HNSW, postings) and the blocks
      // of the rows they returned (part format 2 reads by block, RFC-0004 §1). The restart below needs nothing else.
      expect(cached.size).toBeGreaterThan(0);
      expect(cached.size).toBeLessThanOrEqual((await partDataKeys(store)).length + 16);
      expect(readdirSync(cacheRoot)).toEqual([expect.stringMatching(/^store-[0-9a-f]{16}$/)]);

      // A temporary cache (its TMPDIR is ours to inspect) is filled, then removed when the server stops.
      const temp = await startServerProcess({ store, args: ['--no-indexer', '--cache-dir', 'temp'], env: { ...env, TMPDIR: childTmp } });
      expect(await query(temp.url, ANN)).toEqual(ann);
      const tempCaches = () => readdirSync(childTmp).filter((n) => n.startsWith('elax-cache'));
      expect(tempCaches()).toEqual([expect.stringMatching(new RegExp(`^elax-cache-tmp-${temp.child.pid}-`))]);
      expect(cachedFiles(childTmp).size).toBeGreaterThan(0);
      const exited = new Promise((r) => temp.child.once('exit', r));
      temp.child.kill('SIGINT'); // the Ctrl-C path
      await exited;
      expect(tempCaches()).toEqual([]);

      await deletePartData(store);
      const restarted = await startServerProcess({ store, args: ['--no-indexer'], env: { ...env, ELAX_CACHE_DIR: cacheRoot } });
      try {
        expect(await query(restarted.url, ANN)).toEqual(ann);
        expect(await query(restarted.url, BM25)).toEqual(bm25);
      } finally {
        await restarted.stop();
      }
      expect(cachedFiles(cacheRoot)).toEqual(cached); // nothing evicted, nothing rewritten
    } finally {
      for (const d of [cacheRoot, childTmp]) rmSync(d, { recursive: true, force: true });
    }
  });

  it('should heal damaged cached files with one fetch each, and trim to a smaller budget on restart', { timeout: 60_000 }, async () => {
    const uri = s3Uri();
    const cacheRoot = mkdtempSync(path.join(tmpdir(), 'elax-cache-root-'));
    const base = { port: 0, host: '127.0.0.1', store: uri, apiKeys: [], groupCommitMs: 1, log: false, indexer: false, skipProbe: true, cacheDir: cacheRoot };
    // The store under its URI (which names the cache's subdirectory), opened with the test server's settings.
    const opts = async () => ({ ...base, storeInstance: await openS3(uri) });
    try {
      await seed(uri);
      const first = await startServer(await opts());
      const ann = await query(first.url, ANN);
      await first.close();
      const files = [...cachedFiles(cacheRoot).entries()].sort((a, b) => b[1] - a[1]); // largest first
      expect(files.length).toBeGreaterThanOrEqual(3);
      const [truncated, altered] = [files[0]![0], files[1]![0]];
      const good = [await readFile(truncated), await readFile(altered)];
      await truncate(truncated, good[0]!.byteLength - 1);
      const flipped = Buffer.from(good[1]!);
      flipped[flipped.length >> 1] ^= 0x01;
      await writeFile(altered, flipped);

      const second = await startServer(await opts());
      const gets: string[] = [];
      const get = second.store.get.bind(second.store);
      second.store.get = (key: string, range?: ByteRange): Promise<GetResult | null> => {
        if (key.includes('/parts/') && !key.endsWith('manifest.json')) gets.push(key);
        return get(key, range);
      };
      try {
        expect(await query(second.url, ANN)).toEqual(ann);
        expect(gets.length).toBe(2); // the two damaged files, nothing else
        expect(await readFile(truncated)).toEqual(good[0]); // healed in place
        expect(await readFile(altered)).toEqual(good[1]);
      } finally {
        await second.close();
      }

      const total = [...cachedFiles(cacheRoot).values()].reduce((a, b) => a + b, 0);
      const budget = total - 1; // at least one file must go
      const small = await startServer({ ...(await opts()), diskCacheBytes: budget });
      try {
        const now = [...cachedFiles(cacheRoot).values()].reduce((a, b) => a + b, 0);
        expect(now).toBeGreaterThan(0);
        expect(now).toBeLessThanOrEqual(budget); // before any query
        expect(await query(small.url, ANN)).toEqual(ann);
        expect([...cachedFiles(cacheRoot).values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(budget);
      } finally {
        await small.close();
      }
    } finally {
      rmSync(cacheRoot, { recursive: true, force: true });
    }
  });

  it('should refuse a cache size that is not one, naming the flag or the environment variable', async () => {
    const serve = (args: string[], env: Record<string, string>) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [ELAX_BIN, 'serve', '--store', 'memory://', '--port', '0', ...args], { env: { ...process.env, ...env } }, (_e, _out, stderr) =>
          resolve({ code: child.exitCode, stderr }),
        );
      });
    const [flag, env] = await Promise.all([serve(['--cache-disk', '8G'], {}), serve(['--cache-disk', '1GiB'], { ELAX_CACHE_MEMORY: 'lots' })]);
    expect(flag).toEqual({ code: 2, stderr: expect.stringContaining("--cache-disk: '8G' is not a size") });
    expect(env).toEqual({ code: 2, stderr: expect.stringContaining("ELAX_CACHE_MEMORY: 'lots' is not a size") });
  });
});
