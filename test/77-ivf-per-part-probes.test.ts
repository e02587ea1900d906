/**
 * Per-part probing (RFC-0008 "Warm path, build rate and default depth"; namespace/ivf-query.ts): an ANN query probes
 * each format-3 part's own nearest clusters. A part built against an older codebook holds rows only in the older
 * centroids; later parts split those clusters and append centroids nearer to its rows, which it holds no row in.
 * Probed by the namespace's nearest centroids alone, such a part would contribute nothing at a shallow depth.
 *
 * Scenario: part 1 trains a codebook on 4 blobs; part 2 puts many rows on the same blobs, so its clusters split
 * and the codebook grows; then every row of part 1, queried by its own vector at depth 1 (ef_search 16), must come
 * back at distance 0, and the builders' estimates must be recorded in both part heads.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { readCodebook } from '../crates-ts/vindex/index.js';
import { readManifest } from '../crates-ts/part/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { Indexer } from '../indexer/indexer.js';

const DIMS = 8;
const IVF = { kind: 'ivf' as const, minRows: 50, targetSize: 40, minSize: 10, maxSize: 60 };
const clock = { now: () => 1_700_000_000_000 };
let nonce = 0;

function blobRow(id: number, r: () => number): { id: number; vector: number[] } {
  const centre = id % 4;
  return { id, vector: Array.from({ length: DIMS }, (_, d) => (d === centre ? 10 : 0) + (r() - 0.5) * 4) };
}

describe('ANN over parts built against different codebook versions', () => {
  it("should probe each part's own nearest clusters, so shallow queries still find an older part's rows", async () => {
    const store = new MemoryStore();
    const e = new Engine(store, { clock, sleep: () => Promise.resolve(), random: seededRandom(1), groupCommitMs: 0 });
    const indexer = new Indexer(store, { clock, nonce: () => `n${nonce++}`, vectorIndex: IVF });
    const ns = 'perpart';
    const r = seededRandom(2);
    const first = Array.from({ length: 200 }, (_, i) => blobRow(i, r));
    await e.write(ns, { distance_metric: 'euclidean_squared', upsert_rows: first });
    await indexer.drain(ns);
    const v1 = (await new RouterStore(store).read(ns))!.router;
    const k1 = (await readCodebook(store, ns, v1.vindex!)).k;
    await e.write(ns, { upsert_rows: Array.from({ length: 1200 }, (_, i) => blobRow(1000 + i, r)) });
    await indexer.drain(ns);
    const router = (await new RouterStore(store).read(ns))!.router;
    expect(router.parts.length).toBe(2);
    expect(router.parts.every((p) => p.index_kind === 'ivf')).toBe(true);
    const cb = await readCodebook(store, ns, router.vindex!);
    expect(cb.k).toBeGreaterThan(k1); // part 2 split clusters: the codebook grew past what part 1 was built with
    for (const p of router.parts) {
      const head = (await readManifest(store, ns, p.id)) as { ivf?: { probes_hint?: number } } | null;
      expect(head?.ivf?.probes_hint).toBeGreaterThanOrEqual(1);
    }
    for (const row of first) {
      const res = await e.query(ns, { rank_by: ['vector', 'ANN', row.vector], top_k: 1, ef_search: 16 });
      expect(res.rows![0], `id ${row.id}`).toMatchObject({ id: row.id, $dist: 0 });
    }
  });
});
