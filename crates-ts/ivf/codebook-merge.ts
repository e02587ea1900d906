/**
 * Merging and retiring codebook centroids at compaction (RFC-0008 §1 "Merging", §6): the other half of SPFresh's
 * maintenance next to the splits of extendCodebook.
 *
 *  - foldSmallClusters: a live cluster of the merged part with fewer than minSize vectors is dissolved — each of its
 *    vectors goes to its nearest remaining live centroid (SPFresh's merge: reassignment, no centroid moves) — and
 *    its centroid is retired;
 *  - retireEmpty: a live centroid holding no vector of the part is retired (split centroids whose halves were
 *    appended, clusters emptied by deletes): it would cost a query a probe slot for nothing.
 *
 * Both only touch centroids outside `keep`, which the caller fills with every centroid another part of the router
 * still holds live rows in: a retired centroid is never probed, so it must hold no row anywhere. Only the caller
 * (compaction, which knows the whole router) can say that; a part built alone never merges. At least one centroid
 * always stays live (assignment needs one). Each returns the codebook itself when nothing changes, else a copy with
 * version + 1 (the builder publishes one version per part however many steps changed it).
 */
import { ElaxError } from '../core/index.js';
import type { Codebook, CodebookAssignment } from './codebook.js';
import { nearestAmong, squaredNorms } from './kernels.js';

export interface MergeOptions {
  /** Centroids that stay live whatever the part holds: other parts of the router hold live rows in them. */
  keep: ReadonlySet<number>;
}

function sizesOf(cb: Codebook, n: number, clusterOf: Uint32Array): Uint32Array {
  const sizes = new Uint32Array(cb.k);
  for (let r = 0; r < n; r++) {
    const c = clusterOf[r]!;
    if (c >= cb.k || cb.retired[c] !== 0) throw new ElaxError('ELAX_ERR_INTERNAL', `vector ${r} is assigned to centroid ${c}, which codebook version ${cb.version} does not hold live`);
    sizes[c]++;
  }
  return sizes;
}

function liveIds(cb: Codebook, retired: Uint8Array): number[] {
  const out: number[] = [];
  for (let c = 0; c < cb.k; c++) if (retired[c] === 0) out.push(c);
  return out;
}

/**
 * Dissolves the part's live clusters holding 1..minSize − 1 vectors that `keep` does not name, smallest first (ties:
 * lower id); a cluster that reached minSize through an earlier fold stays. Each vector of a dissolved cluster goes
 * to its nearest remaining live centroid that holds rows (here, or in another part: `keep`); a fold target may be a
 * small cluster itself, which is why the order matters. Empty clusters are retireEmpty's.
 */
export function foldSmallClusters(cb: Codebook, data: Float32Array, n: number, clusterOf: Uint32Array, minSize: number, o: MergeOptions): CodebookAssignment {
  const dims = cb.dims;
  const sizes = sizesOf(cb, n, clusterOf);
  const small: number[] = [];
  for (let c = 0; c < cb.k; c++) if (cb.retired[c] === 0 && sizes[c]! > 0 && sizes[c]! < minSize && !o.keep.has(c)) small.push(c);
  if (small.length === 0) return { codebook: cb, clusterOf };
  small.sort((a, b) => sizes[a]! - sizes[b]! || a - b);

  const members: number[][] = Array.from({ length: cb.k }, () => []);
  for (let r = 0; r < n; r++) members[clusterOf[r]!]!.push(r);
  const retired = cb.retired.slice();
  // Targets are the clusters that exist: holding rows here or elsewhere. An empty one is retireEmpty's to retire,
  // not a place to move a cluster to.
  const holds = (c: number) => members[c]!.length > 0 || o.keep.has(c);
  const cSq = squaredNorms(cb.centroids, cb.k, dims);
  const out = clusterOf.slice();
  let changed = false;
  for (const c of small) {
    if (members[c]!.length >= minSize) continue;
    const targets = liveIds(cb, retired).filter((t) => t !== c && holds(t));
    if (targets.length === 0) continue;
    retired[c] = 1;
    for (const r of members[c]!) {
      const t = nearestAmong(data, r * dims, dims, cb.centroids, cSq, targets);
      out[r] = t;
      members[t]!.push(r);
    }
    members[c] = [];
    changed = true;
  }
  if (!changed) return { codebook: cb, clusterOf };
  return { codebook: { ...cb, version: cb.version + 1, retired }, clusterOf: out };
}

/** Retires every live centroid that holds no vector of the part and that `keep` does not name; one stays live. */
export function retireEmpty(cb: Codebook, n: number, clusterOf: Uint32Array, o: MergeOptions): Codebook {
  const sizes = sizesOf(cb, n, clusterOf);
  const live = liveIds(cb, cb.retired);
  const empty = live.filter((c) => sizes[c] === 0 && !o.keep.has(c));
  if (empty.length === 0) return cb;
  // Keep the lowest-id one when every live centroid would go (no vector anywhere: the namespace holds none now).
  if (empty.length === live.length) empty.shift();
  if (empty.length === 0) return cb;
  const retired = cb.retired.slice();
  for (const c of empty) retired[c] = 1;
  return { ...cb, version: cb.version + 1, retired };
}

/** The centroids live in `before` and retired in `after` (a later version of the same lineage). */
export function newlyRetired(before: Codebook, after: Codebook): number[] {
  const out: number[] = [];
  for (let c = 0; c < before.k; c++) if (before.retired[c] === 0 && after.retired[c] !== 0) out.push(c);
  return out;
}
