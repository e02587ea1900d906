/**
 * executeQuery: exhaustive, exact execution of a ParsedQuery over a namespace's live documents. Pure and
 * synchronous; the hot path is a single pass with a bounded heap, never a full sort.
 *
 * Ranking (ties always broken by id ascending, so results are deterministic):
 *  - vector: distance ascending; documents without a vector are skipped; $dist = distance. ANN is exact for now.
 *  - text:   BM25 score descending; only score > 0 (fts/ drops zeros); $dist = score.
 *  - order:  the attribute keys (nulls lowest), no $dist.
 * limit.per is applied as if greedily in rank order: a row is kept if its limit key has fewer than per.limit rows so
 * far (limit keys compare by value: a missing attribute and null are the same key).
 */
import type { Doc, DistanceMetric, SparseVector } from '../core/index.js';
import { sparseDot } from '../sparse/index.js';
import { attrVectorDistance } from './attr-vector.js';
import { maxSimDistanceOf, type MultiVector } from '../multivec/index.js';
import type { CompiledFilter } from '../filter/index.js';
import { distanceTo } from './distance.js';
import { compareIds, docOrderComparator, orderValue } from './compare.js';
import { ScoreTopK, TopK } from './top-k.js';
import { buildRow } from './project.js';
import { applyComputed } from './compute-attributes.js';
import { executeAggregation } from './aggregate.js';
import type { ParsedQuery, QueryContext, QueryResultBody, RankPlan, Row, Scored } from './types.js';

type Per = NonNullable<ParsedQuery['per']>;

/**
 * limit.per without sorting every candidate. Greedy selection in rank order keeps a candidate iff it is among the
 * best `per.limit` of its limit key and, among such candidates, within the first `total`. So keep a bounded heap
 * per key (O(n log per.limit)), then take the best `total` of their union.
 */
function selectPerKey<T>(candidates: Iterable<T>, cmp: (a: T, b: T) => number, docOf: (x: T) => Doc, per: Per, total: number): T[] {
  const attrs = per.attributes;
  const single = attrs.length === 1 ? attrs[0]! : null;
  const byKey = new Map<unknown, TopK<T>>();
  for (const x of candidates) {
    const doc = docOf(x);
    // Map keys: the raw value for one attribute (null for missing), else the JSON of the value tuple.
    const key = single !== null ? (orderValue(doc, single) ?? null) : JSON.stringify(attrs.map((a) => orderValue(doc, a) ?? null));
    let heap = byKey.get(key);
    if (!heap) byKey.set(key, (heap = new TopK<T>(per.limit, cmp)));
    heap.push(x);
  }
  const best = new TopK<T>(total, cmp);
  for (const heap of byKey.values()) for (const x of heap.sorted()) best.push(x);
  return best.sorted();
}

const byKeyThenId = (a: Scored, b: Scored) => a.score - b.score || compareIds(a.doc.id, b.doc.id);

/** Best `limit` of (key, doc) candidates held in parallel arrays, key ascending. */
function selectByKey(keys: Float64Array | number[], docs: Doc[], limit: number, per: Per | null): Scored[] {
  if (per) {
    const all: Scored[] = new Array(docs.length);
    for (let i = 0; i < docs.length; i++) all[i] = { doc: docs[i]!, score: keys[i]! };
    return selectPerKey(all, byKeyThenId, (s) => s.doc, per, limit);
  }
  const heap = new ScoreTopK(limit);
  for (let i = 0; i < docs.length; i++) heap.push(keys[i]!, docs[i]!);
  return heap.sorted();
}

function vectorRank(
  docs: readonly Doc[],
  query: Float32Array,
  metric: DistanceMetric,
  filter: CompiledFilter | null | undefined,
  limit: number,
  per: Per | null,
): Scored[] {
  const dist = distanceTo(metric, query);
  const dims = query.length;
  if (per) {
    const keys: number[] = [];
    const kept: Doc[] = [];
    for (const doc of docs) {
      const v = doc.vector;
      if (!v || v.length !== dims || (filter && !filter(doc))) continue;
      keys.push(dist(v));
      kept.push(doc);
    }
    return selectByKey(keys, kept, limit, per);
  }
  const heap = new ScoreTopK(limit);
  for (const doc of docs) {
    const v = doc.vector;
    if (!v || v.length !== dims || (filter && !filter(doc))) continue;
    heap.push(dist(v), doc);
  }
  return heap.sorted();
}

/** Exact kNN: the `k` documents nearest to `query` (that pass `filter`), nearest first, ties by id. */
export function exactKnn(
  docs: readonly Doc[],
  query: Float32Array,
  k: number,
  metric: DistanceMetric,
  filter?: CompiledFilter,
): Array<{ doc: Doc; dist: number }> {
  return vectorRank(docs, query, metric, filter, k, null).map((s) => ({ doc: s.doc, dist: s.score }));
}

/** The ranked documents with their $dist (undefined for attribute order), best first, at most q.limit. */
export function rankDocuments(q: ParsedQuery, rank: RankPlan, docs: readonly Doc[], ctx?: QueryContext): Array<{ doc: Doc; dist: number | undefined }> {
  const { filter, limit, per } = q;
  switch (rank.kind) {
    case 'vector':
      return vectorRank(docs, rank.query, rank.metric, filter, limit, per).map((s) => ({ doc: s.doc, dist: s.score }));
    case 'text': {
      // With a corpus (parts with postings), only the best `limit` can be asked for when no per-key limit applies.
      const scored = ctx?.textCorpus
        ? rank.plan.evaluateCorpus(ctx.textCorpus(), filter ?? undefined, per ? null : limit)
        : rank.plan.evaluate(docs, filter ?? undefined);
      // Negated score as the key: "smaller key first" is "higher score first", and ties still go to the lower id.
      const keys = new Float64Array(scored.length);
      const kept = new Array<Doc>(scored.length);
      for (let i = 0; i < scored.length; i++) {
        keys[i] = -scored[i]!.score;
        kept[i] = scored[i]!.doc;
      }
      return selectByKey(keys, kept, limit, per).map((s) => ({ doc: s.doc, dist: -s.score }));
    }
    case 'attr_vector': {
      // Another vector attribute (RFC-0014): every document with a value, by its distance, lower first.
      const dist = attrVectorDistance(rank.metric, rank.query);
      const keys: number[] = [];
      const kept: Doc[] = [];
      for (const d of docs) {
        const score = dist(d.attrs[rank.attr]);
        if (score === null || (filter && !filter(d))) continue;
        keys.push(score);
        kept.push(d);
      }
      return selectByKey(Float64Array.from(keys), kept, limit, per).map((s) => ({ doc: s.doc, dist: s.score }));
    }
    case 'multi': {
      // Every document holding vectors of the attribute, by MaxSim as a distance (multivec/maxsim.ts), lower first.
      const keys: number[] = [];
      const kept: Doc[] = [];
      for (const d of docs) {
        const v = d.attrs[rank.attr];
        if (!Array.isArray(v) || v.length === 0 || !Array.isArray(v[0])) continue;
        if (filter && !filter(d)) continue;
        keys.push(maxSimDistanceOf(rank.query, v as MultiVector));
        kept.push(d);
      }
      return selectByKey(Float64Array.from(keys), kept, limit, per).map((s) => ({ doc: s.doc, dist: s.score }));
    }
    case 'sparse': {
      // Every document holding a query dimension, scored by the dot product (sparse/vector.ts), higher first.
      const keys: number[] = [];
      const kept: Doc[] = [];
      for (const d of docs) {
        const v = d.attrs[rank.attr];
        if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) continue;
        if (filter && !filter(d)) continue;
        const score = sparseDot(rank.query, v as SparseVector);
        if (score === null) continue;
        keys.push(-score);
        kept.push(d);
      }
      return selectByKey(Float64Array.from(keys), kept, limit, per).map((s) => ({ doc: s.doc, dist: -s.score }));
    }
    case 'order': {
      const cmp = docOrderComparator(rank.keys);
      const candidates = filter ? docs.filter((d) => filter(d)) : docs;
      let ordered: Doc[];
      if (per) ordered = selectPerKey(candidates, cmp, (d) => d, per, limit);
      else {
        const heap = new TopK<Doc>(limit, cmp);
        for (const doc of candidates) heap.push(doc);
        ordered = heap.sorted();
      }
      return ordered.map((doc) => ({ doc, dist: undefined }));
    }
  }
}

export function executeQuery(q: ParsedQuery, docs: readonly Doc[], ctx: QueryContext): QueryResultBody {
  if (q.aggregates) return executeAggregation(q, docs);
  const ranked = rankDocuments(q, q.rank!, docs, ctx);
  const rows: Row[] = new Array(ranked.length);
  for (let i = 0; i < ranked.length; i++) rows[i] = buildRow(ranked[i]!.doc, ranked[i]!.dist, q.projection, q.vectorEncoding);
  if (q.compute?.length) applyComputed(q.compute, ranked.map((r) => r.doc), rows);
  return { rows };
}
