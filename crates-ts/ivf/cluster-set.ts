/**
 * A mutable assignment of rows to clusters with SPFresh's maintenance (Xu et al., SOSP 2023): insert a vector into
 * its nearest cluster, remove one, split a cluster that grew past maxSize (with neighbour reassignment), dissolve
 * one that fell under minSize into its neighbours. The batch build (hierarchy.ts) uses it to balance cluster sizes;
 * compaction can use it to fold new vectors into existing clusters instead of rebuilding.
 *
 * Centroids stay where they are on insert and merge (a cluster's codes are residuals to its centroid, so moving it
 * means re-encoding the cluster); `recenter` moves one to its members' mean when the caller re-encodes anyway.
 * `dirty` collects the clusters whose members or centroid changed since the last `takeDirty()`.
 */
import { ElaxError } from '../core/index.js';
import { dotAt, nearestAmong, nearestCentroid, sqDistAt } from './kernels.js';
import { meanInto } from './kmeans.js';
import { nearestCentroids, splitCluster, splitLoaded } from './balance.js';
import type { Random } from './random.js';
import { SplitKernel } from './split-kernel.js';

export interface ClusterSetOptions {
  random: Random;
  /** Clusters below this size are dissolved into their neighbours. */
  minSize: number;
  /** Clusters above this size are split in two. Must be ≥ 2·minSize (so a balanced split makes no small cluster). */
  maxSize: number;
  /** How many nearest centroids count as neighbours for merge targets and split reassignment. Default 8. */
  neighbours?: number;
  /**
   * Splits and their reassignment in the exact SIMD kernel (split-kernel.ts) where it is available. Default true;
   * false keeps the JS loops (the same clusters, bit for bit: tests compare the two).
   */
  kernel?: boolean;
}

/** Clusters laid out for encoding: cluster c's rows are rows[offsets[c], offsets[c + 1]). */
export interface Clustering {
  dims: number;
  k: number;
  /** k × dims, row-major. */
  centroids: Float32Array;
  offsets: Uint32Array;
  rows: Uint32Array;
}

export class ClusterSet {
  readonly dims: number;
  private readonly data: Float32Array;
  private readonly o: Required<ClusterSetOptions>;
  /** Capacity-grown k × dims; slots of dissolved clusters are dead (members null). */
  private cents: Float32Array;
  private cSq: Float64Array;
  private members: (number[] | null)[] = [];
  /** Row → cluster id (−1: not assigned) and row → index in its cluster's member list (swap-remove in O(1)). */
  private clusterOf: Int32Array;
  private posOf: Int32Array;
  private live = 0;
  private readonly dirtySet = new Set<number>();
  /** The split kernel, made at the first split (undefined: not yet; null: not available or not wanted). */
  private splitKernel: SplitKernel | null | undefined;
  /** Row → its index in the kernel's batch, for the rows of the cluster splitTouching split (allocated then). */
  private batchPos: Int32Array | undefined;

  /** `data` holds every row that will ever be inserted (row r at r·dims); the set stores row numbers only. */
  constructor(data: Float32Array, dims: number, o: ClusterSetOptions) {
    if (o.maxSize < 2 * o.minSize) throw new ElaxError('ELAX_ERR_INTERNAL', `cluster maxSize ${o.maxSize} must be at least twice minSize ${o.minSize}`);
    this.data = data;
    this.dims = dims;
    this.o = { ...o, neighbours: o.neighbours ?? 8, kernel: o.kernel ?? true };
    this.cents = new Float32Array(16 * dims);
    this.cSq = new Float64Array(16);
    const rows = Math.floor(data.length / dims);
    this.clusterOf = new Int32Array(rows).fill(-1);
    this.posOf = new Int32Array(rows).fill(-1);
  }

  /** Number of cluster ids ever used (dissolved ones included): ids are < this. */
  get capacity(): number {
    return this.members.length;
  }

  get liveClusters(): number {
    return this.live;
  }

  isAlive(c: number): boolean {
    return this.members[c] != null;
  }

  sizeOf(c: number): number {
    return this.members[c]?.length ?? 0;
  }

  membersOf(c: number): readonly number[] {
    return this.members[c] ?? [];
  }

  clusterOfRow(row: number): number {
    return this.clusterOf[row]!;
  }

  centroidOf(c: number): Float32Array {
    return this.cents.subarray(c * this.dims, (c + 1) * this.dims);
  }

  /** max(0, the largest squared distance (kernels.ts sqDistAt) of a member of cluster c to its centroid). */
  farthestSq(c: number): number {
    const m = this.members[c] ?? [];
    const kernel = m.length > 0 ? this.kernelFor(0) : null;
    let r2 = 0;
    if (kernel !== null) {
      const rows = Uint32Array.from(m);
      for (let start = 0; start < rows.length; start += kernel.capacity) {
        const count = Math.min(kernel.capacity, rows.length - start);
        kernel.load(rows, start, count);
        const d = kernel.sqDists(this.cents, c * this.dims);
        for (let j = 0; j < count; j++) r2 = Math.max(r2, d[j]!);
      }
      return r2;
    }
    for (const row of m) r2 = Math.max(r2, sqDistAt(this.data, row * this.dims, this.cents, c * this.dims, this.dims));
    return r2;
  }

  /** Adds a cluster with the given centroid (copied) and rows (which must not be assigned yet); returns its id. */
  addCluster(centroid: Float32Array, rows: ArrayLike<number>): number {
    const c = this.members.length;
    if ((c + 1) * this.dims > this.cents.length) {
      const cents = new Float32Array(this.cents.length * 2);
      cents.set(this.cents);
      this.cents = cents;
      const cSq = new Float64Array(this.cSq.length * 2);
      cSq.set(this.cSq);
      this.cSq = cSq;
    }
    this.members.push([]);
    this.live++;
    this.setCentroid(c, centroid);
    for (let j = 0; j < rows.length; j++) this.attach(rows[j]!, c);
    this.dirtySet.add(c);
    return c;
  }

  /** Assigns `row` to its nearest live centroid (exact scan) and returns the cluster id. Does not rebalance. */
  insert(row: number): number {
    if (this.clusterOf[row] !== -1) throw new ElaxError('ELAX_ERR_INTERNAL', `row ${row} is already in cluster ${this.clusterOf[row]}`);
    if (this.live === 0) return this.addCluster(this.data.subarray(row * this.dims, (row + 1) * this.dims), [row]);
    const c = this.nearestLive(row);
    this.attach(row, c);
    this.dirtySet.add(c);
    return c;
  }

  /** Removes `row` from its cluster. Does not rebalance. */
  remove(row: number): void {
    const c = this.clusterOf[row]!;
    if (c < 0) throw new ElaxError('ELAX_ERR_INTERNAL', `row ${row} is not in any cluster`);
    this.detach(row);
    this.dirtySet.add(c);
  }

  /**
   * Splits cluster `c` in two (balanced when 2-means is not, see splitCluster): `c` keeps one half with a new
   * centroid, a new cluster takes the other. With `reassignNeighbours`, members of both halves move to a
   * neighbouring centroid that is nearer, and members of the neighbours move to a new centroid that is nearer
   * (SPFresh's reassignment, which keeps each vector in or near its nearest cluster). Returns the new id.
   */
  split(c: number, reassignNeighbours = true): number {
    return this.splitTouching(c, reassignNeighbours)[1]!;
  }

  /** split(), returning the clusters whose members changed: [c, the new id, …the neighbours it reassigned with]. */
  private splitTouching(c: number, reassignNeighbours: boolean): number[] {
    const dims = this.dims;
    const old = this.centroidOf(c).slice();
    const rows = Uint32Array.from(this.members[c]!);
    const kernel = this.kernelFor(rows.length);
    // With the kernel, the cluster's rows are one batch (when they fit): the 2-means's and the first reassignment's.
    const loaded = kernel !== null && kernel.capacity >= rows.length;
    if (loaded) kernel.load(rows, 0, rows.length);
    const s = loaded ? splitLoaded(this.data, dims, rows, this.o.random, this.o.minSize, kernel) : splitCluster(this.data, dims, rows, this.o.random, this.o.minSize);
    for (const r of rows) this.detach(r);
    this.setCentroid(c, s.centroids.subarray(0, dims));
    for (const r of s.members[0]) this.attach(r, c);
    const c2 = this.addCluster(s.centroids.subarray(dims), s.members[1]);
    this.dirtySet.add(c);
    if (!reassignNeighbours) return [c, c2];
    const near = nearestCentroids(old, 0, dims, this.cents, this.capacity, this.o.neighbours, -1, (x) => x !== c && x !== c2 && this.isAlive(x));
    const candidates = [c, c2, ...near];
    const pair = [c, c2];
    if (kernel !== null) {
      // The same decisions as the loops below, row by row in the same order, from the kernel's exact scores: the
      // centroids do not move while rows do, so a row's scores can be computed before its turn.
      if (loaded) {
        // Every row of c and c2 now was in the split cluster: score the batch still loaded once.
        const pos = (this.batchPos ??= new Int32Array(this.clusterOf.length));
        for (let j = 0; j < rows.length; j++) pos[rows[j]!] = j;
        const t = kernel.scores(this.cents, candidates, candidates.length, this.cSq);
        for (const cl of pair) this.reassignFromScores(Uint32Array.from(this.members[cl]!), t, pos, candidates, cl === c ? 0 : 1, candidates.length);
      } else for (const cl of pair) this.reassignScored(kernel, cl, candidates, cl === c ? 0 : 1);
      const three = [c, c2, 0];
      for (const n of near) {
        three[2] = n;
        this.reassignScored(kernel, n, three, 2, 2);
      }
      return candidates;
    }
    for (const cl of pair) for (const r of [...this.members[cl]!]) this.moveIfNearer(r, candidates);
    for (const n of near) {
      for (const r of [...this.members[n]!]) {
        const best = nearestAmong(this.data, r * dims, dims, this.cents, this.cSq, pair);
        if (this.score(r, best) < this.score(r, n)) this.move(r, best);
      }
    }
    return candidates;
  }

  /**
   * Each row of cluster `from` (its members now, in order) moves to the nearest of ids[0, among) — nearestAmong's
   * choice: ties to the lower id — when that one scores strictly lower than ids[own] (`from` itself). Scores by the
   * kernel, a batch of rows at a time; moveIfNearer (among = all ids) and the neighbours' loop (among = the split's
   * pair) of splitTouching.
   */
  private reassignScored(kernel: SplitKernel, from: number, ids: readonly number[], own: number, among = ids.length): void {
    const rows = Uint32Array.from(this.members[from]!);
    for (let start = 0; start < rows.length; start += kernel.capacity) {
      const count = Math.min(kernel.capacity, rows.length - start);
      kernel.load(rows, start, count);
      this.reassignFromScores(rows.subarray(start, start + count), kernel.scores(this.cents, ids, ids.length, this.cSq), null, ids, own, among);
    }
  }

  /**
   * reassignScored's decisions for `rows`, in order, from their scores against `ids`: row rows[j]'s at
   * t[p·m, (p + 1)·m) with p = pos[rows[j]] (pos null: p = j).
   */
  private reassignFromScores(rows: Uint32Array, t: Float64Array, pos: Int32Array | null, ids: readonly number[], own: number, among: number): void {
    const m = ids.length;
    for (let j = 0; j < rows.length; j++) {
      const row = rows[j]!;
      const base = (pos === null ? j : pos[row]!) * m;
      let best = -1;
      let bestScore = Infinity;
      for (let q = 0; q < among; q++) {
        const x = t[base + q]!;
        const id = ids[q]!;
        if (x < bestScore || (x === bestScore && id < best)) (bestScore = x), (best = id);
      }
      if (best >= 0 && bestScore < t[base + own]!) this.move(row, best);
    }
  }

  /** The split kernel, taking batches of `rows` rows when it can (null: split with the JS loops). */
  private kernelFor(rows: number): SplitKernel | null {
    if (this.splitKernel === undefined) this.splitKernel = this.o.kernel ? SplitKernel.create(this.data, this.dims, this.o.neighbours + 2, rows) : null;
    this.splitKernel?.ensure(rows);
    return this.splitKernel;
  }

  /** Dissolves cluster `c`: each member goes to the nearest of c's neighbouring live centroids. */
  merge(c: number): void {
    if (this.live <= 1) throw new ElaxError('ELAX_ERR_INTERNAL', `cannot merge cluster ${c}: it is the last one`);
    const near = nearestCentroids(this.cents, c * this.dims, this.dims, this.cents, this.capacity, this.o.neighbours, c, (x) => this.isAlive(x));
    for (const r of [...this.members[c]!]) this.move(r, nearestAmong(this.data, r * this.dims, this.dims, this.cents, this.cSq, near));
    this.members[c] = null;
    this.live--;
    this.dirtySet.delete(c);
  }

  /** Moves cluster c's centroid to the mean of its members (the caller re-encodes it). */
  recenter(c: number): void {
    const m = this.members[c]!;
    if (m.length === 0) return;
    meanInto(this.data, this.dims, m, this.cents, c * this.dims);
    this.cSq[c] = dotAt(this.cents, c * this.dims, this.cents, c * this.dims, this.dims);
    this.dirtySet.add(c);
  }

  /**
   * Brings every cluster within [minSize, maxSize] (unless all rows together are fewer than minSize: then one
   * cluster). Rounds with neighbour reassignment first (up to `rounds`), then a final pass without it, which
   * always terminates within bounds: merges only grow their targets, and balanced splits of a cluster above
   * maxSize ≥ 2·minSize make halves of at least minSize.
   */
  rebalance(o: { rounds?: number; reassignNeighbours?: boolean } = {}): void {
    const reassign = o.reassignNeighbours ?? true;
    for (let round = 0; round < (reassign ? (o.rounds ?? 3) : 0); round++) if (!this.balancePass(true)) return;
    this.balancePass(false);
  }

  /** One pass: dissolve small clusters (smallest first), then split big ones until none is. Returns whether anything changed. */
  private balancePass(reassign: boolean): boolean {
    let changed = false;
    const small: number[] = [];
    for (let c = 0; c < this.capacity; c++) if (this.isAlive(c) && this.sizeOf(c) < this.o.minSize) small.push(c);
    small.sort((a, b) => this.sizeOf(a) - this.sizeOf(b) || a - b);
    for (const c of small) {
      if (this.live <= 1) break;
      if (!this.isAlive(c) || this.sizeOf(c) >= this.o.minSize) continue;
      this.merge(c);
      changed = true;
    }
    const big: number[] = [];
    for (let c = 0; c < this.capacity; c++) if (this.isAlive(c) && this.sizeOf(c) > this.o.maxSize) big.push(c);
    // Reassignment can move rows back into a cluster just split; the final pass (no reassignment) finishes the job.
    let budget = reassign ? 2 * this.live + 16 : Infinity;
    while (big.length > 0 && budget-- > 0) {
      const c = big.pop()!;
      if (!this.isAlive(c) || this.sizeOf(c) <= this.o.maxSize) continue;
      changed = true;
      // Both halves, and with reassignment a neighbour, may be above maxSize: only they (not a rescan of every
      // cluster, which made a rebalance O(k²)).
      for (const x of this.splitTouching(c, reassign)) if (this.isAlive(x) && this.sizeOf(x) > this.o.maxSize && !big.includes(x)) big.push(x);
    }
    return changed;
  }

  /** The ids of clusters changed since the last call (members or centroid), ascending; dissolved ones are left out. */
  takeDirty(): number[] {
    const out = [...this.dirtySet].filter((c) => this.isAlive(c)).sort((a, b) => a - b);
    this.dirtySet.clear();
    return out;
  }

  /** The live clusters renumbered 0..k−1 in id order, rows grouped cluster by cluster (members in insertion order). */
  toClustering(): Clustering {
    const dims = this.dims;
    const ids: number[] = [];
    for (let c = 0; c < this.capacity; c++) if (this.isAlive(c)) ids.push(c);
    const centroids = new Float32Array(ids.length * dims);
    const offsets = new Uint32Array(ids.length + 1);
    let total = 0;
    ids.forEach((c, i) => {
      centroids.set(this.centroidOf(c), i * dims);
      total += this.sizeOf(c);
      offsets[i + 1] = total;
    });
    const rows = new Uint32Array(total);
    ids.forEach((c, i) => rows.set(this.members[c]!, offsets[i]!));
    return { dims, k: ids.length, centroids, offsets, rows };
  }

  private setCentroid(c: number, v: Float32Array): void {
    this.cents.set(v, c * this.dims);
    this.cSq[c] = dotAt(this.cents, c * this.dims, this.cents, c * this.dims, this.dims);
  }

  private attach(row: number, c: number): void {
    const m = this.members[c]!;
    this.clusterOf[row] = c;
    this.posOf[row] = m.length;
    m.push(row);
  }

  private detach(row: number): void {
    const c = this.clusterOf[row]!;
    const m = this.members[c]!;
    const p = this.posOf[row]!;
    const last = m.pop()!;
    if (last !== row) {
      m[p] = last;
      this.posOf[last] = p;
    }
    this.clusterOf[row] = -1;
    this.posOf[row] = -1;
  }

  private move(row: number, to: number): void {
    const from = this.clusterOf[row]!;
    if (from === to) return;
    this.detach(row);
    this.attach(row, to);
    this.dirtySet.add(from);
    this.dirtySet.add(to);
  }

  /** Moves `row` to the nearest of `candidates` only when it is strictly nearer than its own (ties stay put). */
  private moveIfNearer(row: number, candidates: readonly number[]): void {
    const best = nearestAmong(this.data, row * this.dims, this.dims, this.cents, this.cSq, candidates);
    if (this.score(row, best) < this.score(row, this.clusterOf[row]!)) this.move(row, best);
  }

  /** ‖c‖² − 2⟨x, c⟩: ranks centroids for one row like the squared distance. */
  private score(row: number, c: number): number {
    return this.cSq[c]! - 2 * dotAt(this.data, row * this.dims, this.cents, c * this.dims, this.dims);
  }

  private nearestLive(row: number): number {
    // Dead slots keep their last centroid; scan live ids only when some are dead.
    if (this.live === this.capacity) return nearestCentroid(this.data, row * this.dims, this.dims, this.cents, this.cSq, 0, this.capacity);
    const ids: number[] = [];
    for (let c = 0; c < this.capacity; c++) if (this.isAlive(c)) ids.push(c);
    return nearestAmong(this.data, row * this.dims, this.dims, this.cents, this.cSq, ids);
  }
}
