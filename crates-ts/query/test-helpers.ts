/**
 * Test-only helpers for query/ tests: a fixed schema, document builders, and naive reference implementations
 * (full sort, no heap, no shared code with the module) that the randomized tests compare against.
 */
import type { AttrValue, Doc, Id, Schema, DistanceMetric } from '../core/index.js';
import type { PostingsFile } from '../fts/index.js';
import type { Release, Segment, SegmentNeed } from './segment.js';

export const DIMS = 4;

export const SCHEMA: Schema = {
  id: { type: 'uint' },
  vector: { type: `[${DIMS}]f32`, ann: true },
  color: { type: 'string', filterable: true },
  n: { type: 'int', filterable: true },
  price: { type: 'float', filterable: true },
  tags: { type: '[]string', filterable: true },
  title: {
    type: 'string',
    filterable: false,
    full_text_search: {
      language: 'english',
      stemming: false,
      remove_stopwords: false,
      case_sensitive: false,
      ascii_folding: false,
      max_token_length: 39,
      tokenizer: 'word_v3',
      k1: 1.2,
      b: 0.75,
    },
  },
};

export function doc(id: Id, vector: number[] | null, attrs: Record<string, AttrValue> = {}): Doc {
  return { id, vector: vector ? Float32Array.from(vector) : null, attrs };
}

export function naiveDistance(metric: DistanceMetric, a: Float32Array, b: Float32Array): number {
  if (metric === 'euclidean_squared') {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
    return s;
  }
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) ab += a[i]! * b[i]!;
  for (let i = 0; i < a.length; i++) aa += a[i]! * a[i]!;
  for (let i = 0; i < b.length; i++) bb += b[i]! * b[i]!;
  if (aa === 0 || bb === 0) return 1;
  return Math.min(2, Math.max(0, 1 - ab / (Math.sqrt(aa) * Math.sqrt(bb))));
}

export function naiveIdCmp(a: Id, b: Id): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** null/undefined lowest, then numbers/strings by natural order (the fixture never mixes types in one attribute). */
export function naiveValueCmp(a: unknown, b: unknown): number {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an && bn ? 0 : an ? -1 : 1;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** A tiny filter language the reference can evaluate without the filter module: Eq / In / Gte on attributes
 *  every fixture document has, combined with And / Or / Not. */
export type SimpleFilter =
  | ['color', 'Eq', string]
  | ['color', 'In', string[]]
  | ['n', 'Gte', number]
  | ['And', SimpleFilter[]]
  | ['Or', SimpleFilter[]]
  | ['Not', SimpleFilter];

export function naiveFilter(f: SimpleFilter, d: Doc): boolean {
  switch (f[1]) {
    case 'Eq':
      return d.attrs[f[0]] === f[2];
    case 'In':
      return (f[2] as unknown[]).includes(d.attrs[f[0]]);
    case 'Gte':
      return (d.attrs[f[0]] as number) >= (f[2] as number);
  }
  if (f[0] === 'And') return (f[1] as SimpleFilter[]).every((g) => naiveFilter(g, d));
  if (f[0] === 'Or') return (f[1] as SimpleFilter[]).some((g) => naiveFilter(g, d));
  return !naiveFilter(f[1] as SimpleFilter, d);
}

/**
 * A segment that answers only what its current prepares named (ids, attributes, postings), like a part read through
 * the caches: reading anything else throws. Subclasses see each prepare once recorded (onPrepare) and each release
 * once removed (onRelease).
 */
export class GuardedSegment implements Segment {
  protected readonly needs: SegmentNeed[] = [];

  constructor(protected readonly inner: Segment) {}

  get rows(): number {
    return this.inner.rows;
  }
  get dead(): Uint8Array | null {
    return this.inner.dead;
  }
  deadOrdinals(): readonly number[] {
    return this.inner.deadOrdinals();
  }

  protected onPrepare(_need: SegmentNeed): void {}
  protected onRelease(): void {}

  async prepare(need: SegmentNeed): Promise<Release> {
    this.needs.push(need);
    this.onPrepare(need);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.needs.splice(this.needs.indexOf(need), 1);
      this.onRelease();
    };
  }

  protected check(what: string, ok: (n: SegmentNeed) => boolean): void {
    if (!this.needs.some(ok)) throw new Error(`${what} read without being prepared`);
  }

  id(ord: number): Id {
    this.check('id', (n) => n.ids !== false);
    return this.inner.id(ord);
  }
  value(attr: string, ord: number): AttrValue | undefined {
    this.check(`attribute ${attr}`, (n) => n.attrs.includes(attr));
    return this.inner.value(attr, ord);
  }
  vectors() {
    return null;
  }
  docs(ords: readonly number[]) {
    return this.inner.docs(ords);
  }
  postings(attr: string, analysis: string): PostingsFile | null {
    this.check(`postings of ${attr}`, (n) => n.postings?.some((p) => p.attr === attr) === true);
    return this.inner.postings(attr, analysis);
  }
}
