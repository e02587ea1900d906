/**
 * A format-3 part (RFC-0008 §2: rows ordered by cluster, a clustered index instead of HNSW) answers every query a
 * format-2 part answers, identically: the same rows are built once in each format, published as two namespaces, and
 * every kind of query — exact kNN, ANN (format 3 probes its clusters, slice 2b: at this size the default probe depth
 * finds the same neighbours), filters, BM25, order by, aggregates, lookups by id through writes — must give the same
 * rows, distances and scores. Only the ordinals differ, and no answer shows them.
 */
import { describe, expect, it } from 'vitest';
import type { Doc, Id, Schema } from '../crates-ts/core/index.js';
import { Engine } from '../crates-ts/engine/index.js';
import { buildPartFiles, newPartId, readManifest, type PartBuildInput } from '../crates-ts/part/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { publishBuiltPart } from './helpers/part-namespace.js';

const DIMS = 20;
const N = 400;
const WORDS = ['red', 'fox', 'blue', 'whale', 'quick', 'lazy', 'dog', 'green', 'owl', 'night'];
const SCHEMA: Schema = {
  title: { type: 'string', filterable: false, full_text_search: { language: 'english', stemming: false, remove_stopwords: true, case_sensitive: false, ascii_folding: false, max_token_length: 39, tokenizer: 'word_v3', k1: 1.2, b: 0.75 } },
  price: { type: 'float', filterable: true },
  cat: { type: 'string', filterable: true },
  active: { type: 'bool', filterable: true },
  id: { type: 'uint' },
  vector: { type: `[${DIMS}]f32`, ann: { distance_metric: 'cosine_distance' } },
};

/** Clustered vectors (8 centres), so the format-3 part really reorders rows; every 13th row has no vector. */
function docs(): Doc[] {
  const centre = (c: number, d: number) => Math.sin(c * 2.1 + d * 0.9) * 3;
  return Array.from({ length: N }, (_, i) => {
    const id = i * 7 + 3;
    const c = (i * 5) % 8;
    const vector = i % 13 === 0 ? null : Float32Array.from({ length: DIMS }, (_, d) => centre(c, d) + Math.sin(i * 1.7 + d * 3.1) * 0.4);
    return {
      id,
      vector,
      attrs: { title: `${WORDS[i % 10]} ${WORDS[(i * 3 + 1) % 10]} ${WORDS[(i * 7 + 2) % 10]}`, price: Math.round(((i * 37) % 1000) / 10 * 100) / 100, cat: ['a', 'b', 'c'][i % 3]!, active: i % 4 !== 0 },
    };
  });
}

async function namespaces(): Promise<{ engine: Engine; rows: Doc[] }> {
  const store = new MemoryStore();
  const rows = docs();
  const changes = new Map<Id, Doc | null>(rows.map((d) => [d.id, d]));
  const input = (ns: string): PartBuildInput => ({
    namespace: ns,
    partId: newPartId(1, 4, ns),
    walStart: 1,
    walEnd: 4,
    level: 0,
    changes,
    schema: SCHEMA,
    distanceMetric: 'cosine_distance',
    createdAt: '2026-12-05T00:00:00.000Z',
  });
  // Format 2, flat (an exact scan, like format 3 until the query path probes clusters): ANN answers must match too.
  await publishBuiltPart(store, await buildPartFiles({ ...input('v2'), partFormat: 2, hnsw: { flatThreshold: 1e9 } }));
  await publishBuiltPart(store, await buildPartFiles({ ...input('v3'), vectorIndex: { kind: 'ivf', codebook: null, targetSize: 40, minSize: 15, maxSize: 80 } }));
  let t = Date.UTC(2026, 11, 5);
  const engine = new Engine(store, { clock: { now: () => (t += 1000) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
  // The setup itself: v3 is a format-3 part whose rows are not in id order, with a codebook the router names.
  const r3 = (await new RouterStore(store).read('v3'))!.router;
  expect(r3.vindex?.version).toBe(1);
  const head = (await readManifest(store, 'v3', r3.parts[0]!.id))!;
  expect(head.format_version).toBe(3);
  expect(head.index.kind).toBe('ivf');
  return { engine, rows };
}

/** What a client sees of a query: rows (ids, attributes, $dist / $score) and aggregations. */
async function answer(engine: Engine, ns: string, body: Record<string, unknown>) {
  const r = (await engine.query(ns, body)) as { rows?: unknown[]; aggregations?: unknown };
  return { rows: r.rows, aggregations: r.aggregations };
}

describe('part format 3 answers like format 2', () => {
  it('should give identical answers to kNN, ANN, filters, BM25, order by, aggregates and id lookups', async () => {
    const { engine, rows } = await namespaces();
    const withVector = rows.filter((d) => d.vector !== null);
    const queries: Record<string, unknown>[] = [];
    for (const i of [0, 17, 101, 250]) {
      const q = Array.from(withVector[i]!.vector!, (x, d) => x + (d % 2 === 0 ? 0.05 : -0.05));
      queries.push(
        { rank_by: ['vector', 'kNN', q], top_k: 10, include_attributes: true },
        { rank_by: ['vector', 'ANN', q], top_k: 10, include_attributes: ['price', 'cat'] },
        { rank_by: ['vector', 'ANN', q], top_k: 5, filters: ['And', [['cat', 'Eq', 'b'], ['price', 'Lt', 60]]] },
        { rank_by: ['vector', 'kNN', q], top_k: 25, filters: ['active', 'Eq', true], include_attributes: ['vector'] },
      );
    }
    queries.push(
      { rank_by: ['id', 'asc'], top_k: 1000, include_attributes: true },
      { rank_by: ['price', 'desc'], top_k: 30, include_attributes: ['price'] },
      { rank_by: ['title', 'BM25', 'quick fox'], top_k: 20 },
      { rank_by: ['title', 'BM25', 'owl'], top_k: 50, filters: ['cat', 'In', ['a', 'c']] },
      { rank_by: ['id', 'desc'], top_k: 100, filters: ['And', [['price', 'Gte', 20], ['price', 'Lt', 40], ['active', 'Eq', false]]] },
      { rank_by: ['id', 'asc'], top_k: 100, filters: ['id', 'In', [3, 10, 703, 2796, 5, 99999]], include_attributes: true },
      { aggregate_by: { n: ['Count'] } },
      { aggregate_by: { n: ['Count'] }, filters: ['cat', 'Eq', 'c'] },
    );
    for (const body of queries) {
      const [a, b] = [await answer(engine, 'v2', body), await answer(engine, 'v3', body)];
      expect(b, JSON.stringify(body).slice(0, 120)).toEqual(a);
      expect((a.rows ?? [a.aggregations]).length, JSON.stringify(body).slice(0, 120)).toBeGreaterThan(0);
    }

    // Writes resolve ids through each part's id index (patches, conditional deletes): same outcome in both.
    for (const ns of ['v2', 'v3']) {
      await engine.write(ns, { patch_rows: [{ id: 10, price: 1234.5 }, { id: 2796, cat: 'z' }], deletes: [703, 3] });
      await engine.write(ns, { upsert_rows: [{ id: 17, vector: Array.from(withVector[5]!.vector!), price: 1, cat: 'new', active: true, title: 'fox' }] });
    }
    for (const body of [queries[0]!, queries[queries.length - 4]!, { rank_by: ['price', 'desc'], top_k: 3, include_attributes: true }, { aggregate_by: { n: ['Count'] } }]) {
      expect(await answer(engine, 'v3', body)).toEqual(await answer(engine, 'v2', body));
    }
    const got = await answer(engine, 'v3', { rank_by: ['id', 'asc'], top_k: 10, filters: ['id', 'In', [3, 10, 17, 703, 2796]], include_attributes: ['price', 'cat'] });
    expect(got.rows).toEqual([
      { id: 10, price: 1234.5, cat: rows.find((d) => d.id === 10)!.attrs.cat },
      { id: 17, price: 1, cat: 'new' },
      { id: 2796, price: rows.find((d) => d.id === 2796)!.attrs.price, cat: 'z' },
    ]);
  });
});
