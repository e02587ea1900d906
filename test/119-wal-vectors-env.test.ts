/**
 * ELAX_WAL_VECTORS (wal/format.ts walVectorsBinary; RFC-0010 "WAL vectors as binary"): `elax serve` refuses a value
 * other than list / binary at start, naming the variable. By default (since elax 0.3.0) it writes every WAL entry in
 * format 4 (its vectors one fixed-size binary column); with `list` it writes formats 1-3, which builds before 0.2.0
 * read, and still reads format-4 entries written before (the rollback of docs/runbooks/wal-format.md).
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ELAX_BIN, startServerProcess, tempStoreDir } from './helpers/server.js';
import { decodeWalEntry, WAL_BINARY_VECTORS_FORMAT, WAL_FORMAT_VERSION } from '../crates-ts/wal/index.js';
import { walKey } from '../crates-ts/store/index.js';

async function write(url: string, body: unknown): Promise<void> {
  const r = await fetch(`${url}/v2/namespaces/wv`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status, await r.clone().text()).toBe(200);
}

async function nearest(url: string, v: number[]): Promise<unknown[]> {
  const r = await fetch(`${url}/v2/namespaces/wv/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rank_by: ['vector', 'ANN', v], top_k: 3 }) });
  return ((await r.json()) as { rows: { id: unknown }[] }).rows.map((x) => x.id);
}

describe('ELAX_WAL_VECTORS', () => {
  it('should refuse a value other than list or binary at start, naming the variable', async () => {
    const got = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [ELAX_BIN, 'serve', '--port', '0', '--store', tempStoreDir('walvec')], { timeout: 30_000, env: { ...process.env, ELAX_WAL_VECTORS: 'f16' } }, (err, _out, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stderr }),
      ),
    );
    expect(got.code).not.toBe(0);
    expect(got.stderr).toContain("ELAX_WAL_VECTORS must be 'list' or 'binary', got 'f16'");
  });

  it('should write format 4 by default, and a server with list should read those entries and write format 1 after them', async () => {
    const store = tempStoreDir('walvec');
    const entryFormat = (seq: number) => decodeWalEntry(seq, readFileSync(path.join(store, walKey('wv', seq)))).meta.format_version;
    const a = await startServerProcess({ store, args: ['--no-indexer'], env: { ELAX_WAL_VECTORS: '' } }); // the default
    try {
      await write(a.url, { distance_metric: 'euclidean_squared', upsert_rows: [{ id: 1, vector: [0, 0] }, { id: 2, vector: [10, 0] }, { id: 3, vector: [0, 10] }] });
      expect(entryFormat(1)).toBe(WAL_BINARY_VECTORS_FORMAT);
      expect(await nearest(a.url, [9, 1])).toEqual([2, 1, 3]);
    } finally {
      await a.stop();
    }
    const b = await startServerProcess({ store, env: { ELAX_WAL_VECTORS: 'list' } }); // with its embedded indexer
    try {
      await write(b.url, { upsert_rows: [{ id: 4, vector: [1, 9] }] });
      expect(entryFormat(2)).toBe(WAL_FORMAT_VERSION);
      expect(await nearest(b.url, [1, 9])).toEqual([4, 3, 1]);
      for (let i = 0; ; i++) {
        const meta = (await (await fetch(`${b.url}/v1/namespaces/wv/metadata`)).json()) as { index?: { status?: string } };
        if (meta.index?.status === 'up-to-date') break;
        if (i > 300) throw new Error(`not indexed: ${JSON.stringify(meta)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await nearest(b.url, [9, 1])).toEqual([2, 1, 4]); // from the part the indexer built of both formats
      // `elax wal list` shows each entry's format (an operator's view of the rollout).
      const { stdout } = await promisify(execFile)(process.execPath, [ELAX_BIN, 'wal', 'list', '--ns', 'wv', '--store', store, '--json'], { encoding: 'utf8' });
      expect((JSON.parse(stdout) as { seq: number; format: number }[]).map((e) => [e.seq, e.format])).toEqual([[1, 4], [2, 1]]);
    } finally {
      await b.stop();
    }
  });

  it('should write format 4 with binary, as 0.2.0 did when asked', async () => {
    const store = tempStoreDir('walvec');
    const a = await startServerProcess({ store, args: ['--no-indexer'], env: { ELAX_WAL_VECTORS: 'binary' } });
    try {
      await write(a.url, { distance_metric: 'cosine_distance', upsert_rows: [{ id: 1, vector: [0.5, -0] }] });
      expect(decodeWalEntry(1, readFileSync(path.join(store, walKey('wv', 1)))).meta.format_version).toBe(WAL_BINARY_VECTORS_FORMAT);
    } finally {
      await a.stop();
    }
  });
});
