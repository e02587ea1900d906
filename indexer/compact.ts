/**
 * Compaction (RFC-0005): size-tiered merging keeps the part count per namespace bounded. The `fanout` oldest
 * adjacent parts of the lowest crowded level merge into one part of the next level; shadowed rows disappear, and
 * tombstones are dropped once nothing older than the merged range remains (they have nothing left to shadow).
 * Published by the same If-Match CAS as indexing; safe while queries and other indexers run.
 *
 * With `vectorIndex: {kind: 'ivf'}` the merged part is format 3 against the namespace codebook as the indexer's are
 * (vector-index.ts): its vectors are reassigned to the current centroids, clusters under minSize that no other part
 * holds are folded into their nearest neighbours, oversize clusters split, and centroids no part holds any more are
 * retired (RFC-0008 §6) — one new codebook version, published in the same CAS; HNSW inputs get converted. A retired
 * centroid is never probed, so every attempt checks that no part outside the merged run (one published meanwhile
 * included) holds a live row in a centroid this merge retires, and abandons otherwise.
 */
import type { Clock } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore, withCodebook, type PartRef, type Router } from '../crates-ts/router/index.js';
import type { buildPartFiles } from '../crates-ts/part/index.js';
import { writeCodebook } from '../crates-ts/vindex/index.js';
import { foldParts, buildAndUploadPart, diedSinceFold } from './merge-parts.js';
import { formatTwoHnsw, ivfBuildFor, type VectorIndexOptions } from './vector-index.js';
import { LivenessReader, LIVENESS_ROUTER_FORMAT, withDeletions } from './liveness.js';
import { ClusterUsage } from './cluster-usage.js';
import { newlyRetired } from '../crates-ts/ivf/index.js';
import { compareIds } from '../crates-ts/core/index.js';

export interface CompactOptions {
  clock: Clock;
  nonce: () => string;
  /** Merge this many parts of one level at a time. Default 4. */
  fanout?: number;
  /** Compact when a namespace has more parts than this. Default 8. */
  maxParts?: number;
  /** Merge regardless of counts (operator `elax compact`). */
  force?: boolean;
  /**
   * Merge nothing unless the namespace (in a sharded one, the shard) has more parts than this, tiers included: the
   * loop's deferral while writes keep arriving (loop.ts, RFC-0005 step 6). Default 0.
   */
  onlyOver?: number;
  hnsw?: { M?: number; efConstruction?: number; flatThreshold?: number };
  /** Part format of the merged part (default DEFAULT_PART_FORMAT). */
  partFormat?: number;
  /** IVF (format 3) or HNSW/flat merged parts, as the indexer's (vector-index.ts). */
  vectorIndex?: VectorIndexOptions;
  build?: typeof buildPartFiles;
}

export type CompactOutcome =
  | { ns: string; result: 'compacted'; merged: string[]; part: PartRef; epoch: number }
  | { ns: string; result: 'nothing' | 'abandoned'; reason?: string };

/** A run of parts to merge: `indices` into router.parts, oldest first; `start`/`count` as positions in that shard. */
export interface CompactionPick {
  start: number;
  count: number;
  /** The parts to merge, as indices into the router's parts (consecutive in the shard, RFC-0013). */
  indices: number[];
  /** Sharded namespaces: the shard the run belongs to. */
  shard?: number;
}

/**
 * Choose a run of adjacent parts to merge, or null. Pure. A sharded namespace (parts with `shard`, RFC-0013) merges
 * only runs of one shard's consecutive parts (the other shards' parts between them in router order are not part of
 * the run), each shard tiered on its own (`maxParts` is per shard); the first shard with a run wins.
 */
export function pickCompaction(parts: readonly PartRef[], fanout: number, maxParts: number, force: boolean, onlyOver = 0): CompactionPick | null {
  if (!parts.some((p) => p.shard !== undefined)) {
    const pick = pickRun(parts, fanout, maxParts, force, onlyOver);
    return pick && { ...pick, indices: Array.from({ length: pick.count }, (_, i) => pick.start + i) };
  }
  const byShard = new Map<number, number[]>();
  parts.forEach((p, i) => {
    const s = p.shard ?? -1;
    const list = byShard.get(s);
    if (list) list.push(i);
    else byShard.set(s, [i]);
  });
  for (const shard of [...byShard.keys()].sort((a, b) => a - b)) {
    const at = byShard.get(shard)!;
    const pick = pickRun(at.map((i) => parts[i]!), fanout, maxParts, force, onlyOver);
    if (pick) return { ...pick, indices: at.slice(pick.start, pick.start + pick.count), shard };
  }
  return null;
}

/** pickCompaction over one sequence of WAL-ordered parts (a whole unsharded namespace, or one shard's parts). */
function pickRun(parts: readonly PartRef[], fanout: number, maxParts: number, force: boolean, onlyOver: number): { start: number; count: number } | null {
  if (parts.length < 2) return null;
  if (force) return { start: 0, count: parts.length };
  if (parts.length <= onlyOver) return null;
  // Lowest level with at least `fanout` adjacent parts.
  const levels = [...new Set(parts.map((p) => p.level))].sort((a, b) => a - b);
  for (const level of levels) {
    let runStart = -1;
    for (let i = 0; i <= parts.length; i++) {
      if (i < parts.length && parts[i]!.level === level) {
        if (runStart < 0) runStart = i;
        if (i - runStart + 1 === fanout) return { start: runStart, count: fanout };
      } else runStart = -1;
    }
  }
  if (parts.length > maxParts) {
    // No full tier: merge the smallest adjacent pair so the count still goes down.
    let best = 0;
    for (let i = 1; i < parts.length - 1; i++) if (parts[i]!.rows + parts[i + 1]!.rows < parts[best]!.rows + parts[best + 1]!.rows) best = i;
    return { start: best, count: 2 };
  }
  return null;
}

/** Router order of a sharded namespace (RFC-0013): by (wal_start, shard). Stable for unsharded parts (all shard -1). */
function byWalStartAndShard(a: PartRef, b: PartRef): number {
  return a.wal_start - b.wal_start || (a.shard ?? -1) - (b.shard ?? -1);
}

export async function compactNamespace(store: ObjectStore, ns: string, opts: CompactOptions): Promise<CompactOutcome> {
  const routers = new RouterStore(store);
  const read = await routers.read(ns);
  if (!read || read.router.deleted) return { ns, result: 'nothing', reason: 'no such namespace' };
  const router = read.router;
  const pick = pickCompaction(router.parts, opts.fanout ?? 4, opts.maxParts ?? 8, opts.force ?? false, opts.onlyOver ?? 0);
  if (!pick) return { ns, result: 'nothing' };
  const chosen = pick.indices.map((i) => router.parts[i]!);
  // Nothing older than the merged range (in its shard): tombstones have nothing left to shadow.
  const settled = pick.start === 0;
  // RFC-0005 step 2: under a v2 router the fold keeps exactly the inputs' live rows (their deletion vectors).
  const liveness = new LivenessReader(store, ns);
  const masks = router.format_version >= LIVENESS_ROUTER_FORMAT ? await Promise.all(chosen.map((p) => liveness.mask(p))) : null;
  const folded = await foldParts(store, ns, chosen, settled, masks);
  const last = folded.manifests[folded.manifests.length - 1]!;
  const ivf = await ivfBuildFor(store, ns, router, folded.changes, opts.vectorIndex);
  const usage = new ClusterUsage(liveness);
  const mergedIds = new Set(chosen.map((p) => p.id));
  // RFC-0008 §6: only centroids no other part holds live rows in may be folded or retired.
  if (ivf?.codebook) {
    ivf.merge = { keep: [...(await usage.held(router, mergedIds))].sort((a, b) => a - b) };
    // A merged cluster full together with the other parts' rows of it is split too (ExtendOptions.others).
    ivf.others = await usage.rowsPerCentroid(router, ivf.codebook.k, mergedIds);
  }
  const { ref, built } = await buildAndUploadPart(
    store,
    ns,
    {
      walStart: chosen[0]!.wal_start,
      walEnd: chosen[chosen.length - 1]!.wal_end,
      level: Math.max(...chosen.map((p) => p.level)) + 1,
      ...(pick.shard !== undefined ? { shard: pick.shard } : {}),
      changes: folded.changes,
      seqs: folded.seqs,
      schema: last.schema,
      distanceMetric: last.distance_metric,
      // Keys must survive compaction as they survive indexing: dedup has no expiry window.
      idempotencyKeys: folded.idempotencyKeys,
    },
    { ...opts, ivf, hnsw: ivf ? opts.hnsw : formatTwoHnsw(opts.vectorIndex, opts.hnsw) },
  );
  // A new codebook version goes up before the publish that names it (RFC-0008 §1); a lost publish orphans it.
  const vindex = built.codebook?.changed ? await writeCodebook(store, ns, built.codebook.codebook, opts.nonce()) : undefined;
  const retired = ivf?.codebook && built.codebook ? newlyRetired(ivf.codebook, built.codebook.codebook) : [];
  const createdAt = ref.created_at;
  // A format-2 merged part's rows are the folded live rows in id order (the builder's order): id -> its ordinal.
  const merged = [...folded.changes].filter(([, d]) => d !== null).map(([id]) => id).sort(compareIds);
  const ordinalOf = new Map(merged.map((id, o) => [id, o]));
  const dead = new Set<number>();
  let current: Router = router;
  let witness = read.witness;
  for (let attempt = 0; attempt < 10; attempt++) {
    // The chosen parts must still be there, and still consecutive within their shard (all of the namespace unsharded).
    const inRun = current.parts.map((p, i) => ({ p, i })).filter(({ p }) => p.shard === pick.shard);
    const at = inRun.findIndex(({ p }) => p.id === chosen[0]!.id);
    const stillThere = at >= 0 && chosen.every((c, i) => inRun[at + i]?.p.id === c.id);
    if (!stillThere) return { ns, result: 'abandoned', reason: 'the merged parts changed meanwhile' };
    const chosenAt = new Set(chosen.map((_, i) => inRun[at + i]!.i));
    if (ivf && current.vindex?.codebook !== router.vindex?.codebook) {
      return { ns, result: 'abandoned', reason: `the namespace codebook changed meanwhile (now ${current.vindex?.codebook ?? 'none'})` };
    }
    if (retired.length > 0 && current !== router) {
      // A part published since the read (an indexer's, another compaction's) may hold rows in a centroid retired here.
      const held = await usage.held(current, mergedIds);
      const clash = retired.find((c) => held.has(c));
      if (clash !== undefined) return { ns, result: 'abandoned', reason: `a part published meanwhile holds rows in centroid ${clash}, which this compaction retires` };
    }
    // RFC-0005 step 5: rows of the inputs that died after the fold (an indexer published meanwhile, or upgraded the
    // router to deletion vectors) are rows of the merged part now: they die there too.
    let mergedRef = ref;
    if (current.format_version >= LIVENESS_ROUTER_FORMAT) {
      const afterMasks = await Promise.all(current.parts.map((p, i) => (chosenAt.has(i) ? liveness.mask(p) : Promise.resolve(null))));
      const died = diedSinceFold(folded, current, afterMasks);
      if (ivf) {
        // A format-3 part orders its rows by cluster: ask the part where they are.
        for (const o of (await liveness.lookup(ref, died)).values()) dead.add(o);
      } else {
        for (const id of died) {
          const o = ordinalOf.get(id);
          if (o !== undefined) dead.add(o);
        }
      }
      if (dead.size > 0) [mergedRef] = await withDeletions(liveness, [ref], [null], new Map([[0, [...dead]]]), current.epoch + 1, opts.nonce());
    }
    // The merged part takes the first input's place (its wal_start); sharded, the other shards' parts stay around it
    // in (wal_start, shard) order.
    const parts = [...current.parts.filter((_, i) => !chosenAt.has(i)), mergedRef];
    parts.sort(byWalStartAndShard);
    // Publish time, not build time: the merged parts' GC grace counts from this instant (retired_parts).
    const next = RouterStore.next(current, { parts, ...(vindex ? { vindex: withCodebook(current.vindex, vindex) } : {}) }, new Date(Math.max(opts.clock.now(), Date.parse(createdAt))).toISOString());
    const out = await routers.publish(current, witness, next);
    if (out.ok) return { ns, result: 'compacted', merged: chosen.map((c) => c.id), part: mergedRef, epoch: next.epoch };
    const again = await routers.read(ns);
    if (!again || again.router.deleted || again.router.wal_start !== router.wal_start) return { ns, result: 'abandoned', reason: 'namespace deleted meanwhile' };
    current = again.router;
    witness = again.witness;
  }
  return { ns, result: 'abandoned', reason: 'router.json kept changing' };
}
