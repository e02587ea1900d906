/**
 * Namespace sharding on the indexing side (docs/rfcs/0013-sharding.md): a folded WAL range (or a reindex's fold) is
 * split by shard, one part per shard that has rows or deletes in it; with IVF the shards' parts are built one after
 * the other, each against the codebook the previous one left (the namespace has one codebook: a part that trains or
 * extends it makes a new version that only appends centroids, so the earlier parts stay valid under the last one).
 */
import { shardOf, type Doc, type Id } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import type { Router } from '../crates-ts/router/index.js';
import type { BuiltPart, IvfBuildOptions } from '../crates-ts/part/index.js';
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
 * Builds one part per group: concurrently, except with IVF and more than one group, where each is built against the
 * codebook the previous build left (see the module comment). Returns the built parts (in group order) and the last
 * codebook when a build trained or extended it (to upload before the publish that names it).
 */
export async function buildGroups(
  store: ObjectStore,
  ns: string,
  router: Router,
  groups: readonly ShardGroup[],
  vectorIndex: VectorIndexOptions | undefined,
  build: (g: ShardGroup, i: number, ivf: IvfBuildOptions | undefined) => Promise<BuiltPart>,
): Promise<{ built: BuiltPart[]; codebook: { codebook: Codebook; changed: boolean } | null }> {
  if (vectorIndex?.kind !== 'ivf' || groups.length === 1) {
    const built = await Promise.all(groups.map(async (g, i) => build(g, i, await ivfBuildFor(store, ns, router, g.changes, vectorIndex))));
    const withCb = built.find((b) => b.codebook?.changed);
    return { built, codebook: withCb?.codebook ?? null };
  }
  const built: BuiltPart[] = [];
  let cb: Codebook | null = null;
  let changed = false;
  // With a codebook named by the router, the first group's options (its codebook read once, the other parts' cluster
  // usage counted once) serve every group: reading them per shard would read every part's cluster table per shard.
  let template: IvfBuildOptions | undefined;
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
    const b = await build(g, i, ivf);
    if (b.codebook) {
      cb = b.codebook.codebook;
      changed ||= b.codebook.changed;
    }
    built.push(b);
  }
  return { built, codebook: cb !== null && changed ? { codebook: cb, changed } : null };
}
