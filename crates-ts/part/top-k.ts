/**
 * Bounded top-k of (distance, ordinal), smallest first, ties by ordinal (rows are in id order, so this is the
 * query path's "ties by id"). Parallel typed arrays: a candidate that misses the cut costs one comparison.
 */
export interface OrdinalHit {
  ordinal: number;
  dist: number;
}

export class OrdinalTopK {
  private readonly dists: Float64Array;
  private readonly ords: Int32Array;
  private size = 0;

  constructor(private readonly k: number) {
    this.dists = new Float64Array(Math.max(k, 0));
    this.ords = new Int32Array(Math.max(k, 0));
  }

  private worse(da: number, oa: number, db: number, ob: number): boolean {
    return da > db || (da === db && oa > ob);
  }

  push(dist: number, ordinal: number): void {
    const k = this.k;
    if (k <= 0) return;
    const d = this.dists;
    const o = this.ords;
    if (this.size < k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(dist, ordinal, d[p]!, o[p]!)) break;
        d[i] = d[p]!;
        o[i] = o[p]!;
        i = p;
      }
      d[i] = dist;
      o[i] = ordinal;
      return;
    }
    if (!this.worse(d[0]!, o[0]!, dist, ordinal)) return;
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      if (l + 1 < n && this.worse(d[l + 1]!, o[l + 1]!, d[l]!, o[l]!)) c = l + 1;
      if (!this.worse(d[c]!, o[c]!, dist, ordinal)) break;
      d[i] = d[c]!;
      o[i] = o[c]!;
      i = c;
    }
    d[i] = dist;
    o[i] = ordinal;
  }

  /** The kept hits, best first. */
  sorted(): OrdinalHit[] {
    const out: OrdinalHit[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = { ordinal: this.ords[i]!, dist: this.dists[i]! };
    return out.sort(compareHits);
  }
}

export function compareHits(a: OrdinalHit, b: OrdinalHit): number {
  return a.dist - b.dist || a.ordinal - b.ordinal;
}
