/**
 * BM25 against an independent reference. Random corpora go through random writes (upserts, re-upserts with new
 * text, patches, deletes) with indexing and compaction at random points, so the namespace is at times all WAL tail,
 * one part, many parts, parts plus tail, with shadowed and deleted rows inside parts. After every step, random
 * BM25 queries (one attribute, Sum over two attributes with different k1/b, Product weights, repeated terms
 * (saturated, k3 = 8), last_as_prefix (a prefix match scores 1.0), filters, small and large top_k) must return
 * exactly what a plain exhaustive BM25 written here computes over the live documents: same documents (up to ties),
 * scores within 1e-9 relative.
 *
 * The reference shares only the analyser (the issue asks for "the same analysed tokens"); statistics, prefix
 * handling and scoring are written out again below from the definitions in docs/api.md.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { tokenize, normalizeFullTextConfig } from '../crates-ts/fts/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';

const VOCAB = ['apple', 'apply', 'applied', 'banana', 'band', 'cherry', 'dog', 'dogs', 'eagle', 'fox', 'the', 'and', 'of', 'grape', 'kiwi'];
const BODY_CONFIG = { k1: 1.2, b: 0.75 }; // defaults: English, stop words removed, no stemming
const TITLE_CONFIG = { remove_stopwords: false, k1: 1.6, b: 0.3 };
const bodyCfg = normalizeFullTextConfig(true, 'body');
const titleCfg = normalizeFullTextConfig(TITLE_CONFIG, 'title');

type Row = { id: number; body?: string | null; title?: string; n: number };
type Op =
  | { t: 'upsert'; rows: Row[] }
  | { t: 'patch'; id: number; title: string }
  | { t: 'delete'; ids: number[] }
  | { t: 'index' }
  | { t: 'compact' };

const idArb = fc.integer({ min: 0, max: 40 });
const textArb = fc.array(fc.constantFrom(...VOCAB, 'Apple', 'FOX'), { minLength: 0, maxLength: 10 }).map((w) => w.join(' '));
const rowArb: fc.Arbitrary<Row> = fc.record(
  { id: idArb, body: fc.oneof({ weight: 8, arbitrary: textArb }, { weight: 1, arbitrary: fc.constant(null) }), title: textArb, n: fc.integer({ min: 0, max: 9 }) },
  { requiredKeys: ['id', 'n'] },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  // A write request names each id once (a duplicate is a 400: test/21-duplicate-ids.test.ts).
  { weight: 6, arbitrary: fc.uniqueArray(rowArb, { minLength: 1, maxLength: 12, selector: (r) => r.id }).map((rows) => ({ t: 'upsert' as const, rows })) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('patch' as const), id: idArb, title: textArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), ids: fc.uniqueArray(idArb, { minLength: 1, maxLength: 5 }) }) },
  { weight: 3, arbitrary: fc.constant({ t: 'index' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'compact' as const }) },
);

type Clause = { attr: 'body' | 'title'; words: string[]; prefix: boolean };
type Query = { clauses: Clause[]; form: 'single' | 'sum' | 'product' | 'max'; weight: number; topK: number; nLt: number | null };
const clauseArb = (attr: 'body' | 'title'): fc.Arbitrary<Clause> =>
  fc.record({ attr: fc.constant(attr), words: fc.array(fc.constantFrom(...VOCAB, 'app', 'ban', 'do'), { minLength: 1, maxLength: 4 }), prefix: fc.boolean() });
const queryArb: fc.Arbitrary<Query> = fc.record({
  clauses: fc.tuple(clauseArb('body'), clauseArb('title')).map((c) => [...c]),
  form: fc.constantFrom('single' as const, 'sum' as const, 'product' as const, 'max' as const),
  weight: fc.constantFrom(0.5, 2, 3.25),
  topK: fc.constantFrom(1, 3, 10, 1200),
  nLt: fc.option(fc.integer({ min: 1, max: 9 }), { nil: null }),
});

// ---------- the reference ----------

type Live = Map<number, Row>;

/** Exhaustive BM25 of one clause over the live rows: id -> score (only matching rows). */
function referenceClause(live: Live, c: Clause): Map<number, number> {
  const cfg = c.attr === 'body' ? bodyCfg : titleCfg;
  const qTokens = tokenize(c.words.join(' '), cfg);
  // last_as_prefix: the last raw word is a literal (unstemmed, never a stop word) prefix.
  let terms = qTokens;
  let prefix: string | null = null;
  if (c.prefix) {
    const raw = c.words[c.words.length - 1]!.toLowerCase();
    terms = tokenize(c.words.slice(0, -1).join(' '), cfg);
    prefix = raw;
  }
  const docs: Array<{ id: number; tokens: string[] }> = [];
  for (const r of live.values()) {
    const v = r[c.attr];
    if (typeof v === 'string') docs.push({ id: r.id, tokens: tokenize(v, cfg) });
  }
  const N = docs.length;
  const avg = N === 0 ? 0 : docs.reduce((s, d) => s + d.tokens.length, 0) / N;
  const out = new Map<number, number>();
  // Each distinct term once, weighted by its query frequency qtf saturated with k3 = 8: (k3 + 1)·qtf / (k3 + qtf).
  const qtf = new Map<string, number>();
  for (const t of terms) qtf.set(t, (qtf.get(t) ?? 0) + 1);
  for (const [t, n] of qtf) {
    const df = docs.filter((d) => d.tokens.includes(t)).length;
    const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
    for (const d of docs) {
      const tf = d.tokens.filter((x) => x === t).length;
      if (tf === 0) continue;
      const norm = avg > 0 ? d.tokens.length / avg : 0;
      const s = (idf * tf * (cfg.k1 + 1)) / (tf + cfg.k1 * (1 - cfg.b + cfg.b * norm));
      out.set(d.id, (out.get(d.id) ?? 0) + s * ((9 * n) / (8 + n)));
    }
  }
  // A prefix match scores a constant 1.0 ("`BM25` prefix matches are assigned a score of `1.0`").
  if (prefix !== null) for (const d of docs) if (d.tokens.some((x) => x.startsWith(prefix))) out.set(d.id, (out.get(d.id) ?? 0) + 1);
  return out;
}

function referenceScores(live: Live, q: Query): Map<number, number> {
  const [body, title] = q.clauses.map((c) => referenceClause(live, c)) as [Map<number, number>, Map<number, number>];
  const out = new Map<number, number>();
  const ids = new Set([...body.keys(), ...title.keys()]);
  for (const id of ids) {
    const b = body.get(id) ?? 0;
    const t = title.get(id) ?? 0;
    const s = q.form === 'single' ? b : q.form === 'sum' ? b + t : q.form === 'product' ? q.weight * b + t : Math.max(b, q.weight * t);
    if (s > 0 && (q.nLt === null || live.get(id)!.n < q.nLt)) out.set(id, s);
  }
  return out;
}

function rankBy(q: Query): unknown {
  const clause = (c: Clause) => (c.prefix ? [c.attr, 'BM25', c.words.join(' '), { last_as_prefix: true }] : [c.attr, 'BM25', c.words.join(' ')]);
  const [b, t] = q.clauses.map(clause);
  switch (q.form) {
    case 'single':
      return b;
    case 'sum':
      return ['Sum', [b, t]];
    case 'product':
      return ['Sum', [['Product', q.weight, b], t]];
    case 'max':
      return ['Max', [b, ['Product', q.weight, t]]];
  }
}

// ---------- the system under test ----------

let nonce = 0;
/** `ranged`: read every postings file by ranges (dictionary, then the named lists) instead of whole. */
function makeEngine(store: MemoryStore, ranged = false): Engine {
  let t = 1_700_000_000_000;
  return new Engine(store, {
    clock: { now: () => (t += 1) },
    sleep: () => Promise.resolve(),
    random: Math.random,
    groupCommitMs: 0,
    catalog: ranged ? { rangedPostingsMinBytes: 0 } : {},
  });
}

async function apply(e: Engine, store: MemoryStore, ns: string, live: Live, op: Op): Promise<void> {
  switch (op.t) {
    case 'upsert':
      await e.write(ns, { upsert_rows: op.rows });
      for (const r of op.rows) live.set(r.id, { ...r });
      break;
    case 'patch':
      await e.write(ns, { patch_rows: [{ id: op.id, title: op.title }] });
      if (live.has(op.id)) live.set(op.id, { ...live.get(op.id)!, title: op.title });
      break;
    case 'delete':
      await e.write(ns, { deletes: op.ids });
      for (const id of op.ids) live.delete(id);
      break;
    case 'index':
      await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `n${nonce++}` }).indexNamespace(ns, true);
      break;
    case 'compact':
      await compactNamespace(store, ns, { clock: { now: () => Date.now() }, nonce: () => `c${nonce++}`, force: true });
      break;
  }
}

async function check(e: Engine, ns: string, live: Live, q: Query): Promise<void> {
  const ref = referenceScores(live, q);
  const res = await e.query(ns, { rank_by: rankBy(q), top_k: q.topK, include_attributes: ['n'], ...(q.nLt === null ? {} : { filters: ['n', 'Lt', q.nLt] }) });
  const rows = res.rows!;
  const sortedRef = [...ref.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  expect(rows.length).toBe(Math.min(q.topK, sortedRef.length));
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  for (let i = 0; i < rows.length; i++) {
    const id = rows[i]!.id as number;
    const score = rows[i]!.$dist as number;
    expect(ref.has(id), `id ${id} is not a match`).toBe(true);
    if (!close(score, ref.get(id)!)) expect(score).toBe(ref.get(id)); // shows both values
    // Same documents up to ties: the i-th returned score equals the i-th best reference score.
    if (!close(score, sortedRef[i]![1])) expect(score).toBe(sortedRef[i]![1]);
    if (i > 0) {
      const prev = rows[i - 1]!;
      expect((prev.$dist as number) > score || ((prev.$dist as number) === score && (prev.id as number) < id)).toBe(true);
    }
  }
}

describe('BM25 equals an exhaustive reference however the namespace is split', () => {
  it('should score like the reference across tail, parts, compaction, updates and deletes', async () => {
    let sawParts = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 14 }), fc.array(queryArb, { minLength: 2, maxLength: 2 }), fc.boolean(), async (ops, queries, ranged) => {
        const store = new MemoryStore();
        const e = makeEngine(store, ranged);
        const ns = 'bm25';
        await e.updateSchema(ns, { body: { type: 'string', full_text_search: BODY_CONFIG }, title: { type: 'string', full_text_search: TITLE_CONFIG }, n: 'int' });
        const live: Live = new Map();
        for (const op of ops) {
          await apply(e, store, ns, live, op);
          for (const q of queries) await check(e, ns, live, q);
        }
        const router = (await new RouterStore(store).read(ns))!.router;
        if (router.parts.length > 0) sawParts++;
      }),
      { numRuns: 60 },
    );
    // The property is only interesting if many runs really scored from postings.
    expect(sawParts).toBeGreaterThan(20);
  });

  it('should give every document the same score before indexing, in one part, in many parts and with a tail', async () => {
    const store = new MemoryStore();
    const e = makeEngine(store);
    const ns = 'split';
    await e.updateSchema(ns, { body: { type: 'string', full_text_search: true } });
    const rng = (() => {
      let s = 7;
      return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    })();
    const text = () => Array.from({ length: 1 + Math.floor(rng() * 12) }, () => VOCAB[Math.floor(rng() * VOCAB.length)]).join(' ');
    const q = { rank_by: ['body', 'BM25', 'apple fox dog'], top_k: 1200 };
    const scores = async () => new Map((await e.query(ns, q)).rows!.map((r) => [r.id, r.$dist]));
    for (let batch = 0; batch < 4; batch++) await e.write(ns, { upsert_rows: Array.from({ length: 50 }, (_, i) => ({ id: batch * 50 + i, body: text() })) });
    const allTail = await scores();
    expect(allTail.size).toBeGreaterThan(50);
    const indexer = new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `s${nonce++}`, maxEntriesPerPart: 1 });
    await indexer.indexNamespace(ns, true);
    const onePartPlusTail = await scores();
    while ((await indexer.indexNamespace(ns, true)).result === 'published');
    expect((await new RouterStore(store).read(ns))!.router.parts.length).toBe(5); // the schema entry, then one per batch
    const manyParts = await scores();
    await compactNamespace(store, ns, { clock: { now: () => Date.now() }, nonce: () => `c${nonce++}`, force: true });
    const compacted = await scores();
    for (const other of [onePartPlusTail, manyParts, compacted]) {
      expect(other.size).toBe(allTail.size);
      for (const [id, s] of allTail) expect(Math.abs((other.get(id) as number) - (s as number))).toBeLessThanOrEqual(1e-9 * (s as number));
    }
  });
});
