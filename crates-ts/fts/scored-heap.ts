/**
 * Top-k of scored rows by score descending, ties by id ascending, the worst kept entry at the root. Entries keep
 * their ids: sources are scored one at a time and released, so an entry's source may be gone when a later candidate
 * ties with it.
 */
import { compareIds, type Id } from '../core/index.js';
import type { SourceHit } from './text-source.js';

/** What the scoring pass needs of its top-k (text-scorer.ts): ScoredHeap here, TiesHeap on a pool thread (part-task.ts). */
export interface TopHeap {
  /** The score a candidate must reach (pruning is strict: a bound below it is skipped). */
  readonly threshold: number;
  accepts(score: number, id: () => Id): boolean;
  push(s: SourceHit): void;
}

export class ScoredHeap implements TopHeap {
  readonly items: SourceHit[] = [];
  constructor(readonly k: number) {}

  private static worse(a: SourceHit, b: SourceHit): boolean {
    return a.score < b.score || (a.score === b.score && compareIds(a.id, b.id) > 0);
  }

  /** The score a candidate must reach (ties decided by id); -Infinity until full. */
  get threshold(): number {
    return this.items.length < this.k ? -Infinity : this.items[0]!.score;
  }

  /** Whether a row scoring `score` would enter; `id` is asked for only on a tie with the worst entry. */
  accepts(score: number, id: () => Id): boolean {
    if (this.items.length < this.k) return true;
    const w = this.items[0]!;
    return score > w.score || (score === w.score && compareIds(id(), w.id) < 0);
  }

  push(s: SourceHit): void {
    const h = this.items;
    const worse = ScoredHeap.worse;
    if (h.length < this.k) {
      h.push(s);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(h[i]!, h[p]!)) break;
        [h[i], h[p]] = [h[p]!, h[i]!];
        i = p;
      }
      return;
    }
    h[0] = s;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && worse(h[r]!, h[l]!) ? r : l;
      if (!worse(h[c]!, h[i]!)) break;
      [h[i], h[c]] = [h[c]!, h[i]!];
      i = c;
    }
  }
}
