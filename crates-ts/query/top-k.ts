/**
 * Bounded top-k selection: O(n log k) instead of sorting all n candidates. The heap keeps the k best seen so far
 * with the worst at the root, so a candidate that cannot make the cut costs one comparison and no allocation.
 */
import type { Doc } from '../core/index.js';
import { compareIds } from './compare.js';
import type { Scored } from './types.js';

/** Top-k by a numeric key, smallest first, ties by id ascending. Parallel arrays: no object per candidate. */
export class ScoreTopK {
  private readonly keys: Float64Array;
  private readonly docs: Doc[];
  private size = 0;

  constructor(private readonly k: number) {
    this.keys = new Float64Array(Math.max(k, 0));
    this.docs = new Array<Doc>(Math.max(k, 0));
  }

  /** True when (ka, da) ranks strictly after (kb, db). */
  private worse(ka: number, da: Doc, kb: number, db: Doc): boolean {
    return ka > kb || (ka === kb && compareIds(da.id, db.id) > 0);
  }

  /** The key a candidate must beat to enter (Infinity until the heap is full). */
  get threshold(): number {
    return this.size < this.k ? Infinity : this.keys[0]!;
  }

  push(key: number, doc: Doc): void {
    const k = this.k;
    if (k <= 0) return;
    if (this.size < k) {
      let i = this.size++;
      // sift up: parents must be worse than (or equal to) children
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(key, doc, this.keys[p]!, this.docs[p]!)) break;
        this.keys[i] = this.keys[p]!;
        this.docs[i] = this.docs[p]!;
        i = p;
      }
      this.keys[i] = key;
      this.docs[i] = doc;
      return;
    }
    if (!this.worse(this.keys[0]!, this.docs[0]!, key, doc)) return;
    this.siftDown(key, doc);
  }

  private siftDown(key: number, doc: Doc): void {
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      const r = l + 1;
      if (r < n && this.worse(this.keys[r]!, this.docs[r]!, this.keys[l]!, this.docs[l]!)) c = r;
      if (!this.worse(this.keys[c]!, this.docs[c]!, key, doc)) break;
      this.keys[i] = this.keys[c]!;
      this.docs[i] = this.docs[c]!;
      i = c;
    }
    this.keys[i] = key;
    this.docs[i] = doc;
  }

  /** The kept candidates, best first. */
  sorted(): Scored[] {
    const out: Scored[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = { doc: this.docs[i]!, score: this.keys[i]! };
    out.sort((a, b) => a.score - b.score || compareIds(a.doc.id, b.doc.id));
    return out;
  }
}

/** Top-k under an arbitrary comparator (negative: a ranks first). Used for attribute order. */
export class TopK<T> {
  private readonly items: T[] = [];

  constructor(
    private readonly k: number,
    private readonly cmp: (a: T, b: T) => number,
  ) {}

  push(x: T): void {
    const { items, k, cmp } = this;
    if (k <= 0) return;
    if (items.length < k) {
      let i = items.length;
      items.push(x);
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (cmp(x, items[p]!) <= 0) break;
        items[i] = items[p]!;
        i = p;
      }
      items[i] = x;
      return;
    }
    if (cmp(x, items[0]!) >= 0) return;
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      if (l + 1 < n && cmp(items[l + 1]!, items[l]!) > 0) c = l + 1;
      if (cmp(items[c]!, x) <= 0) break;
      items[i] = items[c]!;
      i = c;
    }
    items[i] = x;
  }

  /** The entry a candidate must beat, once the heap is full (undefined before). */
  worst(): T | undefined {
    return this.items.length < this.k ? undefined : this.items[0];
  }

  sorted(): T[] {
    return this.items.slice().sort(this.cmp);
  }
}
