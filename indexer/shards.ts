/**
 * Namespace sharding on the indexing side (docs/rfcs/0013-sharding.md): a folded WAL range (or a reindex's fold) is
 * split by shard, one part per shard that has rows or deletes in it; with IVF the shards' vectors are assigned one
 * after the other, each against the codebook the previous one left (the namespace has one codebook: a part that
 * trains or extends it makes a new version that only appends centroids, so the earlier parts stay valid under the
 * last one), and the parts are then built in parallel against those assignments.
 */
import { shardOf, type Doc, type Id } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import type { Router } from '../crates-ts/router/index.js';
import { assignFromNearest, assignPartVectors, type BuiltPart, type IvfAssignment, type IvfBuildOptions, type NearestCentroids, type PartBuildInput } from '../crates-ts/part/index.js';
import type { Codebook } from '../crates-ts/ivf/index.js';
import { ivfBuildFor, type VectorIndexOptions } from './vector-index.js';

export interface ShardGroup {
  /** Undefined for an unsharded namespace (one group holding everything). */
  shard: number | undefined;
  changes: Map<Id, Doc | null>;
  seqs: Map<Id, number>;
}

/**
 * The changes of a range by shard, in shard order, only shards with something in the range; `numShards` undefined:
 * one unsharded group. An empty range still gives one group (shard 0), so its idempotency keys have a part to live in.
 */
export function splitByShard(changes: Map<Id, Doc | null>, seqs: Map<Id, number>, numShards: number | undefined): ShardGroup[] {
  // Unsharded: the maps as they are (no copy of a pass's changes).
  if (numShards === undefined) return [{ shard: undefined, changes, seqs }];
  const by = new Map<number, ShardGroup>();
  for (const [id, doc] of changes) {
    const s = shardOf(id, numShards);
    let g = by.get(s);
    if (!g) by.set(s, (g = { shard: s, changes: new Map(), seqs: new Map() }));
    g.changes.set(id, doc);
    const q = seqs.get(id);
    if (q !== undefined) g.seqs.set(id, q);
  }
  if (by.size === 0) return [{ shard: 0, changes: new Map(), seqs: new Map() }];
  return [...by.values()].sort((a, b) => a.shard! - b.shard!);
}

/**
 * Builds one part per group, concurrently: `build` may run each on its own thread (the indexer's build pool), so the
 * shards of a pass use the machine's cores (RFC-0013 "Parallel shard builds"). With IVF and more than one group, the
 * groups' vectors are first assigned here, one group after the other, each against the codebook the previous one
 * left (see the module comment), and each group's build is handed its clusters (IvfBuildOptions.assigned): the
 * build then encodes against them, so the parts are byte-identical to building the groups one after another.
 * Returns the built parts (in group order) and the last codebook when a group trained or extended it (to upload
 * before the publish that names it).
 */
export async function buildGroups(
  store: ObjectStore,
  ns: string,
  router: Router,
  groups: readonly ShardGroup[],
  vectorIndex: VectorIndexOptions | undefined,
  inputFor: (g: ShardGroup, i: number, ivf: IvfBuildOptions | undefined) => PartBuildInput,
  build: (input: PartBuildInput) => Promise<BuiltPart>,
  /**
   * With IVF: finds each group's nearest centroids in the pass's first codebook elsewhere (the build pool), all groups
   * at once; the assignment here then only adds the centroids earlier groups appended, and the splits. Absent: the
   * whole assignment runs here.
   */
  nearest?: (input: PartBuildInput) => Promise<NearestCentroids>,
): Promise<{ built: BuiltPart[]; codebook: { codebook: Codebook; changed: boolean } | null }> {
  if (vectorIndex?.kind !== 'ivf' || groups.length === 1) {
    const built = await Promise.all(groups.map(async (g, i) => build(inputFor(g, i, await ivfBuildFor(store, ns, router, g.changes, vectorIndex)))));
    const withCb = built.find((b) => b.codebook?.changed);
    return { built, codebook: withCb?.codebook ?? null };
  }
  const building: Promise<BuiltPart>[] = [];
  let cb: Codebook | null = null;
  let changed = false;
  // With a codebook named by the router, the first group's options (its codebook read once, the other parts' cluster
  // usage counted once) serve every group: reading them per shard would read every part's cluster table per shard.
  let template: IvfBuildOptions | undefined;
  // The codebook the groups' nearest centroids are searched in (the first one a group is assigned to), and the searches.
  let base: Codebook | null = null;
  const searches = new Map<number, Promise<NearestCentroids>>();
  const hasVectors = (g: ShardGroup) => {
    for (const d of g.changes.values()) if (d?.vector) return true;
    return false;
  };
  for (const [i, g] of groups.entries()) {
    let vectors = 0;
    for (const d of g.changes.values()) if (d?.vector) vectors++;
    let ivf: IvfBuildOptions | undefined;
    if (vectors === 0) ivf = undefined;
    else if (template !== undefined) ivf = { ...template, codebook: cb ?? template.codebook };
    else {
      ivf = await ivfBuildFor(store, ns, router, g.changes, vectorIndex);
      if (ivf !== undefined && router.vindex !== undefined) template = ivf;
      if (cb !== null) ivf = ivf ? { ...ivf, codebook: cb } : { kind: 'ivf', codebook: cb, targetSize: vectorIndex.targetSize, minSize: vectorIndex.minSize, maxSize: vectorIndex.maxSize };
    }
    let input = inputFor(g, i, ivf);
    if (ivf !== undefined) {
      // The order-dependent step, here; the rest of the build (codes, rows, postings, ...) wherever `build` runs it.
      if (nearest !== undefined && base === null && ivf.codebook !== null && ivf.merge === undefined) {
        // From here on every group is assigned to this codebook or a later version of it: search them all now.
        base = ivf.codebook;
        for (let j = i; j < groups.length; j++) {
          if (!hasVectors(groups[j]!)) continue;
          const search = nearest(inputFor(groups[j]!, j, { kind: 'ivf', codebook: base }));
          search.catch(() => {}); // awaited below, or dropped with the pass
          searches.set(j, search);
        }
      }
      const search = searches.get(i);
      const found = search !== undefined ? await search : undefined;
      const assigned: IvfAssignment = found?.exact ? assignFromNearest(input, found, base!) : assignPartVectors(input);
      cb = assigned.codebook;
      changed ||= assigned.changed;
      input = { ...input, vectorIndex: { ...ivf, codebook: assigned.codebook, assigned } };
    }
    // Started now: the build of this group overlaps the assignment of the next.
    const b = build(input);
    b.catch(() => {}); // awaited below (a rejection before then is not unhandled)
    building.push(b);
  }
  const built = await Promise.all(building);
  return { built, codebook: cb !== null && changed ? { codebook: cb, changed } : null };
}
