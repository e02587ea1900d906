/**
 * NamespaceView.applyOps: a replay that stops inside entries (catalog.ts replayCached folds a large entry in slices)
 * gives the view folding every entry whole gives: random entries of upserts (new and repeated ids, text, vectors) and
 * deletes, random stopping points.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RouterStore, type Router } from '../router/index.js';
import { Witness } from '../store/index.js';
import type { WalEntry, WalOp } from '../wal/index.js';
import { analyzerFor, DEFAULT_FULL_TEXT_CONFIG } from '../fts/index.js';
import { DEFAULT_FOLD_SLICE, NamespaceView } from './view.js';

const router: Router = { ...RouterStore.initial('ns', 1, new Date(0).toISOString()), format_version: 2 };
const analyzer = analyzerFor(DEFAULT_FULL_TEXT_CONFIG);
const WORDS = ['fox', 'dog', 'red', 'the'];

const op: fc.Arbitrary<WalOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({ id: fc.integer({ min: 0, max: 40 }), w: fc.array(fc.constantFrom(...WORDS), { maxLength: 4 }), v: fc.integer({ min: -5, max: 5 }) })
      .map(({ id, w, v }) => ({ kind: 'upsert' as const, doc: { id, vector: Float32Array.from([v, 1]), attrs: { text: w.join(' '), n: v } } })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map((id) => ({ kind: 'delete' as const, id })) },
);

function entries(opsPerEntry: WalOp[][]): WalEntry[] {
  return opsPerEntry.map((ops, i) => ({
    seq: i + 1,
    meta: { format_version: 1, namespace: 'ns', committed_at: 1000 + i, requests: 1, ...(i === 0 ? { idempotency_keys: [`k${i}`] } : {}) },
    ops,
  }));
}

/** A view that folds every entry in one piece (apply never slices it). */
function wholeView(): NamespaceView {
  const v = new NamespaceView(router, Witness.neverMatches(), [], []);
  v.foldSlice = { ms: Infinity, ops: 1 << 30 };
  return v;
}

/** What a query sees of a view's tail: the live rows of its last segment, in WAL order. */
async function visible(v: NamespaceView) {
  const tail = v.segments().at(-1)!;
  const ords: number[] = [];
  for (let o = 0; o < tail.rows; o++) if (tail.dead?.[o] !== 1) ords.push(o);
  return (await tail.docs(ords)).map((d) => ({ id: d.id, vector: Array.from(d.vector ?? []), attrs: d.attrs }));
}

function state(v: NamespaceView) {
  const ix = v.tailRows.loosePostings('text', analyzer);
  return {
    head: v.headSeq,
    updatedAt: v.updatedAt,
    tail: v.tail.map((t) => ({ ...t })),
    keys: [...v.idempotencyKeys],
    rows: v.tailRows.rows,
    live: v.tailRows.liveRows,
    dead: Array.from(v.tailRows.dead ?? []),
    docs: [...v.tailRows.liveDocs()].map((d) => ({ id: d.id, vector: Array.from(d.vector ?? []), attrs: d.attrs })),
    fox: ix.list('fox'),
    tokens: ix.tokensBefore(ix.rows),
  };
}

describe('NamespaceView.applyOps', () => {
  it('should fold entries stopped at random operations like whole entries', () => {
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 700, size: 'max' }), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }), (ops, stops) => {
        const es = entries(ops);
        const whole = wholeView();
        whole.tailRows.loosePostings('text', analyzer);
        for (const e of es) whole.apply(e, 10);
        const sliced = new NamespaceView(router, Witness.neverMatches(), [], []);
        sliced.tailRows.loosePostings('text', analyzer);
        let k = 0;
        let resumed = 0;
        let stopped = 0;
        const stop = () => {
          const yes = stops[k++ % stops.length]!;
          if (yes) stopped++;
          return yes;
        };
        for (const e of es) {
          for (let at = 0; ; ) {
            at = sliced.applyOps(e, 10, at, stop);
            if (at >= e.ops.length) break;
            resumed++;
            expect(sliced.headSeq).toBe(e.seq - 1); // not recorded until its last operation is folded
          }
        }
        expect(resumed).toBe(stopped); // every stop left the entry unfinished, and it was resumed
        expect(state(sliced)).toEqual(state(whole));
        // Folding an entry again is ignored, whole or from its start.
        expect(sliced.applyOps(es[0]!, 10, 0, stop)).toBe(es[0]!.ops.length);
        expect(state(sliced)).toEqual(state(whole));
      }),
      // Entries of hundreds of operations: shrinking them would take minutes; the seed reproduces a failure.
      { numRuns: 40, endOnFailure: true },
    );
  });

  it('should refuse to resume an entry it did not start', () => {
    const v = new NamespaceView(router, Witness.neverMatches(), [], []);
    const [e] = entries([[{ kind: 'delete', id: 1 }, { kind: 'delete', id: 2 }]]);
    expect(() => v.applyOps(e!, 0, 1, null)).toThrow(/without its start/);
  });
});

describe('NamespaceView.apply in slices', () => {
  it('should show only whole entries while it folds, and everything once settled', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { maxLength: 120 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 40 }), async (ops, sliceOps) => {
        const es = entries(ops);
        // What a query must see after the first j entries: a view folding them whole.
        const ref = wholeView();
        const after: Awaited<ReturnType<typeof visible>>[] = [await visible(ref)];
        for (const e of es) {
          ref.apply(e, 10);
          after.push(await visible(ref));
        }
        const v = new NamespaceView(router, Witness.neverMatches(), [], []);
        v.foldSlice = { ms: 0, ops: sliceOps }; // stop at every check: each entry over sliceOps ops takes several turns
        for (const e of es) {
          v.apply(e, 10);
          expect(v.acceptedSeq).toBe(e.seq);
          v.apply(e, 10); // handed in twice (a refresh listing it): ignored
        }
        let sawPartial = false;
        while (v.isFolding) {
          expect(v.headSeq).toBeLessThan(es.length);
          expect(await visible(v)).toEqual(after[v.headSeq]);
          sawPartial ||= v.tailRows.rows > v.segments().at(-1)!.rows; // rows folded, hidden from queries
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await v.settle();
        expect(v.headSeq).toBe(es.length);
        expect(await visible(v)).toEqual(after[es.length]);
        expect(state(v)).toEqual(state(ref));
        // An entry over sliceOps operations is not folded in one turn: its first slice's rows were there, hidden.
        if (es.some((e) => e.ops.length > sliceOps && e.ops.slice(0, sliceOps).some((o) => o.kind === 'upsert'))) expect(sawPartial).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('should make settle() wait for the entry being folded', async () => {
    const v = new NamespaceView(router, Witness.neverMatches(), [], []);
    v.foldSlice = { ms: 0, ops: 2 };
    const [e] = entries([Array.from({ length: 50 }, (_, i) => ({ kind: 'upsert' as const, doc: { id: i, vector: null, attrs: { n: i } } }))]);
    v.apply(e!, 10);
    expect(v.isFolding).toBe(true);
    expect(v.headSeq).toBe(0);
    expect(await visible(v)).toEqual([]); // none of its rows before it is whole
    await v.settle();
    expect(v.isFolding).toBe(false);
    expect(v.headSeq).toBe(1);
    expect((await visible(v)).map((d) => d.id)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('should end a slice whose time is up within DEFAULT_FOLD_SLICE.ops operations (the overshoot of a slice)', async () => {
    const v = new NamespaceView(router, Witness.neverMatches(), [], []);
    v.foldSlice = { ms: 0, ops: DEFAULT_FOLD_SLICE.ops };
    const [e] = entries([Array.from({ length: 1000 }, (_, i) => ({ kind: 'upsert' as const, doc: { id: i, vector: null, attrs: { n: i } } }))]);
    v.apply(e!, 10);
    // The first slice, synchronous: at most one check's worth of operations (the tail holds them, hidden).
    expect(v.tailRows.rows).toBeGreaterThan(0);
    expect(v.tailRows.rows).toBeLessThanOrEqual(DEFAULT_FOLD_SLICE.ops);
    expect(DEFAULT_FOLD_SLICE.ops).toBeLessThanOrEqual(32);
    await v.settle();
    expect(v.tailRows.rows).toBe(1000);
  });

  it('should not be carried over while it folds', async () => {
    const v = new NamespaceView(router, Witness.neverMatches(), [], []);
    v.foldSlice = { ms: 0, ops: 2 };
    const [e] = entries([Array.from({ length: 20 }, (_, i) => ({ kind: 'delete' as const, id: i }))]);
    v.apply(e!, 10);
    expect(v.carryOver({ ...router, indexed_wal: 0 }, Witness.neverMatches(), [], [], () => undefined)).toBeNull();
    await v.folded();
    expect(v.carryOver({ ...router, indexed_wal: 0 }, Witness.neverMatches(), [], [], () => undefined)).not.toBeNull();
  });
});
