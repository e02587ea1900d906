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
import { NamespaceView } from './view.js';

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
        const whole = new NamespaceView(router, Witness.neverMatches(), [], []);
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
