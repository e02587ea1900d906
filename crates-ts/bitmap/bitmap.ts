/**
 * An immutable set of row ordinals in [0, universe), in the form each operation wants: a sorted Uint32Array while
 * sparse (lookups, merges, iterating few rows), dense Uint32Array words once it holds more than universe/32 rows
 * (wide and / or / andNot run word by word). Files hold the portable roaring format (portable.ts); this is the
 * in-memory side of RFC-0009 §1.
 */
import { deserializeSorted, serializeSorted } from './portable.js';

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export class Bitmap {
  private card: number;

  private constructor(
    readonly universe: number,
    private sorted: Uint32Array | null,
    private words: Uint32Array | null,
    card: number,
  ) {
    this.card = card;
  }

  static empty(universe: number): Bitmap {
    return new Bitmap(universe, new Uint32Array(0), null, 0);
  }

  /** Every ordinal of [0, universe). */
  static full(universe: number): Bitmap {
    return Bitmap.empty(universe).complement();
  }

  /** From ascending, distinct ordinals below `universe` (kept, not copied). */
  static fromSorted(universe: number, ords: Uint32Array): Bitmap {
    return new Bitmap(universe, ords, null, ords.length).compact();
  }

  /**
   * From distinct ordinals below `universe` in any order (a run of a sorted index: ordinals in value order): words
   * set directly when dense, else a sorted copy.
   */
  static fromUnsorted(universe: number, ords: ArrayLike<number>): Bitmap {
    const n = ords.length;
    if (n * 32 > universe) {
      const w = new Uint32Array((universe + 31) >>> 5);
      for (let i = 0; i < n; i++) w[ords[i]! >>> 5]! |= 1 << (ords[i]! & 31);
      return Bitmap.fromWords(universe, w, n);
    }
    const s = Uint32Array.from(ords);
    s.sort();
    return new Bitmap(universe, s, null, n).compact();
  }

  /** From a portable roaring serialization; throws RoaringFormatError, or RangeError for an ordinal ≥ universe. */
  static deserialize(universe: number, bytes: Uint8Array): Bitmap {
    const ords = deserializeSorted(bytes);
    if (ords.length > 0 && ords[ords.length - 1]! >= universe) throw new RangeError(`ordinal ${ords[ords.length - 1]} is outside [0, ${universe})`);
    return Bitmap.fromSorted(universe, ords);
  }

  /**
   * The union of many bitmaps over one universe in one pass (a leaf matching many dictionary values): into one word
   * buffer, or one sorted merge while the total stays sparse, instead of a new bitmap per pairwise `or`. `disjoint`:
   * the caller knows no row is in two of them (a scalar attribute's value bitmaps), so the count is the sum, not a
   * popcount of the words.
   */
  static union(universe: number, bitmaps: readonly Bitmap[], disjoint = false): Bitmap {
    let total = 0;
    for (const b of bitmaps) {
      if (b.universe !== universe) throw new RangeError(`bitmaps over different universes (${universe}, ${b.universe})`);
      total += b.card;
    }
    if (bitmaps.length === 1) return bitmaps[0]!;
    if (total * 32 <= universe) {
      const all = new Uint32Array(total);
      let at = 0;
      for (const b of bitmaps) {
        all.set(b.sorted!, at);
        at += b.card;
      }
      all.sort();
      let n = 0;
      for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[n++] = all[i]!;
      return new Bitmap(universe, all.subarray(0, n), null, n);
    }
    const w = new Uint32Array((universe + 31) >>> 5);
    for (const b of bitmaps) {
      if (b.words !== null) for (let i = 0; i < w.length; i++) w[i]! |= b.words[i]!;
      else {
        // Indexed, not for..of: a leaf over thousands of dictionary values lands here once per value.
        const s = b.sorted!;
        for (let i = 0; i < s.length; i++) w[s[i]! >>> 5]! |= 1 << (s[i]! & 31);
      }
    }
    return Bitmap.fromWords(universe, w, disjoint ? total : -1);
  }

  private static fromWords(universe: number, words: Uint32Array, card = -1): Bitmap {
    if (card < 0) {
      card = 0;
      for (let i = 0; i < words.length; i++) card += popcount(words[i]!);
    }
    return new Bitmap(universe, null, words, card).compact();
  }

  /** Dense when more than universe/32 rows are set (then the words are smaller than the array), else sorted. */
  private compact(): Bitmap {
    const dense = this.card * 32 > this.universe;
    if (dense && this.sorted !== null) {
      this.words = this.denseWords();
      this.sorted = null;
    } else if (!dense && this.words !== null) {
      this.sorted = this.toArray();
      this.words = null;
    }
    return this;
  }

  private denseWords(): Uint32Array {
    if (this.words !== null) return this.words;
    const w = new Uint32Array((this.universe + 31) >>> 5);
    const s = this.sorted!;
    for (let i = 0; i < s.length; i++) w[s[i]! >>> 5]! |= 1 << (s[i]! & 31);
    return w;
  }

  get cardinality(): number {
    return this.card;
  }

  has(ord: number): boolean {
    if (ord < 0 || ord >= this.universe) return false;
    if (this.words !== null) return (this.words[ord >>> 5]! & (1 << (ord & 31))) !== 0;
    const s = this.sorted!;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! < ord) lo = mid + 1;
      else hi = mid;
    }
    return lo < s.length && s[lo] === ord;
  }

  /** Members in [lo, hi) (a cluster's ordinal range: "does cluster c hold a match"). */
  rangeCardinality(lo: number, hi: number): number {
    lo = Math.max(0, lo);
    hi = Math.min(this.universe, hi);
    if (hi <= lo) return 0;
    if (this.sorted !== null) return lowerBound(this.sorted, hi) - lowerBound(this.sorted, lo);
    const w = this.words!;
    const a = lo >>> 5;
    const b = (hi - 1) >>> 5;
    const headMask = (~0 << (lo & 31)) >>> 0;
    const tailMask = (hi & 31) === 0 ? 0xffffffff : ((1 << (hi & 31)) - 1) >>> 0;
    if (a === b) return popcount(w[a]! & headMask & tailMask);
    let n = popcount(w[a]! & headMask) + popcount(w[b]! & tailMask);
    for (let i = a + 1; i < b; i++) n += popcount(w[i]!);
    return n;
  }

  /**
   * Members in [lo, hi), ascending, written to out[at, at + count) (room for hi − lo of them is the caller's); returns
   * the count. A cluster's ordinal run: which of its rows match (namespace/ivf-query.ts, into a query's arena: no
   * allocation per cluster).
   */
  selectRangeInto(lo: number, hi: number, out: Uint32Array, at: number): number {
    lo = Math.max(0, lo);
    hi = Math.min(this.universe, hi);
    if (hi <= lo) return 0;
    if (this.sorted !== null) {
      const s = this.sorted;
      const a = lowerBound(s, lo);
      const b = lowerBound(s, hi);
      for (let i = a; i < b; i++) out[at + i - a] = s[i]!;
      return b - a;
    }
    const w = this.words!;
    let n = at;
    const first = lo >>> 5;
    const last = (hi - 1) >>> 5;
    for (let i = first; i <= last; i++) {
      let x = w[i]!;
      if (i === first) x &= ~0 << (lo & 31);
      if (i === last && (hi & 31) !== 0) x &= (1 << (hi & 31)) - 1;
      while (x !== 0) {
        const t = x & -x;
        out[n++] = (i << 5) + (31 - Math.clz32(t));
        x ^= t;
      }
    }
    return n - at;
  }

  /** Ascending members (a copy when dense). */
  toArray(): Uint32Array {
    if (this.sorted !== null) return this.sorted;
    const out = new Uint32Array(this.card);
    const w = this.words!;
    let at = 0;
    for (let i = 0; i < w.length; i++) {
      let x = w[i]!;
      while (x !== 0) {
        const t = x & -x;
        out[at++] = (i << 5) + (31 - Math.clz32(t));
        x ^= t;
      }
    }
    return out;
  }

  /** One byte per ordinal of the universe, 1 for members (the filter masks scans test per row). */
  toByteMask(): Uint8Array {
    const out = new Uint8Array(this.universe);
    if (this.sorted !== null) {
      const s = this.sorted;
      for (let i = 0; i < s.length; i++) out[s[i]!] = 1;
      return out;
    }
    const w = this.words!;
    for (let i = 0; i < w.length; i++) {
      let x = w[i]!;
      while (x !== 0) {
        const t = x & -x;
        out[(i << 5) + (31 - Math.clz32(t))] = 1;
        x ^= t;
      }
    }
    return out;
  }

  forEach(f: (ord: number) => void): void {
    if (this.sorted !== null) for (let i = 0; i < this.sorted.length; i++) f(this.sorted[i]!);
    else {
      const w = this.words!;
      for (let i = 0; i < w.length; i++) {
        let x = w[i]!;
        while (x !== 0) {
          const t = x & -x;
          f((i << 5) + (31 - Math.clz32(t)));
          x ^= t;
        }
      }
    }
  }

  and(o: Bitmap): Bitmap {
    checkUniverse(this, o);
    if (this.sorted !== null || o.sorted !== null) {
      const [small, other] = this.sorted !== null && (o.sorted === null || this.card <= o.card) ? [this, o] : [o, this];
      const s = small.sorted!;
      const out = new Uint32Array(s.length);
      let n = 0;
      if (other.sorted !== null) {
        const t = other.sorted;
        let j = 0;
        for (let i = 0; i < s.length && j < t.length; i++) {
          const v = s[i]!;
          while (j < t.length && t[j]! < v) j++;
          if (j < t.length && t[j] === v) out[n++] = v;
        }
      } else {
        const w = other.words!;
        for (let i = 0; i < s.length; i++) if ((w[s[i]! >>> 5]! & (1 << (s[i]! & 31))) !== 0) out[n++] = s[i]!;
      }
      return new Bitmap(this.universe, out.subarray(0, n), null, n);
    }
    const a = this.words!;
    const b = o.words!;
    const w = new Uint32Array(a.length);
    for (let i = 0; i < a.length; i++) w[i] = a[i]! & b[i]!;
    return Bitmap.fromWords(this.universe, w);
  }

  or(o: Bitmap): Bitmap {
    checkUniverse(this, o);
    if (this.card === 0) return o;
    if (o.card === 0) return this;
    if (this.sorted !== null && o.sorted !== null && (this.card + o.card) * 32 <= this.universe) {
      const a = this.sorted;
      const b = o.sorted;
      const out = new Uint32Array(a.length + b.length);
      let i = 0;
      let j = 0;
      let n = 0;
      while (i < a.length || j < b.length) {
        if (j >= b.length || (i < a.length && a[i]! < b[j]!)) out[n++] = a[i++]!;
        else if (i >= a.length || b[j]! < a[i]!) out[n++] = b[j++]!;
        else {
          out[n++] = a[i++]!;
          j++;
        }
      }
      return new Bitmap(this.universe, out.subarray(0, n), null, n);
    }
    const w = this.denseWords().slice();
    if (o.words !== null) for (let i = 0; i < w.length; i++) w[i]! |= o.words[i]!;
    else for (const v of o.sorted!) w[v >>> 5]! |= 1 << (v & 31);
    return Bitmap.fromWords(this.universe, w);
  }

  andNot(o: Bitmap): Bitmap {
    checkUniverse(this, o);
    if (this.card === 0 || o.card === 0) return this;
    if (this.sorted !== null) {
      const s = this.sorted;
      const out = new Uint32Array(s.length);
      let n = 0;
      for (let i = 0; i < s.length; i++) if (!o.has(s[i]!)) out[n++] = s[i]!;
      return new Bitmap(this.universe, out.subarray(0, n), null, n);
    }
    const w = this.words!.slice();
    if (o.words !== null) for (let i = 0; i < w.length; i++) w[i]! &= ~o.words[i]!;
    else for (const v of o.sorted!) w[v >>> 5]! &= ~(1 << (v & 31));
    return Bitmap.fromWords(this.universe, w);
  }

  /** [0, universe) minus this. */
  complement(): Bitmap {
    const w = this.denseWords().slice();
    for (let i = 0; i < w.length; i++) w[i] = ~w[i]!;
    const tail = this.universe & 31;
    if (tail !== 0 && w.length > 0) w[w.length - 1]! &= (1 << tail) - 1;
    return Bitmap.fromWords(this.universe, w, this.universe - this.card);
  }

  /** The portable roaring serialization (CRoaring-compatible). */
  serialize(): Uint8Array {
    return serializeSorted(this.toArray());
  }
}

function checkUniverse(a: Bitmap, b: Bitmap): void {
  if (a.universe !== b.universe) throw new RangeError(`bitmaps over different universes (${a.universe}, ${b.universe})`);
}

function lowerBound(s: Uint32Array, v: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
