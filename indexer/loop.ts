/** Runs an Indexer pass every `intervalMs` until stopped. */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { systemClock } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { Indexer, type IndexerOptions } from './indexer.js';
import { compactNamespace } from './compact.js';
import { gcNamespace } from './gc.js';

export interface LoopOptions extends Partial<IndexerOptions> {
  intervalMs?: number;
  /** Compact a namespace after publishing when it has more parts than this (default 8). */
  maxParts?: number;
  /** Run GC every this many passes (default 120, i.e. every minute at 500 ms). */
  gcEveryPasses?: number;
  /**
   * While writes keep arriving into a namespace (more of its WAL is written right after a publish), compact it only
   * when it has more parts than this (default 2 × maxParts): fresh writes get indexed first (docs/ARCHITECTURE.md,
   * indexer/).
   */
  maxPartsBehind?: number;
}

export function makeIndexer(store: ObjectStore, opts: Partial<IndexerOptions> = {}): Indexer {
  return new Indexer(store, {
    clock: systemClock,
    nonce: () => `${process.pid.toString(36)}${randomBytes(4).toString('hex')}`,
    ...opts,
  });
}

export class IndexerLoop {
  private stopped = false;
  private running: Promise<void> | null = null;
  readonly indexer: Indexer;

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: LoopOptions = {},
  ) {
    this.indexer = makeIndexer(store, opts);
  }

  /**
   * One pass: index what is due, compact namespaces that grew too many parts, and now and then collect garbage.
   * Failures are per namespace: indexing failures are backed off and recorded by the Indexer (failures.ts); a
   * compaction or GC failure is logged and retried on a later pass, and never stops the other namespaces.
   */
  async pass(n: number): Promise<{ behind: boolean }> {
    const outcomes = await this.indexer.runOnce();
    const maxParts = this.opts.maxParts ?? 8;
    let behind = false;
    for (const o of outcomes) {
      if (o.result !== 'published') continue;
      try {
        // Indexing first: every query scans the unindexed tail exactly, and a merge takes as long as building its
        // rows again (seconds for 100k rows), during which the tail grows by all that is written. So while writes
        // keep arriving (entries landed during this pass), the namespace's parts may grow to maxPartsBehind before
        // a merge holds up the next pass; merges put off run once a publish finds nothing more written.
        const writing = () =>
          this.indexer.behind(o.ns).catch((e: Error) => {
            this.opts.log?.('indexer: could not list the WAL after a publish', { ns: o.ns, error: e.message });
            return false;
          });
        // Caught up: merge until nothing is crowded (merges put off while behind may be several), looking again
        // before each merge. Behind: one merge per publish, as a publish adds one part — except a sharded namespace
        // (RFC-0013), which merges one shard's run per call while a publish adds a part per shard: keep merging
        // (bounded) while runs are found, so every shard stays tiered.
        for (let round = 0; round < 64; round++) {
          const due = await writing();
          behind ||= due;
          const c = await compactNamespace(this.store, o.ns, {
            clock: systemClock,
            nonce: () => `${process.pid.toString(36)}${randomBytes(4).toString('hex')}`,
            maxParts,
            ...(due ? { onlyOver: this.opts.maxPartsBehind ?? 2 * maxParts } : {}),
            hnsw: this.opts.hnsw,
            partFormat: this.opts.partFormat,
            vectorIndex: this.opts.vectorIndex,
          });
          if (c.result === 'compacted') this.opts.log?.('compacted parts', { ns: o.ns, merged: c.merged.length, part: c.part.id, shard: c.part.shard, epoch: c.epoch });
          if (c.result !== 'compacted' || (due && c.part.shard === undefined)) break;
        }
      } catch (e) {
        this.opts.log?.('compaction failed', { ns: o.ns, error: (e as Error).message });
      }
    }
    if (n % (this.opts.gcEveryPasses ?? 120) === 0) {
      // Live namespaces, then the homes their borrowed parts come from (a deleted home is listed nowhere else, RFC-0011).
      const queue = [...new Set(outcomes.map((o) => o.ns))];
      const seen = new Set(queue);
      for (let i = 0; i < queue.length; i++) {
        const ns = queue[i]!;
        try {
          const r = await gcNamespace(this.store, ns, { clock: systemClock });
          for (const h of r.homes) if (!seen.has(h)) (seen.add(h), queue.push(h));
          if (r.wal_entries.length || r.parts.length || r.codebooks.length) this.opts.log?.('gc', { ns, wal_entries: r.wal_entries.length, parts: r.parts.length, codebooks: r.codebooks.length });
        } catch (e) {
          this.opts.log?.('gc failed', { ns, error: (e as Error).message });
        }
      }
    }
    return { behind };
  }

  start(): void {
    this.running ??= (async () => {
      for (let n = 1; !this.stopped; n++) {
        let behind = false;
        try {
          ({ behind } = await this.pass(n));
        } catch (e) {
          this.opts.log?.('indexer pass failed', { error: (e as Error).message });
        }
        // A namespace written to during its pass is looked at again at once, not after the interval.
        if (!this.stopped && !behind) await sleep(this.opts.intervalMs ?? 500);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
