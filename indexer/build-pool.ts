/**
 * The indexer's build pool (RFC-0013 "Parallel shard builds"): threads that build the parts of a sharded
 * namespace's pass in parallel (pool task `part-build`). Created on first use: an indexer that never meets a sharded
 * namespace starts no thread (each costs 0.3-2 s of CPU to load). The first pass that uses it waits for one thread
 * to load rather than building every shard on the indexer's own thread. Its threads run at the given nice value.
 */
import { availableParallelism } from 'node:os';
import { bundledEntry } from '../crates-ts/core/index.js';
import { createPool, type PoolStats, type RunOptions, type TaskInput, type TaskKind, type TaskOutput, type TaskPool } from '../crates-ts/pool/index.js';

/** Default: one build thread per core (the indexer's own thread mostly waits on them and on I/O). */
export function defaultBuildThreads(): number {
  return Math.max(1, availableParallelism());
}

export function lazyBuildPool(opts: { threads: number; nice?: number; now?: () => number }): TaskPool {
  let pool: TaskPool | null = null;
  const now = opts.now ?? (() => performance.now());
  const get = () => (pool ??= createPool({ threads: opts.threads, now, entry: bundledEntry('build-worker') ?? new URL('./build-worker-entry.mjs', import.meta.url), workerData: { nice: opts.nice ?? 0 } }));
  return {
    threads: opts.threads,
    async run<K extends TaskKind>(kind: K, input: TaskInput<K>, runOpts?: RunOptions): Promise<TaskOutput<K>> {
      const p = get();
      await p.ready();
      return p.run(kind, input, runOpts);
    },
    idleThreads: () => pool?.idleThreads() ?? 0,
    stats: (): PoolStats => get().stats(),
    ready: () => get().ready(),
    close: async () => {
      await pool?.close();
    },
  };
}
