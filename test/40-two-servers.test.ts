/**
 * Two server processes on one store write one namespace concurrently: every acknowledged id is present afterwards,
 * seen from each server, and the WAL is gapless. Then one server is killed -9 mid-writes: every write it
 * acknowledged before dying is present.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServerProcess, tempStoreDir, type ServerProcess } from './helpers/server.js';
import { s3ChildEnv, s3TestConfig, uniquePrefix } from './helpers/s3-env.js';

const repo = path.resolve(import.meta.dirname, '..');

async function write(url: string, ns: string, ids: number[]): Promise<boolean> {
  try {
    const r = await fetch(`${url}/v2/namespaces/${ns}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ upsert_rows: ids.map((id) => ({ id, vector: [id % 7, id % 11], node: url })), distance_metric: 'euclidean_squared' }),
      signal: AbortSignal.timeout(20_000),
    });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false; // connection refused / reset: not acknowledged
  }
}

async function idsSeenBy(url: string, ns: string): Promise<Set<number>> {
  const seen = new Set<number>();
  let after = -1;
  for (;;) {
    const r = await fetch(`${url}/v2/namespaces/${ns}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rank_by: ['id', 'asc'], top_k: 1200, filters: ['id', 'Gt', after] }),
    });
    const rows = ((await r.json()) as { rows: { id: number }[] }).rows;
    for (const row of rows) seen.add(row.id);
    if (rows.length < 1200) return seen;
    after = rows[rows.length - 1]!.id;
  }
}

/** 8 clients per server, `requests` requests of 20 disjoint ids each, spread across both servers. */
async function hammer(servers: ServerProcess[], ns: string, requests: number): Promise<number[]> {
  const acked: number[] = [];
  let next = 0;
  await Promise.all(
    servers.flatMap((s) =>
      Array.from({ length: 8 }, async () => {
        while (next < requests) {
          const req = next++;
          const ids = Array.from({ length: 20 }, (_, i) => req * 20 + i);
          if (await write(s.url, ns, ids)) acked.push(...ids);
        }
      }),
    ),
  );
  return acked;
}

function walSeqs(store: string, ns: string, env: Record<string, string> = {}): number[] {
  const out = execFileSync(process.execPath, [path.join(repo, 'bin/elax.mjs'), 'wal', 'list', '--ns', ns, '--store', store, '--json'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { seq: number }[]).map((e) => e.seq);
}

async function twoServers(store: string, env: Record<string, string> = {}) {
  const servers = await Promise.all([startServerProcess({ store, env, args: ['--no-indexer'] }), startServerProcess({ store, env, args: ['--no-indexer'] })]);
  try {
    const ns = 'shared';
    const acked = await hammer(servers, ns, 60);
    expect(acked.length).toBe(60 * 20);
    for (const s of servers) {
      const seen = await idsSeenBy(s.url, ns);
      for (const id of acked) if (!seen.has(id)) throw new Error(`acknowledged id ${id} missing on ${s.url}`);
      expect(seen.size).toBe(acked.length);
    }
    const seqs = walSeqs(store, ns, env);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1)); // gapless
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

describe('two server processes, one store', () => {
  it('should keep every acknowledged write on the local store', async () => {
    await twoServers(tempStoreDir('two'));
  });

  it('should keep every acknowledged write on S3 (radosgw)', async () => {
    const c = s3TestConfig();
    await twoServers(`s3://${c.bucket}/${uniquePrefix('two')}`, s3ChildEnv());
  });

  it('should keep every write a server acknowledged before it was killed -9', async () => {
    const store = tempStoreDir('kill');
    const victim = await startServerProcess({ store, args: ['--no-indexer'] });
    const survivor = await startServerProcess({ store, args: ['--no-indexer'] });
    try {
      const ns = 'killed';
      const hammering = hammer([victim, survivor], ns, 200);
      await new Promise((r) => setTimeout(r, 400));
      victim.child.kill('SIGKILL');
      const acked = await hammering;
      expect(acked.length).toBeGreaterThan(0);
      const seen = await idsSeenBy(survivor.url, ns);
      const missing = acked.filter((id) => !seen.has(id));
      expect(missing).toEqual([]);
    } finally {
      await Promise.all([victim.stop(), survivor.stop()]);
    }
  });

  it('should acknowledge in-flight writes and lose none of them on SIGTERM (graceful shutdown)', async () => {
    const store = tempStoreDir('term');
    const server = await startServerProcess({ store, args: ['--no-indexer', '--group-commit-ms', '50'] });
    const ns = 'term';
    // 20 writes in flight inside a 50 ms group-commit window, then SIGTERM.
    const writes = Array.from({ length: 20 }, (_, i) => write(server.url, ns, [i]));
    await new Promise((r) => setTimeout(r, 20));
    server.child.kill('SIGTERM');
    const acked = (await Promise.all(writes)).map((ok, i) => (ok ? i : -1)).filter((i) => i >= 0);
    await server.stop();
    expect(server.child.exitCode).toBe(0);
    const again = await startServerProcess({ store, args: ['--no-indexer'] });
    try {
      const seen = await idsSeenBy(again.url, ns);
      expect(acked.filter((id) => !seen.has(id))).toEqual([]);
      expect(acked.length).toBeGreaterThan(0);
    } finally {
      await again.stop();
    }
  });
});
