/**
 * Recall of IVF parts through a namespace's life (issue 15, "Tests that must exist"): recall@10 of ANN at the
 * default probe depth against exact kNN stays ≥ 0.95 after indexing into several parts, updates (new vectors for
 * existing ids), deletes, compaction into one part, and with a WAL tail on top — on seeded clustered vectors and on
 * real text embeddings (fasttext vectors of WordNet glosses, test/fixtures/wordnet-vectors: see its README).
 * Clusters are small (≈100 rows) so that a CI-sized namespace has dozens of them and the default depth matters.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, type ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';

let t = Date.UTC(2026, 11, 4);
const clock = { now: () => (t += 1000) };
let nonce = 0;
const IVF = { kind: 'ivf' as const, minRows: 1000, targetSize: 100, minSize: 50, maxSize: 200 };
const engineOn = (store: ObjectStore) => new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });

interface Dataset {
  dims: number;
  metric: 'cosine_distance' | 'euclidean_squared';
  /** Vector i (deterministic). */
  vector(i: number): number[];
  count: number;
}

function clustered(count: number, dims: number, seed: number): Dataset {
  const r = seededRandom(seed);
  // Overlapping blobs (noise wider than the gaps between centres): a query's neighbours spread over several clusters.
  const centres = Array.from({ length: 300 }, () => Array.from({ length: dims }, () => r() * 4 - 2));
  const rows = Array.from({ length: count }, (_, i) => centres[(i * 7919) % 300]!.map((x) => x + (r() - 0.5) * 3));
  return { dims, metric: 'euclidean_squared', vector: (i) => rows[i]!, count };
}

/** test/fixtures/wordnet-vectors/vectors.f16.gz: `count` × `dims` little-endian f16, row-major (README there). */
function wordnet(): Dataset {
  const meta = JSON.parse(readFileSync(new URL('./fixtures/wordnet-vectors/meta.json', import.meta.url), 'utf8')) as { count: number; dims: number };
  const raw = gunzipSync(readFileSync(new URL('./fixtures/wordnet-vectors/vectors.f16.gz', import.meta.url)));
  const h = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  const f16 = (b: number) => {
    const s = b & 0x8000 ? -1 : 1;
    const e = (b >> 10) & 0x1f;
    const m = b & 0x3ff;
    return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  };
  return { dims: meta.dims, metric: 'cosine_distance', count: meta.count, vector: (i) => Array.from(h.subarray(i * meta.dims, (i + 1) * meta.dims), f16) };
}

async function recallAt10(store: ObjectStore, ns: string, d: Dataset, queries: number[]): Promise<number> {
  const e = engineOn(store);
  let found = 0;
  let asked = 0;
  for (const qi of queries) {
    const q = d.vector(qi).map((x, j) => x + Math.sin(qi + j) * 0.05);
    const knn = (await e.query(ns, { rank_by: ['vector', 'kNN', q], top_k: 10 })).rows!;
    const ann = (await e.query(ns, { rank_by: ['vector', 'ANN', q], top_k: 10 })).rows!;
    const kth = knn[knn.length - 1]!.$dist as number;
    found += ann.filter((r) => (r.$dist as number) <= kth).length;
    asked += knn.length;
  }
  return found / asked;
}

async function lifecycle(d: Dataset): Promise<Record<string, number>> {
  const store = new MemoryStore();
  const ns = 'recall';
  const e = engineOn(store);
  const n = d.count - 500; // the last 500 vectors replace old ones later
  const write = (ids: number[], vec: (id: number) => number[]) => e.write(ns, { distance_metric: d.metric, upsert_rows: ids.map((id) => ({ id, vector: vec(id) })) });
  const indexer = new Indexer(store, { clock, nonce: () => `i${nonce++}`, vectorIndex: IVF, maxEntriesPerPart: 2 });
  const index = async () => {
    while ((await indexer.indexNamespace(ns, true)).result === 'published');
  };
  for (let b = 0; b < n; b += 1000) await write(Array.from({ length: Math.min(1000, n - b) }, (_, i) => b + i), (id) => d.vector(id));
  await index();
  const r = seededRandom(7);
  const queries = Array.from({ length: 40 }, () => Math.floor(r() * n));
  const out: Record<string, number> = {};
  const router = (await new RouterStore(store).read(ns))!.router;
  expect(router.parts.length).toBeGreaterThan(1);
  expect(router.parts.every((p) => p.index_kind === 'ivf')).toBe(true);
  out.parts = await recallAt10(store, ns, d, queries);
  // Updates: 500 ids get other rows' vectors; deletes: 300 ids.
  await write(Array.from({ length: 500 }, (_, i) => (i * 13) % n), (id) => d.vector(n + ((id * 7) % 500)));
  await e.write(ns, { deletes: Array.from({ length: 300 }, (_, i) => (i * 17 + 5) % n) });
  await index();
  out.updates_deletes = await recallAt10(store, ns, d, queries);
  const c = await compactNamespace(store, ns, { clock, nonce: () => `c${nonce++}`, force: true, maxParts: 1000, vectorIndex: IVF });
  expect(c.result).toBe('compacted');
  out.compacted = await recallAt10(store, ns, d, queries);
  await write(Array.from({ length: 200 }, (_, i) => n + 10_000 + i), (id) => d.vector(id % n).map((x) => x * 1.01));
  out.with_tail = await recallAt10(store, ns, d, queries);
  return out;
}

describe('IVF recall through parts, updates, deletes, compaction and the tail', () => {
  it('should keep recall@10 ≥ 0.95 at the default probe depth on seeded clustered vectors', { timeout: 120_000 }, async () => {
    const out = await lifecycle(clustered(6000, 32, 79));
    console.log('clustered', JSON.stringify(out));
    for (const [stage, r] of Object.entries(out)) expect(r, stage).toBeGreaterThanOrEqual(0.95);
  });

  it('should keep recall@10 ≥ 0.95 at the default probe depth on real text embeddings (WordNet glosses, fasttext)', { timeout: 120_000 }, async () => {
    const out = await lifecycle(wordnet());
    console.log('wordnet', JSON.stringify(out));
    for (const [stage, r] of Object.entries(out)) expect(r, stage).toBeGreaterThanOrEqual(0.95);
  });
});
