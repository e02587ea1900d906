/** Runs an Indexer pass every `intervalMs` until stopped. */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { systemClock } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { Indexer, type IndexerOptions } from './indexer.js';

export interface LoopOptions extends Partial<IndexerOptions> {
  intervalMs?: number;
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

  constructor(store: ObjectStore, private readonly opts: LoopOptions = {}) {
    this.indexer = makeIndexer(store, opts);
  }

  start(): void {
    this.running ??= (async () => {
      while (!this.stopped) {
        try {
          await this.indexer.runOnce();
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
