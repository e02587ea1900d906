/**
 * The chaos loop: every few seconds one action — SIGKILL a server, SIGKILL an indexer, SIGTERM any process, or a
 * brief store outage at the proxy. Actions come from shuffled decks, so even a short run does each kind. A killed
 * process restarts 0.2-1.5 s later in the background, so an outage or another kill can hit a process while it
 * starts; only processes that are up (not restarting) are picked.
 */
import { rng } from '../lib.js';
import type { FaultProxy } from './fault-proxy.js';
import type { Slot, Supervisor } from './procs.js';

type ChaosAction = 'kill-server' | 'kill-indexer' | 'term-any' | 'outage';
const DECK: ChaosAction[] = ['kill-server', 'kill-server', 'kill-indexer', 'kill-indexer', 'term-any', 'outage'];

export interface ChaosCounts {
  sigkill: number;
  sigterm: number;
  outages: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

export class Chaos {
  readonly counts: ChaosCounts = { sigkill: 0, sigterm: 0, outages: 0 };
  private readonly random: () => number;
  private readonly restarting = new Map<Slot, Promise<void>>();

  constructor(
    private readonly sup: Supervisor,
    private readonly proxy: FaultProxy,
    seed: number,
    private readonly log: (line: string) => void,
  ) {
    this.random = rng(seed ^ 0x5eed);
  }

  /** Starts `slot` again after a short pause; a start that fails (an unexpected death, already recorded) is retried. */
  async restart(slot: Slot): Promise<void> {
    await sleep(200 + this.random() * 1300);
    for (let i = 0; i < 5 && !(await slot.start()); i++) await sleep(1000);
  }

  /** Runs actions every `everyMs` (uniform in [min, max]) for `durationMs`; resolves when every restart is done. */
  async run(durationMs: number, everyMs: [number, number]): Promise<void> {
    const end = Date.now() + durationMs;
    const deck: ChaosAction[] = [];
    while (Date.now() < end) {
      await sleep(Math.min(end - Date.now(), everyMs[0] + this.random() * (everyMs[1] - everyMs[0])));
      if (Date.now() >= end) break;
      if (deck.length === 0) deck.push(...shuffle([...DECK], this.random));
      this.act(deck.pop()!);
    }
    await Promise.all(this.restarting.values());
  }

  private act(action: ChaosAction): void {
    if (action === 'outage') {
      const ms = 1000 + this.random() * 3000;
      this.counts.outages++;
      this.log(`chaos: store outage ${Math.round(ms)} ms`);
      this.proxy.outage(ms);
      return;
    }
    const candidates =
      action === 'kill-server' ? this.sup.servers() : action === 'kill-indexer' ? this.sup.slots.filter((s) => s.spec.kind === 'indexer') : this.sup.slots;
    const up = candidates.filter((s) => s.alive && !this.restarting.has(s));
    if (up.length === 0) return;
    const slot = up[Math.floor(this.random() * up.length)]!;
    const signal = action === 'term-any' ? 'SIGTERM' : 'SIGKILL';
    this.counts[signal === 'SIGTERM' ? 'sigterm' : 'sigkill']++;
    this.log(`chaos: ${signal} ${slot.name} (pid ${slot.child?.pid})`);
    const done = (async () => {
      await slot.kill(signal);
      await this.restart(slot);
    })().finally(() => this.restarting.delete(slot));
    this.restarting.set(slot, done);
  }
}
