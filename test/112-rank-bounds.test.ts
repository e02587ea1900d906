/**
 * Bounded rank expressions (issue 14 item 8; fts/rank-bounds.ts): a general rank expression with an unbounded
 * Attribute or Dist now skips a part's rows without a BM25 match when the part's column stats bound them below the
 * k-th score, and visits them best first through the part's index of the attribute when the score is monotone in it.
 *
 *  - interval arithmetic and shapes: unit checks of unmatchedRange / monotoneShape;
 *  - randomized (seeded) property test through the engine: several parts whose value ranges differ, a WAL tail that
 *    overwrites and deletes part rows, random expressions (Attribute, Dist, Saturate, Decay, Product (a zero weight
 *    too), Max / Sum with constants and BM25, a filterable attribute with an index and one without) — the top k
 *    equals the brute force computed here from the documented formulas (expressions without BM25), and equals the
 *    engine's own unpruned ranking (top_k above the row count) cut to k (with BM25), ids and scores.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { monotoneShape, RANK_BOUNDS, unmatchedRange } from '../crates-ts/fts/rank-bounds.js';
import { compileExpr } from '../crates-ts/fts/text-expr.js';
import { planTextRank } from '../crates-ts/fts/rank.js';
import type { Schema } from '../crates-ts/core/index.js';
import { seededRandom as rng } from '../crates-ts/ivf/index.js';

const SCHEMA: Schema = {
  text: { type: 'string', full_text_search: {} },
  clicks: { type: 'uint', filterable: true },
  raw: { type: 'uint', filterable: false },
  at: { type: 'datetime', filterable: true },
} as unknown as Schema;

const T0 = Date.UTC(2026, 0, 1);
const H = 3_600_000;

describe('rank-bounds: ranges and shapes', () => {
  it('should bound unmatched rows by interval arithmetic and find monotone shapes', () => {
    const compiled = (e: unknown) => compileExpr(planTextRank(e, SCHEMA).expr);
    const range = (e: unknown, lo: number, hi: number) => {
      const x = compiled(e);
      return unmatchedRange(x, x.root, () => ({ lo, hi }));
    };
    expect(range(['Attribute', 'clicks'], 3, 9)).toEqual({ lo: 3, hi: 9 });
    expect(range(['Dist', ['Attribute', 'clicks'], 5], 3, 9)).toEqual({ lo: 0, hi: 4 });
    expect(range(['Dist', ['Attribute', 'clicks'], 20], 3, 9)).toEqual({ lo: 11, hi: 17 });
    expect(range(['Product', 2, ['Attribute', 'clicks']], 3, 9)).toEqual({ lo: 6, hi: 18 });
    expect(range(['Decay', ['Attribute', 'clicks'], { midpoint: 3 }], 3, 9)!.hi).toBeCloseTo(0.5);
    expect(range(['Sum', [['text', 'BM25', 'fox'], ['Attribute', 'clicks'], 1]], 3, 9)).toEqual({ lo: 0, hi: 10 }); // a lower bound: children without a value add 0
    expect(range(['text', 'BM25', 'fox'], 3, 9)).toBeNull();
    const shape = (e: unknown) => monotoneShape(compiled(e))?.shape ?? null;
    expect(shape(['Attribute', 'clicks'])).toBe('up');
    expect(shape(['Sum', [['text', 'BM25', 'fox'], ['Product', 1.5, ['Saturate', ['Attribute', 'clicks'], { midpoint: 4 }]]]])).toBe('up');
    expect(shape(['Decay', ['Attribute', 'clicks'], { midpoint: 4 }])).toBe('down');
    expect(shape(['Product', 0, ['Attribute', 'clicks']])).toBeNull();
    expect(shape(['Dist', ['Attribute', 'clicks'], 4])).toBe('vup');
    expect(shape(['Decay', ['Dist', ['Attribute', 'clicks'], 4], { midpoint: 2 }])).toBe('vdown');
    expect(shape(['Dist', ['Saturate', ['Attribute', 'clicks'], { midpoint: 2 }], 4])).toBeNull();
    expect(shape(['Sum', [['Attribute', 'clicks'], ['Attribute', 'raw']]])).toBeNull();
    expect(shape(['Sum', [['Attribute', 'clicks'], ['Decay', ['Attribute', 'clicks'], { midpoint: 1 }]]])).toBeNull();
  });
});

type Row = { id: number; text: string; clicks?: number | null; raw?: number | null; at?: string | null };

/** The documented formulas (docs/api.md "Ranking expressions"), over the test's own rows; undefined: not ranked. */
function evalExpr(e: unknown, r: Row): number | undefined {
  const x = e as [string, ...unknown[]];
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : undefined);
  switch (x[0]) {
    case 'Attribute': {
      const v = r[x[1] as keyof Row];
      return v === null || v === undefined ? undefined : num(v);
    }
    case 'Dist': {
      const c = evalExpr(x[1], r);
      return c === undefined ? undefined : Math.abs(c - num(x[2])!);
    }
    case 'Saturate':
    case 'Decay': {
      const c = evalExpr(x[1], r);
      if (c === undefined) return undefined;
      const p = x[2] as { midpoint: number | string; exponent?: number };
      const m = typeof p.midpoint === 'number' ? p.midpoint : Number.parseFloat(p.midpoint) * H; // "Nh" only here
      const ex = p.exponent ?? 1;
      const v = Math.max(c, 0);
      return x[0] === 'Saturate' ? (v === 0 ? 0 : v ** ex / (v ** ex + m ** ex)) : v === 0 ? 1 : m ** ex / (v ** ex + m ** ex);
    }
    case 'Product': {
      const c = evalExpr(x[2], r);
      return c === undefined ? undefined : (x[1] as number) * c;
    }
    case 'Sum':
    case 'Max': {
      let acc: number | undefined;
      let matched = false;
      for (const child of x[1] as unknown[]) {
        const c = typeof child === 'number' ? child : evalExpr(child, r);
        if (c === undefined) continue;
        if (typeof child !== 'number') matched = true;
        acc = acc === undefined ? c : x[0] === 'Sum' ? acc + c : Math.max(acc, c);
      }
      return matched ? acc : undefined;
    }
  }
  throw new Error(`unexpected ${JSON.stringify(e)}`);
}

describe('bounded rank expressions through the engine', () => {
  it('should rank exactly as brute force and as the unpruned ranking, over parts with different value ranges and a tail', async () => {
    const r = rng(11200);
    const store = new MemoryStore();
    let t = Date.parse('2026-12-06T00:00:00.000Z');
    const engine = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
    const ns = 'rank-bounds';
    await engine.updateSchema(ns, SCHEMA as Record<string, unknown>);
    const WORDS = ['fox', 'dog', 'whale', 'owl', 'elk', 'yak', 'cat', 'eel'];
    const model = new Map<number, Row>();
    const make = (id: number, part: number): Row => {
      const row: Row = { id, text: Array.from({ length: 3 + Math.floor(r() * 5) }, () => WORDS[Math.floor(r() * WORDS.length)]!).join(' ') };
      // Each part's values in its own band, so some parts' bounds fall below the k-th score; ties on purpose.
      if (r() > 0.1) row.clicks = Math.max(0, Math.round(part * 100 + r() * 120 - 30));
      if (r() > 0.1) row.raw = Math.max(0, Math.round(r() * 50 * (part + 1)) - 40);
      if (r() > 0.1) row.at = new Date(T0 + Math.floor((part * 50 + r() * 80) * H)).toISOString();
      return row;
    };
    const write = async (rows: Row[]) => {
      await engine.write(ns, { upsert_rows: rows.map((x) => ({ ...x })) });
      for (const x of rows) model.set(x.id, x);
    };
    let nonce = 0;
    const indexer = new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `b${nonce++}` });
    let id = 0;
    for (let part = 0; part < 4; part++) {
      await write(Array.from({ length: 600 }, () => make(id++, part)));
      while ((await indexer.indexNamespace(ns, true)).result === 'published');
    }
    // The tail: new rows, overwrites of part rows (values from another band), deletes.
    await write(Array.from({ length: 150 }, () => make(id++, Math.floor(r() * 5))));
    await write([...new Set(Array.from({ length: 80 }, () => Math.floor(r() * 2400)))].map((x) => make(x, Math.floor(r() * 5))));
    const deleted = [...new Set(Array.from({ length: 60 }, () => Math.floor(r() * 2400)))];
    await engine.write(ns, { deletes: deleted });
    for (const d of deleted) model.delete(d);
    const view = await engine.catalog.require(ns, 'strong');
    expect(view.parts.length).toBeGreaterThanOrEqual(3);

    const attr = () => (['clicks', 'raw', 'at'] as const)[Math.floor(r() * 3)]!;
    const valueExpr = (): unknown => {
      const a = attr();
      const o = a === 'at' ? new Date(T0 + Math.floor(r() * 250) * H).toISOString() : Math.round(r() * 500) - 50;
      const base = r() < 0.5 ? ['Attribute', a] : ['Dist', ['Attribute', a], o];
      switch (Math.floor(r() * 6)) {
        case 0:
          return base;
        case 1:
          return ['Saturate', base, { midpoint: a === 'at' && base[0] === 'Attribute' ? T0 : 40, exponent: 1 + Math.floor(r() * 2) }];
        case 2:
          return ['Decay', base, { midpoint: 30 }];
        case 3:
          return ['Product', r() < 0.2 ? 0 : 2, base];
        case 4:
          return ['Max', [base, 3]];
        default:
          return ['Sum', [base, 7]];
      }
    };
    const get = async (rankBy: unknown, k: number) => (await engine.query(ns, { rank_by: rankBy, top_k: k })).rows!.map((x) => [x.id as number, x.$dist as number]);
    let checked = 0;
    for (let trial = 0; trial < 40; trial++) {
      const e = valueExpr();
      const k = 1 + Math.floor(r() * 15);
      // Brute force from the model (datetimes in epoch ms, Saturate midpoints numbers here).
      const want = [...model.values()]
        .map((row) => ({ id: row.id, s: evalExpr(e, row) }))
        .filter((x): x is { id: number; s: number } => x.s !== undefined && !Number.isNaN(x.s))
        .sort((a, b) => b.s - a.s || a.id - b.id)
        .slice(0, k);
      const got = await get(e, k);
      expect(got.map((x) => x[0]), JSON.stringify(e)).toEqual(want.map((x) => x.id));
      got.forEach((x, i) => expect(x[1]).toBeCloseTo(want[i]!.s, 6));
      // With BM25 too: the pruned top k is the unpruned ranking's first k.
      const word = WORDS[Math.floor(r() * WORDS.length)]!;
      const withText = r() < 0.5 ? ['Sum', [['text', 'BM25', word], e]] : ['Max', [['text', 'BM25', word], ['Product', 0.01, e]]];
      const all = await get(withText, 10_000);
      const pruned = await get(withText, k);
      expect(pruned, JSON.stringify(withText)).toEqual(all.slice(0, k));
      // And as before the bounds (every unmatched row evaluated).
      RANK_BOUNDS.enabled = false;
      try {
        expect(await get(e, k)).toEqual(got);
        expect(await get(withText, k)).toEqual(pruned);
      } finally {
        RANK_BOUNDS.enabled = true;
      }
      checked++;
    }
    expect(checked).toBe(40);
    await engine.close();
  });
});
