/**
 * `elax serve --indexer-build-threads` (RFC-0013 "Parallel shard builds"): the embedded indexer's build pool starts
 * only when a pass has several shards to build, inside the indexer's child process (indexer/embedded.ts), its threads
 * at the indexer's nice value like every thread of that process (every thread of the server stays at the server's),
 * and the sharded namespace's rows are all indexed and answered. Linux only, as the servers this project runs on
 * (threads' nice values from /proc).
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { ELAX_BIN, startServerProcess, tempStoreDir } from './helpers/server.js';
import { indexerChildPids, threadNices } from './helpers/proc.js';
import { waitFor as waitUntil } from './helpers/wait.js';

const waitFor = (what: string, ok: () => boolean | Promise<boolean>) => waitUntil(what, ok, 60_000);

describe('elax serve --indexer-build-threads', () => {
  it('should refuse a value that is not an integer ≥ 0, naming the flag', async () => {
    const got = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [ELAX_BIN, 'serve', '--store', tempStoreDir('bt'), '--indexer-build-threads', '-1'], { timeout: 30_000 }, (err, _out, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stderr }),
      ),
    );
    expect(got.code).not.toBe(0);
    expect(got.stderr).toContain('--indexer-build-threads must be an integer ≥ 0');
  });

  it('should start its build threads on the first sharded pass, in the indexer process at its nice value, and index every shard', async () => {
    // --indexer-sched normal: this is about the build threads and their nice value; at SCHED_IDLE (--indexer-sched idle, test/91)
    // a full test run that keeps both cores busy could hold the indexing this waits for past its timeouts.
    const server = await startServerProcess({ args: ['--indexer-nice', '7', '--indexer-sched', 'normal', '--indexer-build-threads', '2', '--index-min-entries', '1', '--index-max-age-ms', '50'] });
    try {
      const pid = server.child.pid!;
      const post = async (path: string, body: unknown) => {
        const r = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(r.status, await r.clone().text()).toBe(200);
        return r.json() as Promise<Record<string, unknown>>;
      };
      await waitFor('the indexer process', () => indexerChildPids(pid).length === 1);
      const child = indexerChildPids(pid)[0]!;
      await waitFor('the indexer process to lower itself', () => threadNices(child).every((n) => n === 7));
      // An unsharded namespace is indexed on the indexer's thread: no build thread yet.
      await post('/v2/namespaces/plain', { distance_metric: 'euclidean_squared', upsert_rows: [{ id: 1, vector: [1, 0] }, { id: 2, vector: [0, 1] }] });
      await waitFor('the unsharded namespace to be indexed', async () => {
        const m = (await (await fetch(`${server.url}/v1/namespaces/plain/metadata`)).json()) as { index?: { status?: string } };
        return m.index?.status === 'up-to-date';
      });
      const before = threadNices(child).length;

      const rows = Array.from({ length: 60 }, (_, i) => ({ id: i, vector: [Math.cos(i), Math.sin(i)], text: `row ${i}` }));
      await post('/v2/namespaces/sharded', { sharding: { num_shards: 4 }, distance_metric: 'euclidean_squared', upsert_rows: rows });
      // Two build threads (each a Node worker, created from the niced indexer process) that were not there before.
      await waitFor('the build threads', () => threadNices(child).length >= before + 2);
      await waitFor('the sharded namespace to be indexed', async () => {
        const m = (await (await fetch(`${server.url}/v1/namespaces/sharded/metadata`)).json()) as { index?: { status?: string } };
        return m.index?.status === 'up-to-date';
      });
      expect(threadNices(child).every((n) => n === 7)).toBe(true); // the indexer's threads and its build threads
      const nices = threadNices(pid);
      expect(nices).not.toContain(7);
      expect(nices.every((n) => n === nices[0])).toBe(true);
      const res = (await post('/v2/namespaces/sharded/query', { rank_by: ['id', 'asc'], top_k: 100 })) as { rows: { id: number }[] };
      expect(res.rows.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    } finally {
      await server.stop();
    }
  }, 180_000); // the indexer process loads at its nice value (process-entry.mjs): slow on a busy machine
});
