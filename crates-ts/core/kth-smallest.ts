/**
 * The k-th smallest of a stream of numbers, as a binary max-heap of the k smallest: the bound a top-k scan prunes
 * by (query/code-scan.ts: the k-th smallest upper bound of a tail scan; ivf/search.ts: of a cluster scan). NaN is
 * never kept.
 */
/** The k-th smallest of the values offered (Infinity until k were): a max-heap of the k smallest. */
export class KthSmallest {
  private readonly h: Float64Array;
  private size = 0;

  constructor(private readonly k: number) {
    this.h = new Float64Array(Math.max(k, 0));
  }

  /** Whether k values were offered (k > 0). */
  get full(): boolean {
    return this.k > 0 && this.size >= this.k;
  }

  /** Infinity until k values were offered (and always when k ≤ 0: nothing to bound by). */
  get bound(): number {
    return this.size < this.k || this.k <= 0 ? Infinity : this.h[0]!;
  }

  offer(v: number): void {
    const { h, k } = this;
    if (k <= 0 || v !== v) return; // NaN bounds nothing: leaving it out only prunes less
    if (this.size < k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p]! >= v) break;
        h[i] = h[p]!;
        i = p;
      }
      h[i] = v;
      return;
    }
    if (!(v < h[0]!)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= k) break;
      const rr = l + 1;
      const c = rr < k && h[rr]! > h[l]! ? rr : l;
      if (h[c]! <= v) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = v;
  }
}
