/**
 * Recall of IVF parts through a namespace's life (issue 15, "Tests that must exist"): recall@10 of ANN at the
 * default probe depth against exact kNN stays ≥ 0.95 after indexing into several parts, updates (new vectors for
 * existing ids), deletes, compaction into one part, and with a WAL tail on top — on seeded clustered vectors and on
 * real text embeddings (fasttext vectors of WordNet glosses, test/fixtures/wordnet-vectors: see its README).
 * The cluster sizes are the production defaults (target 1,000 rows): a 30,000-row namespace has ≈30 clusters.
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
import { sweepProbes } from '../crates-ts/engine/recall-tuning.js';
import { readCodebook } from '../crates-ts/vindex/index.js';
import { ClusterUsage } from '../indexer/cluster-usage.js';
import { LivenessReader } from '../indexer/liveness.js';

let t = Date.UTC(2026, 11, 4);
const clock = { now: () => (t += 1000) };
let nonce = 0;
/** The production cluster sizes (target 1,000, 500..2,000); only the training threshold is lowered for CI-sized data. */
const IVF = { kind: 'ivf' as const, minRows: 5000 };
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

interface Plan {
  ivf: { kind: 'ivf'; minRows: number; targetSize?: number; minSize?: number; maxSize?: number };
  /** WAL entries (1,000 rows each) per part. */
  perPart: number;
  /** Rows that get other vectors later (taken from the end of the dataset), and rows deleted. */
  updates: number;
  deletes: number;
  /** Tune the probe depth to this recall once the parts are built (elax recall --tune), as an operator would. */
  tune?: number;
}

async function lifecycle(d: Dataset, plan: Plan): Promise<{ recall: Record<string, number>; maxCluster: number; tunedProbes?: number; defaultDepth: { probes?: number; probes_source?: string } }> {
  const store = new MemoryStore();
  const ns = 'recall';
  const e = engineOn(store);
  const n = d.count - plan.updates; // the last vectors replace old ones later
  const write = (ids: number[], vec: (id: number) => number[]) => e.write(ns, { distance_metric: d.metric, upsert_rows: ids.map((id) => ({ id, vector: vec(id) })) });
  const indexer = new Indexer(store, { clock, nonce: () => `i${nonce++}`, vectorIndex: plan.ivf, maxEntriesPerPart: plan.perPart });
  const index = async () => {
    while ((await indexer.indexNamespace(ns, true)).result === 'published');
  };
  for (let b = 0; b < n; b += 1000) await write(Array.from({ length: Math.min(1000, n - b) }, (_, i) => b + i), (id) => d.vector(id));
  // Parts of ≈6,000 rows: the first trains the codebook, the next ones reuse and extend it.
  await index();
  const r = seededRandom(7);
  const queries = Array.from({ length: 40 }, () => Math.floor(r() * n));
  const out: Record<string, number> = {};
  const router = (await new RouterStore(store).read(ns))!.router;
  expect(router.parts.length).toBeGreaterThan(1);
  expect(router.parts.every((p) => p.index_kind === 'ivf')).toBe(true);
  // The namespace's clusters, summed over the parts that reuse the codebook, stay near maxSize (ExtendOptions.others).
  const cb = await readCodebook(store, ns, router.vindex!);
  const maxCluster = Math.max(...(await new ClusterUsage(new LivenessReader(store, ns)).rowsPerCentroid(router, cb.k)));
  const { probes, probes_source } = await e.recall(ns, { num: 10, seed: 3 });
  const defaultDepth = { probes, probes_source };
  let tunedProbes: number | undefined;
  if (plan.tune !== undefined) {
    // elax recall --tune: sweep on a sample of stored vectors, record the smallest depth meeting the target.
    const sweep = await sweepProbes((probes) => e.recall(ns, { probes, num: 100, seed: 3 }), plan.tune);
    expect(sweep.chosen).not.toBeNull();
    await e.recordProbesMin(ns, sweep.chosen!, (await new RouterStore(store).read(ns))!.router);
    tunedProbes = sweep.chosen!;
  }
  out.parts = await recallAt10(store, ns, d, queries);
  // Updates: 500 ids get other rows' vectors; deletes: 300 ids.
  await write(Array.from({ length: plan.updates }, (_, i) => (i * 13) % n), (id) => d.vector(n + ((id * 7) % plan.updates)));
  await e.write(ns, { deletes: Array.from({ length: plan.deletes }, (_, i) => (i * 17 + 5) % n) });
  await index();
  out.updates_deletes = await recallAt10(store, ns, d, queries);
  const c = await compactNamespace(store, ns, { clock, nonce: () => `c${nonce++}`, force: true, maxParts: 1000, vectorIndex: plan.ivf });
  expect(c.result).toBe('compacted');
  out.compacted = await recallAt10(store, ns, d, queries);
  await write(Array.from({ length: 200 }, (_, i) => n + 10_000 + i), (id) => d.vector(id % n).map((x) => x * 1.01));
  out.with_tail = await recallAt10(store, ns, d, queries);
  return { recall: out, maxCluster, tunedProbes, defaultDepth };
}

describe('IVF recall through parts, updates, deletes, compaction and the tail', () => {
  it('should keep recall@10 ≥ 0.95 at the default probe depth on seeded clustered vectors', { timeout: 120_000 }, async () => {
    const { recall, maxCluster } = await lifecycle(clustered(30_000, 32, 79), { ivf: IVF, perPart: 6, updates: 2000, deletes: 1000 });
    console.log('clustered', JSON.stringify({ recall, maxCluster }));
    for (const [stage, r] of Object.entries(recall)) expect(r, stage).toBeGreaterThanOrEqual(0.95);
    // 28,000 rows in parts of ≈6,000 against a codebook trained on the first: without splitting clusters that are
    // full across parts, each of its ≈6 centroids would hold ≈4,700 rows by now.
    expect(maxCluster).toBeLessThanOrEqual(2 * 2000);
  });

  it('should keep recall@10 ≥ 0.95 at the default probe depth on real text embeddings (WordNet glosses, fasttext)', { timeout: 120_000 }, async () => {
    // 6,000 vectors: clusters of ≈100 rows (the production sizes would make a handful), parts of 2,000 rows.
    // At the old fixed default of 8 probes of ≈60 such clusters recall was ≈0.9 (measured). The builders' estimate
    // (ivf/probe-estimate.ts) must find the deeper default these vectors need, untuned, and hold ≥ 0.95 through
    // updates, deletes and compaction.
    const { recall, maxCluster, defaultDepth } = await lifecycle(wordnet(), { ivf: { kind: 'ivf', minRows: 1000, targetSize: 100, minSize: 50, maxSize: 200 }, perPart: 2, updates: 500, deletes: 300 });
    console.log('wordnet', JSON.stringify({ recall, maxCluster, defaultDepth }));
    expect(defaultDepth).toMatchObject({ probes_source: 'estimate' });
    expect(defaultDepth.probes).toBeGreaterThan(8);
    for (const [stage, r] of Object.entries(recall)) expect(r, stage).toBeGreaterThanOrEqual(0.95);
    expect(maxCluster).toBeLessThanOrEqual(2 * 200);
  });
});
