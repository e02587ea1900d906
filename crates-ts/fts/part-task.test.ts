/**
 * BM25 over parts as a pool task (part-task.ts) against scoring every part on the calling thread: random parts of two
 * text attributes (missing values, skewed words, duplicated texts: ties), random dead rows, filters, rank expressions
 * (one term, repeated terms, a prefix, Sum of clauses, positive Product, Max, Product 0 and a negative weight), k from
 * 1 to past the matches, some parts scored here first (the task starts from their threshold), others handed over: the
 * same rows with the same scores, bit for bit, in the same order. Then on a real pool thread, and cancellation.
 */
import { describe, expect, it } from 'vitest';
import type { Doc } from '../core/index.js';
import { seededRandom } from '../ivf/index.js';
import { createPool } from '../pool/index.js';
import { gatedPool, runAndCancel } from '../pool/gated-test-helpers.js';
import { DEFAULT_FULL_TEXT_CONFIG } from './config.js';
import { analyzerFor } from './analyzer.js';
import { isTextValue } from './doc-terms.js';
import { buildPostings, PostingsFile } from './postings.js';
import { compileTextRank, type TextRankExpr } from './score.js';
import { scoreBm25Part, TiesHeap, type Bm25PartInput, type Bm25PartOutput } from './part-task.js';
import type { SourceHit, TextSource } from './text-source.js';

const config = DEFAULT_FULL_TEXT_CONFIG;
const analyzer = analyzerFor(config);
const WORDS = ['fox', 'dog', 'quick', 'lazy', 'jumps', 'over', 'brown', 'red', 'foxes', 'fog', 'quiet', 'river'];
const FIXED = ['quick fox', 'lazy dog', 'fox dog fox', 'red river', 'quick'];

interface Part {
  docs: Doc[];
  files: Record<'a' | 'b', PostingsFile>;
  dead: Uint8Array | null;
  deadOrds: number[];
  idBase: number;
}

function makePart(rand: () => number, n: number, idBase: number, shared = true): Part {
  const text = () => {
    if (rand() < 0.25) return FIXED[Math.floor(rand() * FIXED.length)]!; // duplicates: equal scores
    const len = 1 + Math.floor(rand() * 8);
    return Array.from({ length: len }, () => WORDS[Math.floor(rand() * rand() * WORDS.length)]!).join(' ');
  };
  const docs: Doc[] = Array.from({ length: n }, (_, o) => ({ id: idBase + o, vector: null, attrs: { ...(rand() < 0.9 ? { a: text() } : {}), ...(rand() < 0.8 ? { b: text() } : {}) } }));
  const file = (attr: 'a' | 'b') => {
    const read = (d: Doc) => {
      const v = d.attrs[attr];
      return v !== null && v !== undefined && isTextValue(v) ? analyzer.tokens(v) : null;
    };
    return new PostingsFile(buildPostings(docs, attr, analyzer, read), attr, null, { shared });
  };
  const deadOrds: number[] = [];
  const dead = rand() < 0.3 ? null : new Uint8Array(n);
  if (dead) for (let o = 0; o < n; o++) if (rand() < 0.15) (dead[o] = 1), deadOrds.push(o);
  return { docs, files: { a: file('a'), b: file('b') }, dead, deadOrds, idBase };
}

/** A filter as a byte per row (what a filter index's exact mask gives), and the closure scoring here tests. */
type Allow = Uint8Array | null;
const closure = (allow: Allow) => (allow === null ? null : (o: number) => allow[o] === 1);

function source(p: Part, filter: ((o: number) => boolean) | null): TextSource {
  return {
    rows: p.docs.length,
    postings: (attr) => p.files[attr as 'a' | 'b'] ?? null,
    dead: p.dead,
    deadOrdinals: p.deadOrds,
    id: (o) => p.idBase + o,
    value: (attr, o) => p.docs[o]!.attrs[attr],
    filter,
  };
}

const bm25 = (attr: string, q: string, prefix: string | null = null): TextRankExpr => ({ kind: 'bm25', attr, config, query: { terms: analyzer.tokens(q), prefix } });

function randomExpr(rand: () => number): TextRankExpr {
  const words = () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => WORDS[Math.floor(rand() * WORDS.length)]!).join(' ');
  const prefix = () => (rand() < 0.3 ? ['fo', 'qu', 'r', 'zz'][Math.floor(rand() * 4)]! : null);
  switch (Math.floor(rand() * 7)) {
    case 0:
      return bm25('a', WORDS[Math.floor(rand() * 3)]!); // one term: the single-list path
    case 1:
      return bm25('a', words(), prefix());
    case 2:
      return { kind: 'sum', children: [bm25('a', words(), prefix()), bm25('b', words())] };
    case 3:
      return { kind: 'product', weight: 0.5 + rand() * 3, child: bm25('b', words(), prefix()) };
    case 4:
      return { kind: 'max', children: [bm25('a', words()), bm25('b', words())] };
    case 5:
      return { kind: 'sum', children: [{ kind: 'product', weight: 0, child: bm25('a', words()) }, bm25('b', words())] };
    default:
      return { kind: 'sum', children: [{ kind: 'product', weight: -1, child: bm25('a', words()) }, bm25('a', words(), prefix())] };
  }
}

const shown = (hits: SourceHit[]) =>
  [...hits].sort((x, y) => y.score - x.score || (x.id as number) - (y.id as number)).map((h) => `${h.source}/${h.ord}/${String(h.id)}:${h.score}`);

/** Both passes over `parts`; `handOff(s)`: hand part s to `via` (its answer offered after every other part). */
function run(expr: TextRankExpr, parts: Part[], filters: Allow[], k: number, handOff: (s: number) => boolean, via: (i: Bm25PartInput) => Bm25PartOutput) {
  const r = compileTextRank(expr).stream(k);
  const srcs = parts.map((p, s) => source(p, closure(filters[s]!)));
  srcs.forEach((src, s) => r.addStatistics(s, src));
  r.finishStatistics();
  const later: { s: number; out: Bm25PartOutput }[] = [];
  let pooled = 0;
  srcs.forEach((src, s) => {
    if (r.scoredFrom(s) === null) return;
    if (handOff(s)) {
      const input = r.pooledInput(s, src, 0, null, filters[s]!);
      if (input !== null) {
        pooled++;
        later.push({ s, out: via(input) });
        return;
      }
    }
    r.score(s, src);
  });
  for (const { s, out } of later) r.offerPooled(s, srcs[s]!, out);
  return { hits: shown(r.results()), pooled };
}

function scenario(seed: number) {
  const rand = seededRandom(seed);
  const parts = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) => makePart(rand, 20 + Math.floor(rand() * 400), i * 1000));
  const filters = parts.map((p): Allow => {
    const r = rand();
    const salt = Math.floor(rand() * 5);
    if (r < 0.5) return null;
    return Uint8Array.from(p.docs, (_, o) => (r < 0.8 ? (o + salt) % 3 !== 0 : (o * 7 + salt) % 11 < 2) ? 1 : 0);
  });
  const k = [1, 2, 3, 5, 10, 50, 1000][Math.floor(rand() * 7)]!;
  const mask = Math.floor(rand() * 8);
  return { expr: randomExpr(rand), parts, filters, k, handOff: (s: number) => ((mask >> s) & 1) === 1 || s > 2 };
}

describe('PostingsFile in shared memory (PostingsOptions.shared)', () => {
  it('holds the same row lengths and lists in SharedArrayBuffers, and counts the row-length copy', () => {
    const rand = seededRandom(41);
    const docs: Doc[] = Array.from({ length: 1000 }, (_, o) => ({ id: o, vector: null, attrs: { a: Array.from({ length: 1 + Math.floor(rand() * 6) }, () => WORDS[Math.floor(rand() * WORDS.length)]!).join(' ') } }));
    const bytes = buildPostings(docs, 'a', analyzer, (d) => analyzer.tokens(d.attrs.a as string));
    const plain = new PostingsFile(bytes, 'a');
    const shared = new PostingsFile(bytes, 'a', null, { shared: true });
    expect(plain.shared).toBe(false);
    expect(shared.docLens.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(plain.docLens.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(shared.docLens)).toEqual(Array.from(plain.docLens));
    expect(shared.memoryBytes() - plain.memoryBytes()).toBe(4 * 1000);
    for (const w of WORDS) {
      const t = plain.lookup(w);
      expect(shared.lookup(w)).toBe(t);
      if (t < 0) continue;
      const [p, q] = [plain.list(t), shared.list(t)];
      expect(q.ords.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(q.tfs.buffer).toBe(q.ords.buffer); // one buffer per list
      expect([Array.from(q.ords), Array.from(q.tfs)]).toEqual([Array.from(p.ords), Array.from(p.tfs)]);
    }
    expect(shared.memoryBytes() - plain.memoryBytes()).toBe(4 * 1000); // lists: the same bytes either way
  });
});

describe('TiesHeap', () => {
  it('keeps the k best offers and every offer tied with the k-th, none below the floor', () => {
    const rand = seededRandom(3);
    for (let round = 0; round < 300; round++) {
      const k = 1 + Math.floor(rand() * 10);
      const floor = rand() < 0.5 ? -Infinity : Math.floor(rand() * 4) / 4;
      const offers = Array.from({ length: Math.floor(rand() * 60) }, (_, o) => ({ o, s: Math.floor(rand() * 5) / 4 }));
      const heap = new TiesHeap(k, floor);
      for (const x of offers) heap.offer(x.s, x.o);
      const kept = offers.filter((x) => x.s >= floor).sort((a, b) => b.s - a.s);
      const kth = kept.length >= k ? kept[k - 1]!.s : -Infinity;
      const want = kept.filter((x) => x.s >= kth).map((x) => `${x.o}:${x.s}`).sort();
      const r = heap.result();
      expect(Array.from(r.ords, (o, j) => `${o}:${r.scores[j]}`).sort(), `round ${round}`).toEqual(want);
    }
  });
});

describe('BM25 over parts as a pool task', () => {
  it('answers what scoring every part here answers, for random parts, queries, filters, dead rows and k', () => {
    let pooled = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const sc = scenario(seed);
      const inline = run(sc.expr, sc.parts, sc.filters, sc.k, () => false, scoreBm25Part);
      const viaTask = run(sc.expr, sc.parts, sc.filters, sc.k, sc.handOff, (i) => scoreBm25Part(structuredClone(i)));
      expect(viaTask.hits, `seed ${seed}`).toEqual(inline.hits);
      pooled += viaTask.pooled;
    }
    expect(pooled).toBeGreaterThan(200); // most scenarios handed a part over
  });

  it('hands over only shared postings of a plain BM25 expression, and only from minPostings postings', () => {
    const rand = seededRandom(77);
    const shared = makePart(rand, 300, 0);
    const plain = makePart(rand, 300, 1000, false);
    const input = (p: Part, expr: TextRankExpr, min = 0) => {
      const r = compileTextRank(expr).stream(10);
      r.addStatistics(0, source(p, null));
      r.finishStatistics();
      return r.pooledInput(0, source(p, null), min, null);
    };
    const q = bm25('a', 'fox dog');
    const got = input(shared, q)!;
    expect(got).not.toBeNull();
    const postings = shared.files.a.df[shared.files.a.lookup('fox')]! + shared.files.a.df[shared.files.a.lookup('dog')]!;
    expect(input(shared, q, postings)).not.toBeNull();
    expect(input(shared, q, postings + 1)).toBeNull();
    expect(input(plain, q)).toBeNull(); // lists in ordinary ArrayBuffers: scored here
    // A filter that reads rows (no mask to send): scored here.
    const r = compileTextRank(q).stream(10);
    r.addStatistics(0, source(shared, (o) => o % 2 === 0));
    r.finishStatistics();
    expect(r.pooledInput(0, source(shared, (o) => o % 2 === 0), 0, null)).toBeNull();
    expect(r.pooledInput(0, source(shared, (o) => o % 2 === 0), 0, null, Uint8Array.from({ length: 300 }, (_, o) => (o % 2 === 0 ? 1 : 0)))).not.toBeNull();
    // A general expression (Saturate) reads rows: scored here.
    expect(input(shared, { kind: 'saturate', child: q, midpoint: 1, exponent: 1 })).toBeNull();
    // Row lengths and lists are in shared memory (posted, not copied).
    for (const l of got.lens) expect(l.buffer).toBeInstanceOf(SharedArrayBuffer);
    for (const l of got.leaves) if (l !== null && 'list' in l) expect(l.list.ords.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('stops when its cancel flag is set', () => {
    const sc = scenario(9);
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(cancel, 0, 1);
    let seen = 0;
    run(bm25('a', 'fox dog quick'), sc.parts, sc.parts.map(() => null), 5, () => true, (i) => {
      const out = scoreBm25Part({ ...i, cancel });
      expect(out.cancelled).toBe(true);
      expect(out.ords.length).toBe(0);
      seen++;
      return out;
    });
    expect(seen).toBe(sc.parts.length);
  });

  it('a flag set during scoring stops it within 4,096 postings', () => {
    const rand = seededRandom(13);
    const p = makePart(rand, 20_000, 0);
    const r = compileTextRank(bm25('a', 'fox')).stream(3);
    r.addStatistics(0, source(p, null));
    r.finishStatistics();
    const input = r.pooledInput(0, source(p, null), 0, new Int32Array(new SharedArrayBuffer(4)))!;
    // The flag is set by the filter's look at the 5,000th row: the scorer sees it at its next check.
    let calls = 0;
    const leafList = (input.leaves[0] as { list: { ords: Uint32Array } }).list;
    expect(leafList.ords.length).toBeGreaterThan(8192);
    const skip = new Proxy(new Uint8Array(20_000), {
      get(t, prop) {
        if (prop === 'length') return t.length;
        if (typeof prop === 'string' && /^\d+$/.test(prop)) {
          if (++calls === 5000) Atomics.store(input.cancel!, 0, 1);
          return t[Number(prop)];
        }
        return Reflect.get(t, prop, t);
      },
    });
    const out = scoreBm25Part({ ...input, skip });
    expect(out.cancelled).toBe(true);
    expect(calls).toBeLessThan(5000 + 4096 + 1);
  });
});

describe('bm25-part on a pool thread', () => {
  const now = () => performance.now();

  it('answers on the thread what scoring here answers, reading the shared lists in place', async () => {
    const pool = createPool({ threads: 1, now });
    try {
      await pool.ready();
      const outs = new Map<number, Bm25PartOutput>();
      for (let seed = 500; seed <= 530; seed++) {
        const sc = scenario(seed);
        const inline = run(sc.expr, sc.parts, sc.filters, sc.k, () => false, scoreBm25Part);
        // First collect the inputs, run them on the thread, then replay with the thread's answers.
        const inputs: Bm25PartInput[] = [];
        run(sc.expr, sc.parts, sc.filters, sc.k, sc.handOff, (i) => (inputs.push(i), scoreBm25Part(i)));
        outs.clear();
        for (let j = 0; j < inputs.length; j++) outs.set(j, await pool.run('bm25-part', inputs[j]!));
        let j = 0;
        const viaThread = run(sc.expr, sc.parts, sc.filters, sc.k, sc.handOff, () => outs.get(j++)!);
        expect(viaThread.hits, `seed ${seed}`).toEqual(inline.hits);
      }
      expect(pool.stats().byKind['bm25-part'].tasks).toBeGreaterThan(20);
      expect(pool.stats().byKind['bm25-part'].errors).toBe(0);
      expect(pool.stats().fallbacks + pool.stats().coldInline).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('a cancelled task frees its thread: the next task runs, and no thread is replaced', async () => {
    // The gated entry holds the first task with a cancel flag until the flag is set (or 60 s).
    const pool = await gatedPool(now);
    try {
      const sc = scenario(21);
      const inputs: Bm25PartInput[] = [];
      run(bm25('a', 'fox dog'), sc.parts, sc.parts.map(() => null), 5, () => true, (i) => (inputs.push(i), scoreBm25Part(i)));
      const input = inputs[0]!;
      await runAndCancel(pool, 'bm25-part', input);
      const next = await pool.run('bm25-part', { ...input, cancel: new Int32Array(new SharedArrayBuffer(4)) });
      const want = scoreBm25Part(input);
      expect(Array.from(next.ords).sort()).toEqual(Array.from(want.ords).sort());
      expect(pool.stats().byKind['bm25-part']).toMatchObject({ tasks: 2, cancelled: 1, errors: 1 });
      expect(pool.stats().fallbacks).toBe(0);
    } finally {
      await pool.close();
    }
  }, 30_000);
});
