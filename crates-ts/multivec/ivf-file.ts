/**
 * A part's token-level IVF of one `[][N]f32` attribute with late_interaction (RFC-0015 §4, after ColBERT-PLAID / XTR):
 * every vector of every row, clustered by k-means into ~2.5·√(vectors) lists; a list holds its vectors' row ordinals and
 * int8 codes. File `mvivf-{n}.bin`, little-endian:
 *
 *   header, 64 bytes: "EMVI" | u8 version (1) | u8 metric (0 cosine_distance, 1 euclidean_squared) | u8 codes (1: i8) |
 *                     u8 0 | u32 rows | u32 dims | u32 lists | u32 entries (vectors) | u32 seed | u32 0 |
 *                     SHA-256 of the centroids and directory (32 bytes)
 *   centroids, lists × dims f32 (index space: unit vectors for cosine, as ivf/metric.ts)
 *   directory, lists × 16 bytes: u32 first (index of its first entry) | u32 count | u32 CRC-32 of its bytes | u32 0
 *   lists, in directory order; list i starts at listsAt + first·(8 + dims) and holds count × u32 row ordinals
 *     (ascending), count × f32 scales, count × dims i8 codes (a vector in index space ≈ scale × codes,
 *     scale = max |x| / 127)
 *
 * Header, centroids and directory come first, so a part is read by ranges: that prefix once (verified by its SHA-256),
 * then only the lists a query probes, each verified by its CRC-32. The builder is deterministic (seeded k-means).
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ElaxError, type DistanceMetric } from '../core/index.js';
import { allRows, assignRows, CentroidAssigner, nearestCentroid, sampleOf, seededRandom, sqDistAt } from '../ivf/index.js';
import { dotAt, squaredNorms } from '../ivf/kernels.js';

const MAGIC = [0x45, 0x4d, 0x56, 0x49]; // "EMVI"
export const MVIVF_VERSION = 1;
export const MVIVF_HEADER_BYTES = 64;
const DIR_BYTES = 16;
/** The build's k-means seed. */
export const MVIVF_SEED = 0x6d766976;

export interface MvIvfBuildOptions {
  /** Lists (default round(2.5·√vectors), at least 1, at most 65,536). */
  lists?: number;
  seed?: number;
  /** Vectors k-means trains on, per list (default 32). */
  samplePerList?: number;
  /** Lloyd iterations (default 8). */
  iterations?: number;
  /** More lists than this are trained and assigned in two levels (default MVIVF_MAX_FLAT). */
  maxFlat?: number;
}

/**
 * Lists above which the build clusters in two levels (twoLevel): ⌈√lists⌉ groups first, then each group's vectors into
 * its share of the lists. Each vector then meets ≈ (3 + 1)·√lists centroids instead of all of them (the flat build is
 * O(vectors × lists × dims) = O(vectors^1.5 × dims): 139 s for 1.65M vectors of 32 dims), but the lists are worse for
 * queries: on the benchmark data recall@10 0.90 against 0.94 flat at 10,000 rows, 0.89 against 0.97 at 50,000, for a
 * 4× faster build. So flat up to 4,096 lists (2.7M vectors), two levels only where flat would take hours.
 */
export const MVIVF_MAX_FLAT = 4096;

/** The lists a build of `vectors` vectors makes by default. */
export function defaultMvIvfLists(vectors: number): number {
  return Math.max(1, Math.min(65536, Math.round(2.5 * Math.sqrt(vectors))));
}

function isMulti(v: unknown, dims: number): v is number[][] {
  return Array.isArray(v) && v.length > 0 && Array.isArray(v[0]) && (v[0] as unknown[]).length === dims;
}

/** Builds the index over `values` (row ordinal order; anything but a `[][dims]` value: the row has none). */
export function buildMvIvfFile(values: readonly unknown[], dims: number, metric: DistanceMetric, o: MvIvfBuildOptions = {}): Uint8Array {
  const rows = values.length;
  let total = 0;
  for (const v of values) if (isMulti(v, dims)) total += v.length;
  // Every vector in index space (unit for cosine), with its row.
  const data = new Float32Array(total * dims);
  const rowOf = new Uint32Array(total);
  let t = 0;
  for (let r = 0; r < rows; r++) {
    const v = values[r];
    if (!isMulti(v, dims)) continue;
    for (const x of v) {
      const off = t * dims;
      let s = 0;
      for (let d = 0; d < dims; d++) s += x[d]! * x[d]!;
      const inv = metric === 'cosine_distance' ? (s > 0 ? 1 / Math.sqrt(s) : 0) : 1;
      for (let d = 0; d < dims; d++) data[off + d] = x[d]! * inv;
      rowOf[t++] = r;
    }
  }
  const seed = (o.seed ?? MVIVF_SEED) >>> 0;
  let lists = total === 0 ? 0 : Math.min(total, o.lists ?? defaultMvIvfLists(total));
  let centroids: Float32Array = new Float32Array(0);
  let labels: Uint32Array = new Uint32Array(0);
  if (lists > 0) {
    const random = seededRandom(seed);
    const perList = o.samplePerList ?? 32;
    const iterations = o.iterations ?? 8;
    if (lists <= (o.maxFlat ?? MVIVF_MAX_FLAT)) {
      const sample = sampleOf(allRows(total), lists * perList, random);
      centroids = trainLists(data, dims, sample, lists, iterations);
      labels = assignRows(data, dims, allRows(total), centroids, lists);
    } else ({ centroids, labels, lists } = twoLevel(data, dims, total, lists, perList, iterations, random));
  }
  // Counting sort by list, stable: each list's entries keep vector order, so its row ordinals ascend.
  const count = new Uint32Array(lists);
  for (let i = 0; i < total; i++) count[labels[i]!]!++;
  const first = new Uint32Array(lists);
  for (let c = 1; c < lists; c++) first[c] = first[c - 1]! + count[c - 1]!;
  const order = new Uint32Array(total);
  const fill = first.slice();
  for (let i = 0; i < total; i++) order[fill[labels[i]!]!++] = i;

  const stride = 8 + dims;
  const centAt = MVIVF_HEADER_BYTES;
  const dirAt = centAt + lists * dims * 4;
  const listsAt = dirAt + lists * DIR_BYTES;
  const out = new Uint8Array(listsAt + total * stride);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = MVIVF_VERSION;
  out[5] = metric === 'euclidean_squared' ? 1 : 0;
  out[6] = 1;
  dv.setUint32(8, rows, true);
  dv.setUint32(12, dims, true);
  dv.setUint32(16, lists, true);
  dv.setUint32(20, total, true);
  dv.setUint32(24, seed, true);
  for (let i = 0; i < lists * dims; i++) dv.setFloat32(centAt + i * 4, centroids[i]!, true);
  for (let c = 0; c < lists; c++) {
    const n = count[c]!;
    const at = listsAt + first[c]! * stride;
    for (let j = 0; j < n; j++) {
      const e = order[first[c]! + j]!;
      dv.setUint32(at + j * 4, rowOf[e]!, true);
      const off = e * dims;
      let max = 0;
      for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(data[off + d]!));
      const scale = Math.fround(max / 127);
      dv.setFloat32(at + n * 4 + j * 4, scale, true);
      const codes = at + n * 8 + j * dims;
      if (scale > 0) for (let d = 0; d < dims; d++) dv.setInt8(codes + d, Math.max(-127, Math.min(127, Math.round(data[off + d]! / scale))));
    }
    const d0 = dirAt + c * DIR_BYTES;
    dv.setUint32(d0, first[c]!, true);
    dv.setUint32(d0 + 4, n, true);
    dv.setUint32(d0 + 8, crc32(out.subarray(at, at + n * stride)) >>> 0, true);
  }
  out.set(createHash('sha256').update(out.subarray(centAt, listsAt)).digest(), 32);
  return out;
}

/**
 * k-means for many lists: seeds are the first `k` vectors of the (shuffled) sample, then Lloyd iterations whose
 * assignment runs on ivf's SIMD assigner (exact), stopping when no label changes; an empty list keeps its previous
 * centroid. Not ivf/kmeans.ts trainKMeans: its k-means++ seeding and scalar assignment are O(sample × k) per seed and
 * per iteration in JS, fine for its few dozen centroids, not for thousands of lists. The stored files depend on this
 * exact procedure (test/110b rebuilds the golden fixture byte for byte).
 */
function trainLists(data: Float32Array, dims: number, sample: Uint32Array, k: number, iterations: number): Float32Array {
  const centroids = new Float32Array(k * dims);
  for (let c = 0; c < k; c++) centroids.set(data.subarray(sample[c]! * dims, sample[c]! * dims + dims), c * dims);
  const sums = new Float64Array(k * dims);
  const counts = new Uint32Array(k);
  let prev: Uint32Array | null = null;
  for (let it = 0; it < iterations; it++) {
    const labels = assignRows(data, dims, sample, centroids, k);
    if (prev !== null && labels.every((l, i) => l === prev![i])) break;
    prev = labels;
    sums.fill(0);
    counts.fill(0);
    for (let j = 0; j < sample.length; j++) {
      const off = sample[j]! * dims;
      const c = labels[j]!;
      counts[c]!++;
      for (let d = 0; d < dims; d++) sums[c * dims + d] += data[off + d]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue;
      for (let d = 0; d < dims; d++) centroids[c * dims + d] = sums[c * dims + d]! / counts[c]!;
    }
  }
  return centroids;
}

/** `m` of `rows` in random order (all of them, shuffled, when m ≥ their count): trainLists seeds from the first. */
function shuffledSample(rows: Uint32Array, m: number, random: () => number): Uint32Array {
  const a = sampleOf(rows, m, random);
  if (m < rows.length) return a;
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/**
 * Two-level clustering (MVIVF_MAX_FLAT): ⌈√lists⌉ groups trained on a sample, each vector's nearest group gives the
 * group its training vectors and its share of the lists; then every vector goes to the nearest list among those of
 * its TOP_GROUPS nearest groups (the nearest group alone gave recall@10 0.83 on the benchmark data, 3 groups 0.90,
 * 8 groups 0.92; training each group's lists on its neighbours' vectors too made it worse, 0.84–0.86).
 */
function twoLevel(data: Float32Array, dims: number, total: number, lists: number, perList: number, iterations: number, random: () => number): { centroids: Float32Array; labels: Uint32Array; lists: number } {
  const TOP_GROUPS = 3;
  const all = allRows(total);
  const k1 = Math.ceil(Math.sqrt(lists));
  const top = trainLists(data, dims, shuffledSample(all, k1 * perList, random), k1, iterations);
  const topSq = squaredNorms(top, k1, dims);
  // Each vector's TOP_GROUPS nearest groups, nearest first.
  const m = Math.min(TOP_GROUPS, k1);
  const near = new Uint32Array(total * m);
  const score = new Float64Array(m);
  for (let i = 0; i < total; i++) {
    const off = i * dims;
    let n = 0;
    for (let g = 0; g < k1; g++) {
      const x = topSq[g]! - 2 * dotAt(data, off, top, g * dims, dims);
      if (n === m && x >= score[m - 1]!) continue;
      let j = n < m ? n++ : m - 1;
      while (j > 0 && score[j - 1]! > x) {
        score[j] = score[j - 1]!;
        near[i * m + j] = near[i * m + j - 1]!;
        j--;
      }
      score[j] = x;
      near[i * m + j] = g;
    }
  }
  // Each group's vectors (those nearest it), ascending, by a counting sort.
  const starts = new Uint32Array(k1 + 1);
  for (let i = 0; i < total; i++) starts[near[i * m]! + 1]!++;
  for (let g = 0; g < k1; g++) starts[g + 1]! += starts[g]!;
  const fill = starts.slice();
  const members = new Uint32Array(total);
  for (let i = 0; i < total; i++) members[fill[near[i * m]!]!++] = i;
  const parts: Float32Array[] = [];
  const first = new Int32Array(k1).fill(-1);
  const count = new Uint32Array(k1);
  let made = 0;
  for (let g = 0; g < k1; g++) {
    const rows = members.subarray(starts[g]!, starts[g + 1]!);
    if (rows.length === 0) continue;
    const k = Math.max(1, Math.min(rows.length, Math.round((lists * rows.length) / total)));
    parts.push(trainLists(data, dims, shuffledSample(rows, k * perList, random), k, iterations));
    first[g] = made;
    count[g] = k;
    made += k;
  }
  const centroids = new Float32Array(made * dims);
  let at = 0;
  for (const c of parts) (centroids.set(c, at), (at += c.length));
  const cSq = squaredNorms(centroids, made, dims);
  const assigners = Array.from({ length: k1 }, (_, g) =>
    count[g]! >= 4 ? CentroidAssigner.create(centroids.subarray(first[g]! * dims, (first[g]! + count[g]!) * dims), count[g]!, dims, cSq.subarray(first[g]!, first[g]! + count[g]!), null) : null,
  );
  const labels = new Uint32Array(total);
  for (let i = 0; i < total; i++) {
    const off = i * dims;
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < m; j++) {
      const g = near[i * m + j]!;
      if (first[g]! < 0) continue;
      const a = assigners[g];
      const c = first[g]! + (a ? a.nearest(data, off) : nearestCentroid(data, off, dims, centroids, cSq, first[g]!, first[g]! + count[g]!) - first[g]!);
      const d = sqDistAt(data, off, centroids, c * dims, dims);
      if (d < bestD || (d === bestD && c < best)) (bestD = d), (best = c);
    }
    labels[i] = best;
  }
  return { centroids, labels, lists: made };
}

/** One list: row ordinals (ascending), scales and i8 codes (count × dims). */
export interface MvIvfList {
  ords: Uint32Array;
  scales: Float32Array;
  codes: Int8Array;
}

const corrupt = (where: string, what: string) => new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${what}`);

/** The bytes before the lists (header, centroids, directory) of a file whose first 64 bytes are `header`. */
export function mvIvfPrefixBytes(header: Uint8Array, where: string): number {
  if (header.byteLength < MVIVF_HEADER_BYTES || MAGIC.some((b, i) => header[i] !== b)) throw corrupt(where, 'not a multi-vector IVF index (bad magic)');
  const dv = new DataView(header.buffer, header.byteOffset, MVIVF_HEADER_BYTES);
  const dims = dv.getUint32(12, true);
  const lists = dv.getUint32(16, true);
  return MVIVF_HEADER_BYTES + lists * dims * 4 + lists * DIR_BYTES;
}

/**
 * A parsed index prefix (header, centroids, directory), verified; lists are decoded from their bytes (`decodeList`),
 * which the caller reads by `listRange`, or taken from the whole file's bytes (`wholeList`).
 */
export class MvIvfFile {
  readonly rows: number;
  readonly dims: number;
  readonly lists: number;
  readonly entries: number;
  readonly metric: DistanceMetric;
  readonly listsAt: number;
  private readonly centroids: Float32Array;
  private readonly cSq: Float64Array;
  private readonly first: Uint32Array;
  private readonly count: Uint32Array;
  private readonly crc: Uint32Array;
  /** The whole file, when the first ranged read of a small one (≤ 64 KiB) covered it: lists are sliced from it. */
  whole: Uint8Array | null = null;

  /** `bytes`: at least the prefix (mvIvfPrefixBytes); `size`: the whole file's size. */
  constructor(bytes: Uint8Array, readonly where: string, size = bytes.byteLength) {
    const prefix = mvIvfPrefixBytes(bytes, where);
    if (bytes[4] !== MVIVF_VERSION) throw corrupt(where, `unknown multi-vector IVF index version ${bytes[4]}`);
    if (bytes[5]! > 1) throw corrupt(where, `unknown multi-vector IVF index metric ${bytes[5]}`);
    if (bytes[6] !== 1) throw corrupt(where, `unknown multi-vector IVF code kind ${bytes[6]}`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.metric = bytes[5] === 1 ? 'euclidean_squared' : 'cosine_distance';
    this.rows = dv.getUint32(8, true);
    this.dims = dv.getUint32(12, true);
    this.lists = dv.getUint32(16, true);
    this.entries = dv.getUint32(20, true);
    if (this.dims < 1 || (this.lists === 0) !== (this.entries === 0) || this.lists > this.entries) throw corrupt(where, 'multi-vector IVF header is inconsistent');
    this.listsAt = prefix;
    if (bytes.byteLength < prefix) throw corrupt(where, 'multi-vector IVF directory is truncated');
    if (size !== prefix + this.entries * (8 + this.dims)) throw corrupt(where, `multi-vector IVF index of ${this.lists} lists and ${this.entries} vectors has ${size} bytes`);
    const sha = createHash('sha256').update(bytes.subarray(MVIVF_HEADER_BYTES, prefix)).digest();
    if (Buffer.compare(sha, bytes.subarray(32, 64)) !== 0) throw corrupt(where, 'multi-vector IVF centroids or directory do not match their checksum');
    this.centroids = new Float32Array(this.lists * this.dims);
    new Uint8Array(this.centroids.buffer).set(bytes.subarray(MVIVF_HEADER_BYTES, MVIVF_HEADER_BYTES + this.centroids.byteLength));
    this.cSq = squaredNorms(this.centroids, this.lists, this.dims);
    const dir = MVIVF_HEADER_BYTES + this.centroids.byteLength;
    this.first = new Uint32Array(this.lists);
    this.count = new Uint32Array(this.lists);
    this.crc = new Uint32Array(this.lists);
    let next = 0;
    for (let c = 0; c < this.lists; c++) {
      this.first[c] = dv.getUint32(dir + c * DIR_BYTES, true);
      this.count[c] = dv.getUint32(dir + c * DIR_BYTES + 4, true);
      this.crc[c] = dv.getUint32(dir + c * DIR_BYTES + 8, true);
      if (this.first[c] !== next) throw corrupt(where, `multi-vector IVF list ${c} does not follow the previous one`);
      next += this.count[c]!;
    }
    if (next !== this.entries) throw corrupt(where, `multi-vector IVF lists hold ${next} vectors; the header says ${this.entries}`);
  }

  /** Byte range [start, end) of list `c` in the file. */
  listRange(c: number): { start: number; end: number } {
    const stride = 8 + this.dims;
    const start = this.listsAt + this.first[c]! * stride;
    return { start, end: start + this.count[c]! * stride };
  }

  /** Decodes list `c` from its bytes (exactly listRange(c)), checked by its CRC-32 and its ordinals. */
  decodeList(c: number, bytes: Uint8Array): MvIvfList {
    const n = this.count[c]!;
    if (bytes.byteLength !== n * (8 + this.dims)) throw corrupt(this.where, `multi-vector IVF list ${c} has ${bytes.byteLength} bytes; expected ${n * (8 + this.dims)}`);
    if (crc32(bytes) >>> 0 !== this.crc[c]) throw corrupt(this.where, `multi-vector IVF list ${c} does not match its CRC-32`);
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const ords = new Uint32Array(copy.buffer, 0, n);
    for (let j = 0; j < n; j++) if (ords[j]! >= this.rows || (j > 0 && ords[j]! < ords[j - 1]!)) throw corrupt(this.where, `multi-vector IVF list ${c} names row ${ords[j]} out of order or of ${this.rows}`);
    return { ords, scales: new Float32Array(copy.buffer, n * 4, n), codes: new Int8Array(copy.buffer, n * 8, n * this.dims) };
  }

  /** List `c`'s CRC-32 per the directory. */
  listCrc(c: number): number {
    return this.crc[c]!;
  }

  /** Bytes a decoded list holds (cache accounting). */
  listBytes(c: number): number {
    return this.count[c]! * (8 + this.dims) + 64;
  }

  /** A query vector in index space (unit for cosine). */
  toIndexSpace(q: Float32Array): Float32Array {
    if (this.metric !== 'cosine_distance') return q;
    let s = 0;
    for (let d = 0; d < q.length; d++) s += q[d]! * q[d]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    return q.map((x) => x * inv);
  }

  /**
   * The `nprobe` lists nearest each query vector (index space, by ‖c‖² − 2⟨q, c⟩, ties to the lower list), nearest
   * first, with the squared distance to the last one probed (imputation for the lists not probed).
   */
  probes(query: readonly Float32Array[], nprobe: number): { lists: Uint32Array; bound: number }[] {
    const k = Math.min(nprobe, this.lists);
    const score = new Float64Array(this.lists);
    return query.map((raw) => {
      const q = this.toIndexSpace(raw);
      const qSq = dotAt(q, 0, q, 0, this.dims);
      for (let c = 0; c < this.lists; c++) score[c] = this.cSq[c]! - 2 * dotAt(q, 0, this.centroids, c * this.dims, this.dims);
      const idx = Array.from({ length: this.lists }, (_, c) => c).sort((a, b) => score[a]! - score[b]! || a - b).slice(0, k);
      return { lists: Uint32Array.from(idx), bound: k > 0 ? Math.max(0, score[idx[k - 1]!]! + qSq) : Infinity };
    });
  }

  /** Bytes held by the prefix (cache accounting). */
  memoryBytes(): number {
    return this.centroids.byteLength + this.cSq.byteLength + this.lists * 12 + (this.whole?.byteLength ?? 0) + 256;
  }
}

/** The distinct lists of a query's probes, ascending. */
export function probedLists(probes: readonly { lists: Uint32Array }[]): number[] {
  const s = new Set<number>();
  for (const p of probes) for (const c of p.lists) s.add(c);
  return [...s].sort((a, b) => a - b);
}

/**
 * Candidate rows for an ANN query (XTR-style, "missing similarity imputation"): each query vector is scored against
 * the vectors of its probed lists; a row's approximate MaxSim sums, over the query vectors, its best similarity among
 * them, or, when none of its vectors was probed for that query vector, an imputed one: the mean of the best
 * similarities the probed rows have for it. The best `c` rows `accept` lets through, by that sum, best first, ties by
 * ordinal. Similarity in index space: ⟨q̂, d̂⟩ for cosine, −‖q − d‖² for euclidean_squared.
 */
export function mvIvfCandidates(
  file: MvIvfFile,
  query: readonly Float32Array[],
  probes: readonly { lists: Uint32Array }[],
  list: (c: number) => MvIvfList,
  c: number,
  accept: (o: number) => boolean,
  check: () => void,
): number[] {
  const dims = file.dims;
  const Q = query.length;
  const cosine = file.metric === 'cosine_distance';
  // Row → slot (open addressing on the ordinal; -1 a refused row); per slot, the best similarity per query vector
  // (f32; NaN: none probed). Only rows the probed lists hold get a slot: nothing here is sized by the part (but by the
  // rows touched × query vectors: 40 MB for 10,000 rows and 1,024 query vectors).
  const table = new RowSlots();
  let best = new Float32Array(256 * Q).fill(NaN);
  const rowsOf: number[] = [];
  let sims = new Float64Array(1024);
  for (let qi = 0; qi < Q; qi++) {
    const q = file.toIndexSpace(query[qi]!);
    const qSq = dotAt(q, 0, q, 0, dims);
    for (const l of probes[qi]!.lists) {
      check();
      const { ords, scales, codes } = list(l);
      const n = ords.length;
      if (sims.length < n) sims = new Float64Array(n);
      scoreList(q, qSq, codes, scales, n, dims, cosine, sims);
      for (let j = 0; j < n; j++) {
        const o = ords[j]!;
        let slot = table.get(o);
        if (slot === -2) {
          if (!accept(o)) {
            table.set(o, -1);
            continue;
          }
          slot = rowsOf.length;
          table.set(o, slot);
          rowsOf.push(o);
          if (rowsOf.length * Q > best.length) {
            const grown = new Float32Array(best.length * 2).fill(NaN);
            grown.set(best);
            best = grown;
          }
        } else if (slot === -1) continue;
        const at = slot * Q + qi;
        const sim = Math.fround(sims[j]!);
        if (!(sim <= best[at]!)) best[at] = sim; // NaN (unset) or better
      }
    }
  }
  const slots = rowsOf.length;
  // Imputation: the mean of the rows' best similarities found for that query vector (on clustered data the lowest
  // similarity seen, XTR's choice, punished rows with one unprobed match too hard: recall@10 0.83 against 0.92).
  const fill = new Float64Array(Q);
  const seen = new Uint32Array(Q);
  for (let s = 0; s < slots; s++) {
    for (let qi = 0; qi < Q; qi++) {
      const b = best[s * Q + qi]!;
      if (b === b) (fill[qi] += b), seen[qi]++;
    }
  }
  for (let qi = 0; qi < Q; qi++) fill[qi] = seen[qi]! > 0 ? fill[qi]! / seen[qi]! : 0;
  const total = new Float64Array(slots);
  for (let s = 0; s < slots; s++) {
    let t = 0;
    for (let qi = 0; qi < Q; qi++) {
      const b = best[s * Q + qi]!;
      t += b === b ? b : fill[qi]!;
    }
    total[s] = t;
  }
  // The best c: the c-th largest total by a typed sort, then the rows at or above it, best first, ties by ordinal.
  let keep: number[];
  if (slots <= c) keep = Array.from({ length: slots }, (_, s) => s);
  else {
    const cut = total.slice().sort()[slots - c]!;
    keep = [];
    for (let s = 0; s < slots; s++) if (total[s]! >= cut) keep.push(s);
  }
  keep.sort((a, b) => total[b]! - total[a]! || rowsOf[a]! - rowsOf[b]!);
  return keep.slice(0, c).map((s) => rowsOf[s]!);
}

/** sims[j] = similarity of q with the list's j-th vector (scale × codes): ⟨q, d⟩ for cosine, −‖q − d‖² otherwise. */
function scoreList(q: Float32Array, qSq: number, codes: Int8Array, scales: Float32Array, n: number, dims: number, cosine: boolean, sims: Float64Array): void {
  for (let j = 0; j < n; j++) {
    const off = j * dims;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let d = 0;
    for (; d + 3 < dims; d += 4) {
      s0 += q[d]! * codes[off + d]!;
      s1 += q[d + 1]! * codes[off + d + 1]!;
      s2 += q[d + 2]! * codes[off + d + 2]!;
      s3 += q[d + 3]! * codes[off + d + 3]!;
    }
    for (; d < dims; d++) s0 += q[d]! * codes[off + d]!;
    const s = scales[j]!;
    const dot = (s0 + s1 + s2 + s3) * s;
    if (cosine) sims[j] = dot;
    else {
      let sq = 0;
      for (let e = 0; e < dims; e++) sq += codes[off + e]! * codes[off + e]!;
      sims[j] = -(qSq - 2 * dot + sq * s * s);
    }
  }
}

/** Row ordinal → slot, open addressing (linear probing) in typed arrays; get() answers -2 for a row not set. */
class RowSlots {
  private keys = new Int32Array(1024).fill(-1);
  private vals = new Int32Array(1024);
  private size = 0;

  get(o: number): number {
    const mask = this.keys.length - 1;
    for (let i = Math.imul(o, 0x9e3779b1) & mask; ; i = (i + 1) & mask) {
      const k = this.keys[i]!;
      if (k === o) return this.vals[i]!;
      if (k === -1) return -2;
    }
  }

  set(o: number, v: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    for (let i = Math.imul(o, 0x9e3779b1) & mask; ; i = (i + 1) & mask) {
      const k = this.keys[i]!;
      if (k === o || k === -1) {
        if (k === -1) this.size++;
        this.keys[i] = o;
        this.vals[i] = v;
        return;
      }
    }
  }

  private grow(): void {
    const keys = this.keys;
    const vals = this.vals;
    this.keys = new Int32Array(keys.length * 2).fill(-1);
    this.vals = new Int32Array(keys.length * 2);
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== -1) this.set(keys[i]!, vals[i]!);
  }
}

/**
 * One part's index as a query holds it: the prefix and the lists its probes named (read and pinned beforehand). The
 * probes are recomputed from the query (`file.probes`, deterministic), so concurrent queries share what they hold.
 */
export interface MvIvfHeld {
  file: MvIvfFile;
  list(c: number): MvIvfList;
}

/**
 * Reads bytes [start, end) of the file; `check` (when given) says what is wrong with them (a disk cache then drops its
 * copy and reads again), or null.
 */
export type MvIvfRangeReader = (start: number, end: number, check?: (bytes: Uint8Array) => string | null) => Promise<Uint8Array>;

/** First ranged read: the header and, for most files, the centroids and directory. */
const FIRST_READ = 64 * 1024;
/** Lists at most this many bytes apart are fetched in one request. */
const COALESCE_GAP = 4 * 1024;

/**
 * Opens a file of `size` bytes by ranges: its prefix (header, centroids, directory), in one or two reads. A file of at
 * most 64 KiB comes whole in the first read and is kept (fetchMvIvfLists then reads nothing).
 */
export async function openMvIvfRanged(read: MvIvfRangeReader, size: number, where: string): Promise<MvIvfFile> {
  let head = await read(0, Math.min(size, FIRST_READ));
  const prefix = mvIvfPrefixBytes(head, where);
  if (prefix > size) throw corrupt(where, `multi-vector IVF directory is larger than its ${size} bytes`);
  if (head.byteLength < prefix) {
    const rest = await read(head.byteLength, prefix);
    const all = new Uint8Array(prefix);
    all.set(head);
    all.set(rest, head.byteLength);
    head = all;
  }
  const f = new MvIvfFile(head.subarray(0, prefix), where, size);
  if (head.byteLength === size) f.whole = head.slice();
  return f;
}

/**
 * Reads and decodes `lists` (ascending) by ranges, lists close together in one request; each checked by its CRC-32.
 */
export async function fetchMvIvfLists(file: MvIvfFile, read: MvIvfRangeReader, lists: readonly number[]): Promise<Map<number, MvIvfList>> {
  if (file.whole !== null) {
    const whole = file.whole;
    return new Map(lists.map((c) => [c, file.decodeList(c, whole.subarray(file.listRange(c).start, file.listRange(c).end))]));
  }
  const groups: number[][] = [];
  for (const c of lists) {
    const g = groups[groups.length - 1];
    if (g && file.listRange(c).start - file.listRange(g[g.length - 1]!).end <= COALESCE_GAP) g.push(c);
    else groups.push([c]);
  }
  const out = new Map<number, MvIvfList>();
  await Promise.all(
    groups.map(async (g) => {
      const from = file.listRange(g[0]!).start;
      const to = file.listRange(g[g.length - 1]!).end;
      if (to === from) {
        for (const c of g) out.set(c, file.decodeList(c, new Uint8Array(0)));
        return;
      }
      const check = (bytes: Uint8Array) => {
        if (bytes.byteLength !== to - from) return `ranged read returned ${bytes.byteLength} bytes; expected ${to - from}`;
        for (const c of g) {
          const r = file.listRange(c);
          if (crc32(bytes.subarray(r.start - from, r.end - from)) >>> 0 !== file.listCrc(c)) return `multi-vector IVF list ${c} does not match its CRC-32`;
        }
        return null;
      };
      const bytes = await read(from, to, check);
      if (bytes.byteLength !== to - from) throw corrupt(file.where, `ranged read returned ${bytes.byteLength} bytes; expected ${to - from}`);
      for (const c of g) {
        const r = file.listRange(c);
        out.set(c, file.decodeList(c, bytes.subarray(r.start - from, r.end - from)));
      }
    }),
  );
  return out;
}
