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
  async pass(n: number): Promise<void> {
    const outcomes = await this.indexer.runOnce();
    for (const o of outcomes) {
      if (o.result !== 'published') continue;
      try {
        // A sharded namespace (RFC-0013) merges one shard's run per call, and a publish adds a part per shard: keep
        // merging (bounded) while runs are found, so every shard stays tiered.
        for (let round = 0; round < 64; round++) {
          const c = await compactNamespace(this.store, o.ns, {
            clock: systemClock,
            nonce: () => `${process.pid.toString(36)}${randomBytes(4).toString('hex')}`,
            maxParts: this.opts.maxParts ?? 8,
            hnsw: this.opts.hnsw,
            partFormat: this.opts.partFormat,
            vectorIndex: this.opts.vectorIndex,
          });
          if (c.result === 'compacted') this.opts.log?.('compacted parts', { ns: o.ns, merged: c.merged.length, part: c.part.id, shard: c.part.shard, epoch: c.epoch });
          if (c.result !== 'compacted' || c.part.shard === undefined) break;
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
  }

  start(): void {
    this.running ??= (async () => {
      for (let n = 1; !this.stopped; n++) {
        try {
          await this.pass(n);
        } catch (e) {
          this.opts.log?.('indexer pass failed', { error: (e as Error).message });
        }
        if (!this.stopped) await sleep(this.opts.intervalMs ?? 500);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
