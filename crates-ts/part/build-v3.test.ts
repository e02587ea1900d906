import { describe, expect, it } from 'vitest';
import { BlockCache } from '../cache/index.js';
import { isElaxError, type DistanceMetric, type Doc, type Id } from '../core/index.js';
import {
  IvfSearcher, codebookIndex, codebookRotation, encodeCluster, fhtRotation, indexSpace, seededRandom, sqDistAt, type ClusterCodes, type Codebook,
} from '../ivf/index.js';
import { distance } from '../query/index.js';
import { CountingStore, MemoryStore } from '../store/index.js';
import {
  PartData, buildPartFiles, rerankBlockRows, clusterEntry, loadPart, lookupIdsV2, newPartId, partFileKey, readManifest, uploadPart,
  type BuiltPart, type PartHeadV3,
} from './index.js';
import { gaussian } from './testing.js';

const NS = 'ns3';

interface Case {
  dims: number;
  metric: DistanceMetric;
  codebook: Codebook;
  docs: Doc[];
  deleted: Id[];
}

/**
 * A random part against a random codebook: dims 1..150 (mostly not multiples of 64), some centroids retired, each
 * live centroid drawing 0, 1, 2, a few or many vectors (empty and one-row clusters are common), some rows without a
 * vector, ids shuffled over a sparse range, a few deletes.
 */
function randomCase(seed: number): Case {
  const r = seededRandom(seed);
  const dims = 1 + Math.floor(r() * 150);
  const k = 1 + Math.floor(r() * 8);
  const metric: DistanceMetric = r() < 0.5 ? 'cosine_distance' : 'euclidean_squared';
  const centroids = Float32Array.from({ length: k * dims }, () => 10 * gaussian(r));
  const retired = Uint8Array.from({ length: k }, (_, c) => (c > 0 && r() < 0.2 ? 1 : 0));
  const codebook: Codebook = {
    version: 1 + Math.floor(r() * 5),
    metric,
    dims,
    k,
    centroids: metric === 'cosine_distance' ? indexSpace(metric, centroids, dims) : centroids,
    radii: new Float32Array(k),
    retired,
    rotationSigns: fhtRotation(dims, r).signs,
  };
  const vectors: Float32Array[] = [];
  for (let c = 0; c < k; c++) {
    if (retired[c]) continue;
    const n = [0, 0, 1, 1, 2, 5, 17][Math.floor(r() * 7)]!;
    for (let i = 0; i < n; i++) vectors.push(Float32Array.from({ length: dims }, (_, d) => centroids[c * dims + d]! + 0.3 * gaussian(r)));
  }
  const rows = vectors.length + Math.floor(r() * 4);
  const ids = new Set<number>();
  while (ids.size < rows + 3) ids.add(Math.floor(r() * 1e6));
  const idList = [...ids];
  const docs: Doc[] = Array.from({ length: rows }, (_, i) => ({
    id: idList[i]!,
    vector: i < vectors.length ? vectors[i]! : null,
    attrs: { g: i % 3, name: `n${i}` },
  }));
  return { dims, metric, codebook, docs, deleted: idList.slice(rows) };
}

async function build(c: Case, partId: string, o: { codebook?: Codebook | null; maxSize?: number; minSize?: number; targetSize?: number; format?: 2; keep?: number[] } = {}): Promise<BuiltPart> {
  const changes = new Map<Id, Doc | null>();
  for (const d of c.docs) changes.set(d.id, d);
  for (const id of c.deleted) changes.set(id, null);
  return buildPartFiles({
    namespace: NS,
    partId,
    walStart: 1,
    walEnd: 3,
    level: 0,
    changes,
    schema: { vector: { type: `[${c.dims}]f32` } },
    distanceMetric: c.metric,
    createdAt: '2026-12-05T00:00:00.000Z',
    ...(o.format === 2
      ? { partFormat: 2, hnsw: { flatThreshold: 1e9 } }
      : { vectorIndex: { kind: 'ivf', codebook: o.codebook === undefined ? c.codebook : o.codebook, maxSize: o.maxSize, minSize: o.minSize, targetSize: o.targetSize, ...(o.keep ? { merge: { keep: o.keep } } : {}) } }),
  });
}

async function stored(c: Case, o: Parameters<typeof build>[2] = {}) {
  const store = new MemoryStore();
  const partId = newPartId(1, 3, 'p');
  const built = await build(c, partId, o);
  await uploadPart(store, built);
  const head = (await readManifest(store, NS, partId))! as PartHeadV3;
  return { store, partId, built, head, data: new PartData(head, store, undefined, new BlockCache(64 * 1024 * 1024)) };
}

/** The nearest live centroid of v (index space), ties to the lower id: the builder's assignment. */
function nearest(cb: Codebook, v: Float32Array): number {
  let best = -1;
  let bestD = Infinity;
  for (let c = 0; c < cb.k; c++) {
    if (cb.retired[c]) continue;
    const d = sqDistAt(v, 0, cb.centroids, c * cb.dims, cb.dims);
    if (d < bestD) (bestD = d), (best = c);
  }
  return best;
}

function sameCodes(got: ClusterCodes, want: ClusterCodes): void {
  // The radius is stored as f32.
  expect({ n: got.n, padded: got.padded, firstRow: got.firstRow, rowIds: got.rowIds, radius: got.radius }).toEqual({ n: want.n, padded: want.padded, firstRow: want.firstRow, rowIds: null, radius: Math.fround(want.radius) });
  expect(Buffer.from(got.codes)).toEqual(Buffer.from(want.codes));
  expect(Array.from(got.add)).toEqual(Array.from(want.add));
  expect(Array.from(got.rescale)).toEqual(Array.from(want.rescale));
  expect(Array.from(got.err)).toEqual(Array.from(want.err));
}

/**
 * Everything a format-3 part stores, read back and checked against the input and against codes recomputed from the
 * vectors read back: rows (ids, attributes, vectors) in (cluster, id) order, id lookups, the cluster table, every
 * cluster's codes. Returns the cluster of each vector row (by id).
 */
async function checkPart(c: Case, s: Awaited<ReturnType<typeof stored>>, cb: Codebook): Promise<Map<Id, number>> {
  const { head, data, store, partId } = s;
  expect(head.format_version).toBe(3);
  expect(head.index.kind).toBe('ivf');
  expect(head.ivf.codebook_version).toBe(cb.version);
  expect(head.files.some((f) => f.name === 'vectors.hnsw')).toBe(false);
  const byId = new Map(c.docs.map((d) => [d.id, d]));
  const ords = Array.from({ length: head.rows }, (_, i) => i);
  const got = await data.docs(ords);
  expect(got.length).toBe(c.docs.length);
  for (const d of got) {
    const want = byId.get(d.id)!;
    expect(d.attrs).toEqual(want.attrs);
    expect(d.vector === null ? null : Array.from(d.vector)).toEqual(want.vector === null ? null : Array.from(want.vector));
  }
  // The same rows through the whole-part decoder (compaction's path), and id lookups both ways.
  const loaded = await loadPart(store, NS, partId);
  expect(loaded.docs.map((d) => d.id)).toEqual(got.map((d) => d.id));
  const lookedUp = await lookupIdsV2(store, head, [...c.docs.map((d) => d.id), ...c.deleted, -1]);
  expect(lookedUp.size).toBe(c.docs.length);
  got.forEach((d, o) => {
    expect(lookedUp.get(d.id)).toBe(o);
    expect(loaded.getOrdinal(d.id)).toBe(o);
  });
  for (const id of c.deleted) expect(loaded.getOrdinal(id)).toBe(-1);

  // Row order: vector rows by (cluster, id), then the rest by id.
  const m = head.ivf.vectors;
  expect(m).toBe(c.docs.filter((d) => d.vector !== null).length);
  expect(got.slice(m).every((d) => d.vector === null)).toBe(true);
  const space = got.slice(0, m).map((d) => indexSpace(c.metric, d.vector!, c.dims));
  const table = await data.clusterTable();
  const clusterOfOrd = new Int32Array(m).fill(-1);
  for (let i = 0; i < table.centroid.length; i++) for (let o = table.first[i]!; o < table.first[i]! + table.rows[i]!; o++) clusterOfOrd[o] = table.centroid[i]!;
  expect(clusterOfOrd.every((x) => x >= 0 && x < cb.k && cb.retired[x] === 0)).toBe(true);
  for (let o = 1; o < m; o++) {
    const a = clusterOfOrd[o - 1]!;
    const b = clusterOfOrd[o]!;
    expect(a < b || (a === b && (got[o - 1]!.id as number) < (got[o]!.id as number))).toBe(true);
  }
  for (let o = m + 1; o < got.length; o++) expect((got[o - 1]!.id as number) < (got[o]!.id as number)).toBe(true);

  // Codes: what the codebook's rotation and centroids give for the vectors read back, bit for bit.
  const rotation = codebookRotation(cb);
  const flat = new Float32Array(m * c.dims);
  space.forEach((v, o) => flat.set(v, o * c.dims));
  const all = Array.from({ length: cb.k + 2 }, (_, x) => x);
  const prepared = await data.prepareClusters(all);
  try {
    for (const x of all) {
      const i = clusterEntry(table, x);
      const codes = prepared.codes(x);
      if (i < 0) {
        expect(codes.n).toBe(0);
        continue;
      }
      const rows = Uint32Array.from({ length: table.rows[i]! }, (_, j) => table.first[i]! + j);
      const want = encodeCluster(flat, rows, cb.centroids, x * c.dims, rotation, table.first[i]!);
      sameCodes(codes, want);
      expect(table.radius[i]).toBe(Math.fround(want.radius));
    }
  } finally {
    prepared.release();
  }
  return new Map(got.slice(0, m).map((d, o) => [d.id, clusterOfOrd[o]!]));
}

describe('part format 3', () => {
  it('should size vector blocks for rerank reads: ≈32 KiB, a power of two from 8 to 256 rows', () => {
    expect([1, 16, 32, 100, 128, 384, 768, 1536, 4096].map(rerankBlockRows)).toEqual([256, 256, 256, 64, 64, 16, 8, 8, 8]);
  });

  it('should round-trip random parts against a given codebook (dims not multiples of 64, empty and one-row clusters)', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const c = randomCase(seed);
      const s = await stored(c);
      expect(s.built.codebook).toEqual({ codebook: c.codebook, changed: false });
      if (s.head.vectors) expect(s.head.vectors.block_rows).toBe(rerankBlockRows(c.dims)); // small blocks: rerank reads
      const clusters = await checkPart(c, s, c.codebook);
      // No cluster is over maxSize here: every vector is in its nearest live centroid.
      for (const d of c.docs) if (d.vector) expect(clusters.get(d.id), `seed ${seed} id ${d.id}`).toBe(nearest(c.codebook, indexSpace(c.metric, d.vector, c.dims)));
    }
  });

  it('should split clusters over maxSize into appended centroids and build against the new version', async () => {
    for (let seed = 100; seed <= 110; seed++) {
      const c = randomCase(seed);
      const s = await stored(c, { maxSize: 4, minSize: 1 });
      const cb = s.built.codebook!.codebook;
      const big = c.codebook.k > 0 && (await s.data.clusterTable()).rows.some((n) => n > 4);
      expect(big).toBe(false);
      if (cb.version === c.codebook.version) expect(s.built.codebook!.changed).toBe(false);
      else {
        expect(cb.version).toBe(c.codebook.version + 1);
        expect(s.built.codebook!.changed).toBe(true);
        expect(cb.centroids.subarray(0, c.codebook.k * c.dims)).toEqual(c.codebook.centroids);
      }
      await checkPart(c, s, cb);
    }
  });

  it('should fold small clusters, split big ones and retire empty centroids at compaction (merge), all in one new version', async () => {
    let folded = 0;
    let emptied = 0;
    let split = 0;
    for (let seed = 200; seed <= 230; seed++) {
      const c = randomCase(seed);
      // Centroid 0 is held elsewhere (keep): it stays live whatever this part holds.
      const s = await stored(c, { maxSize: 6, minSize: 3, keep: [0] });
      const cb = s.built.codebook!.codebook;
      const base = c.codebook;
      const table = await s.data.clusterTable();
      // Never above maxSize (folds come before splits).
      for (let i = 0; i < table.centroid.length; i++) expect(table.rows[i]!).toBeLessThanOrEqual(6);
      if (cb === base) {
        expect(s.built.codebook!.changed).toBe(false);
      } else {
        expect(cb.version).toBe(base.version + 1); // one version, however many steps changed it
        expect(s.built.codebook!.changed).toBe(true);
        expect(cb.centroids.subarray(0, base.k * c.dims)).toEqual(base.centroids);
      }
      expect(cb.retired[0]).toBe(0);
      const present = new Set(table.centroid);
      let live = 0;
      for (let x = 0; x < cb.k; x++) {
        if (base.retired[x]) expect(cb.retired[x]).toBe(1); // retirement is for ever
        if (cb.retired[x]) expect(present.has(x)).toBe(false);
        else {
          live++;
          // A live centroid either holds rows here, or is kept, or is the last one.
          if (!present.has(x) && x !== 0) expect(present.size === 0 && live === 1).toBe(true);
        }
        if (x < base.k && !base.retired[x] && cb.retired[x]) {
          const had = c.docs.filter((d) => d.vector && nearest(base, indexSpace(c.metric, d.vector, c.dims)) === x).length;
          if (had === 0) emptied++;
          else if (had < 3) folded++;
          else split++;
        }
      }
      // A cluster under minSize is kept (0), the only one, or a split's (halves and the neighbours its reassignment
      // shrinks may be small: the next compaction folds them).
      for (let i = 0; i < table.centroid.length; i++) {
        const x = table.centroid[i]!;
        if (table.rows[i]! < 3) expect(x === 0 || table.centroid.length === 1 || x >= base.k, `seed ${seed} centroid ${x}`).toBe(true);
      }
      await checkPart(c, s, cb);
    }
    expect(folded).toBeGreaterThan(0);
    expect(emptied).toBeGreaterThan(0);
    expect(split).toBeGreaterThan(0);
  });

  it('should train codebook version 1 when the namespace has none', async () => {
    const c = randomCase(7);
    const s = await stored(c, { codebook: null, targetSize: 4, minSize: 2, maxSize: 8 });
    const { codebook: cb, changed } = s.built.codebook!;
    expect(changed).toBe(true);
    expect(cb.version).toBe(1);
    expect(cb.dims).toBe(c.dims);
    expect(cb.metric).toBe(c.metric);
    await checkPart(c, s, cb);
  });

  it('should be deterministic: the same input gives byte-identical files', async () => {
    const c = randomCase(3);
    const a = await build(c, newPartId(1, 3, 'p'), { codebook: null, targetSize: 4, minSize: 2, maxSize: 8 });
    const b = await build(c, newPartId(1, 3, 'p'), { codebook: null, targetSize: 4, minSize: 2, maxSize: 8 });
    expect(a.files.map((f) => [f.name, Buffer.from(f.bytes).toString('base64')])).toEqual(b.files.map((f) => [f.name, Buffer.from(f.bytes).toString('base64')]));
  });

  it('should refuse a codebook of other dimensions or metric, and format 3 without a clustered index', async () => {
    const c = randomCase(4);
    await expect(build(c, newPartId(1, 3, 'p'), { codebook: { ...c.codebook, dims: c.dims + 1 } })).rejects.toThrow(/codebook version/);
    const other: DistanceMetric = c.metric === 'cosine_distance' ? 'euclidean_squared' : 'cosine_distance';
    await expect(build(c, newPartId(1, 3, 'p'), { codebook: { ...c.codebook, metric: other } })).rejects.toThrow(/codebook version/);
    await expect(buildPartFiles({ namespace: NS, partId: newPartId(1, 1, 'p'), walStart: 1, walEnd: 1, level: 0, changes: new Map(), schema: {}, distanceMetric: null, createdAt: 'now', partFormat: 3 })).rejects.toMatchObject({
      code: 'ELAX_ERR_INVALID_REQUEST',
    });
  });

  it('should read the cluster table with one ranged GET and each cluster with one more, then from the cache', async () => {
    let c = randomCase(20);
    for (let seed = 21; c.docs.filter((d) => d.vector).length < 10; seed++) c = randomCase(seed);
    const s = await stored(c);
    const counting = new CountingStore(s.store);
    const data = new PartData(s.head, counting, undefined, new BlockCache(1 << 24));
    const table = await data.clusterTable();
    expect(counting.requests).toMatchObject({ get: 0, get_range: 1 });
    const some = Array.from(table.centroid).slice(0, 3);
    const p = await data.prepareClusters([...some, 1e6]);
    expect(counting.requests).toMatchObject({ get: 0, get_range: 1 + some.length });
    p.release();
    (await data.prepareClusters(some)).release();
    expect(counting.requests).toMatchObject({ get: 0, get_range: 1 + some.length });
    const q = await data.prepareClusters([]);
    expect(() => q.codes(some[0]!)).toThrow(/before prepareClusters/);
  });

  it('should peek the vector of a row in the block cache without fetching: undefined until its block is read, then the vector', async () => {
    let c = randomCase(40);
    for (let seed = 41; !(c.docs.some((d) => d.vector) && c.docs.some((d) => !d.vector)); seed++) c = randomCase(seed);
    const s = await stored(c);
    const counting = new CountingStore(s.store);
    const data = new PartData(s.head, counting, undefined, new BlockCache(1 << 24));
    const ords = Array.from({ length: s.head.rows }, (_, o) => o);
    const before = { ...counting.requests };
    for (const o of ords) expect(data.peekVectorAt(o)).toBeUndefined();
    expect(counting.requests).toEqual(before); // peeking never fetches
    (await data.prepare({ attrs: [], vectors: false, ids: false, vectorRows: ords }))();
    const docs = await new PartData(s.head, s.store, undefined, new BlockCache(1 << 24)).docs(ords, { attrs: [], vector: true });
    for (const o of ords) {
      const at = data.peekVectorAt(o);
      const want = docs[o]!.vector;
      if (want === null) expect(at).toBeNull();
      else expect(Array.from(at!.data.subarray(at!.off, at!.off + c.dims))).toEqual(Array.from(want));
    }
  });

  it('should read adjacent vector blocks a rerank needs in one ranged GET per run, each block checked', async () => {
    const dims = 16;
    const r = seededRandom(77);
    const docs: Doc[] = Array.from({ length: 2000 }, (_, i) => ({ id: i, vector: Float32Array.from({ length: dims }, () => r() * 2 - 1), attrs: {} }));
    const store = new MemoryStore();
    const partId = newPartId(1, 3, 'runs');
    const built = await buildPartFiles({
      namespace: NS, partId, walStart: 1, walEnd: 3, level: 0, changes: new Map(docs.map((d) => [d.id, d])), schema: { vector: { type: `[${dims}]f32` } },
      distanceMetric: 'euclidean_squared', createdAt: '2026-12-04T00:00:00.000Z', vectorIndex: { kind: 'ivf', codebook: null, targetSize: 100, minSize: 50, maxSize: 200 },
    });
    await uploadPart(store, built);
    const head = (await readManifest(store, NS, partId))! as PartHeadV3;
    const blockRows = head.vectors!.block_rows;
    expect(2000 / blockRows).toBeGreaterThan(4);
    const counting = new CountingStore(store);
    const data = new PartData(head, counting, undefined, new BlockCache(1 << 24));
    // Rows of blocks 0..2 and of block 4: two runs, two ranged reads (not four).
    const rows = [0, blockRows + 1, 2 * blockRows + 5, 4 * blockRows];
    const before = counting.requests.get_range ?? 0;
    (await data.prepare({ attrs: [], vectors: false, ids: false, vectorRows: rows }))();
    expect((counting.requests.get_range ?? 0) - before).toBe(2);
    const byOrdinal = await new PartData(head, store, undefined, new BlockCache(1 << 24)).docs(rows, { attrs: [], vector: true });
    rows.forEach((o, i) => {
      const at = data.peekVectorAt(o)!;
      expect(Array.from(at.data.subarray(at.off, at.off + dims))).toEqual(Array.from(byOrdinal[i]!.vector!));
    });
  });

  it('should give the ivf search hooks what they need: exact kNN by ordinal when every cluster is probed', async () => {
    const r = seededRandom(77);
    const dims = 24;
    const c: Case = {
      dims,
      metric: 'cosine_distance',
      codebook: null as unknown as Codebook,
      docs: Array.from({ length: 600 }, (_, i) => ({ id: i * 3, vector: Float32Array.from({ length: dims }, (_, d) => Math.sin((i % 9) * 1.3 + d) * 2 + gaussian(r) * 0.3), attrs: {} })),
      deleted: [],
    };
    const s = await stored(c, { codebook: null, targetSize: 40, minSize: 15, maxSize: 80 });
    const cb = s.built.codebook!.codebook;
    expect(cb.k).toBeGreaterThan(5);
    const docs = await s.data.docs(Array.from({ length: s.head.rows }, (_, o) => o));
    const prepared = await s.data.prepareClusters(Array.from({ length: cb.k }, (_, x) => x));
    try {
      const searcher = new IvfSearcher(codebookIndex(cb));
      for (const qi of [0, 123, 599]) {
        const q = Float32Array.from(c.docs[qi]!.vector!, (x, d) => x + (d % 3) * 0.1);
        const res = searcher.search(q, { topK: 10, nprobe: cb.k, eps0: Infinity }, {
          cluster: (x) => prepared.codes(x),
          exact: (rows) => Array.from(rows, (o) => distance('cosine_distance', q, docs[o]!.vector!)),
        });
        const want = docs.map((d, o) => [distance('cosine_distance', q, d.vector!), o] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, 10);
        expect(Array.from(res.rows)).toEqual(want.map((x) => x[1]));
        expect(Array.from(res.distances)).toEqual(want.map((x) => x[0]));
      }
    } finally {
      prepared.release();
    }
  });

  describe('corruption', () => {
    it('should fail the ranged read of a cluster whose codes block has a flipped byte, naming the file and block', async () => {
      const c = randomCase(5);
      const s = await stored(c);
      const table = await s.data.clusterTable();
      expect(table.centroid.length).toBeGreaterThan(0);
      const key = partFileKey(NS, s.partId, 'codes.blk');
      const good = (await s.store.get(key))!.bytes;
      const i = table.centroid.length - 1;
      const bad = new Uint8Array(good); // a copy (Buffer#slice is a view)
      bad[table.offset[i]! + 40] ^= 0x01;
      await s.store.put(key, bad);
      const err = await s.data.prepareClusters([table.centroid[i]!]).catch((e: unknown) => e);
      expect(isElaxError(err, 'ELAX_ERR_CORRUPT'), String(err)).toBe(true);
      expect((err as Error).message).toContain(`${key} block ${i}`);
      // Other clusters read fine; and nothing of the bad one was cached: once repaired, it reads.
      if (i > 0) (await s.data.prepareClusters([table.centroid[0]!])).release();
      await s.store.put(key, good);
      const ok = await s.data.prepareClusters([table.centroid[i]!]);
      expect(ok.codes(table.centroid[i]!).n).toBe(table.rows[i]);
      ok.release();
    });

    it('should fail reading a cluster table with a flipped byte, and one that does not match the head', async () => {
      const c = randomCase(6);
      const s = await stored(c);
      const key = partFileKey(NS, s.partId, 'ivf.blk');
      const good = (await s.store.get(key))!.bytes;
      const bad = new Uint8Array(good);
      bad[9] ^= 0x01;
      await s.store.put(key, bad);
      await expect(s.data.clusterTable()).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT', message: expect.stringContaining(key) });
      // A head claiming another cluster count than its table holds (the block's CRC still matches).
      await s.store.put(key, good);
      const head = { ...s.head, ivf: { ...s.head.ivf, clusters: s.head.ivf.clusters + 1 } } as PartHeadV3;
      const pd = new PartData(head, s.store, undefined, new BlockCache(1 << 20));
      await expect(pd.clusterTable()).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT', message: expect.stringMatching(/entries; the head says/) });
    });
  });

  describe('heads', () => {
    it('should refuse a newer format, a format-3 head without its index, and an ivf index in a format-2 head', async () => {
      const c = randomCase(8);
      const s = await stored(c);
      const key = partFileKey(NS, s.partId, 'manifest.json');
      const raw = JSON.parse(Buffer.from((await s.store.get(key))!.bytes).toString()) as Record<string, unknown>;
      const put = (m: Record<string, unknown>) => s.store.put(key, Buffer.from(JSON.stringify(m)));
      await put({ ...raw, format_version: 4 });
      await expect(readManifest(s.store, NS, s.partId)).rejects.toMatchObject({ code: 'ELAX_ERR_INCOMPATIBLE_FORMAT' });
      const { ivf: _ivf, ...noIvf } = raw;
      await put(noIvf);
      await expect(readManifest(s.store, NS, s.partId)).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT', message: expect.stringMatching(/format 3 without a clustered index/) });
      await put({ ...raw, format_version: 2 });
      await expect(readManifest(s.store, NS, s.partId)).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT', message: expect.stringMatching(/index kind ivf in a format 2 part/) });
      await put(raw);
      expect((await readManifest(s.store, NS, s.partId))!.format_version).toBe(3);
    });
  });
});
