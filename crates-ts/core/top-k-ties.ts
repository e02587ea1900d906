/**
 * A top k with its ties, for answers that cross from a pool thread and are merged into the caller's top k by id
 * (query/pool-scan.ts ranks distances, fts/part-task.ts scores by their negation): the ids are not known where it
 * runs, so every row tied with the k-th must come back.
 */

/**
 * The k smallest distances seen, and every offer tied with the k-th: a max-heap of k, and the ties beside it (an
 * offer equal to the worst, or a row the heap evicts that equals the new worst). Only the ties still equal to the
 * final worst are kept.
 */
export class TopKTies {
  private readonly d: Float64Array;
  private readonly o: Int32Array;
  private size = 0;
  private readonly tieD: number[] = [];
  private readonly tieO: number[] = [];

  constructor(private readonly k: number) {
    this.d = new Float64Array(Math.max(k, 0));
    this.o = new Int32Array(Math.max(k, 0));
  }

  /** The distance an offer must not exceed to be kept (Infinity until k are held). */
  get bound(): number {
    return this.size < this.k ? Infinity : this.d[0]!;
  }

  offer(dist: number, ord: number): void {
    const k = this.k;
    if (k <= 0 || Number.isNaN(dist)) return;
    const { d, o } = this;
    if (this.size < k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (d[p]! >= dist) break;
        d[i] = d[p]!;
        o[i] = o[p]!;
        i = p;
      }
      d[i] = dist;
      o[i] = ord;
      return;
    }
    const worst = d[0]!;
    if (dist > worst) return;
    if (dist === worst) {
      this.tieD.push(dist);
      this.tieO.push(ord);
      return;
    }
    const evictedD = worst;
    const evictedO = o[0]!;
    // Sift the new entry down from the root.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= k) break;
      const r = l + 1;
      const c = r < k && d[r]! > d[l]! ? r : l;
      if (d[c]! <= dist) break;
      d[i] = d[c]!;
      o[i] = o[c]!;
      i = c;
    }
    d[i] = dist;
    o[i] = ord;
    if (evictedD === d[0]!) {
      this.tieD.push(evictedD);
      this.tieO.push(evictedO);
    }
  }

  result(): { ords: Int32Array; dists: Float64Array } {
    const worst = this.size < this.k ? Infinity : this.d[0]!;
    let ties = 0;
    for (const t of this.tieD) if (t <= worst) ties++;
    const ords = new Int32Array(this.size + ties);
    const dists = new Float64Array(this.size + ties);
    ords.set(this.o.subarray(0, this.size));
    dists.set(this.d.subarray(0, this.size));
    let j = this.size;
    for (let t = 0; t < this.tieD.length; t++) {
      if (this.tieD[t]! > worst) continue;
      ords[j] = this.tieO[t]!;
      dists[j++] = this.tieD[t]!;
    }
    return { ords, dists };
  }
}
