/**
 * Compaction (design.md §5): size-tiered merging keeps the part count per namespace bounded. The `fanout` oldest
 * adjacent parts of the lowest crowded level merge into one part of the next level; shadowed rows disappear, and
 * tombstones are dropped once nothing older than the merged range remains (they have nothing left to shadow).
 * Published by the same If-Match CAS as indexing; safe while queries and other indexers run.
 */
import type { Clock } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore, type PartRef, type Router } from '../crates-ts/router/index.js';
import type { buildPartFiles } from '../crates-ts/part/index.js';
import { foldParts, buildAndUploadPart } from './merge-parts.js';

export interface CompactOptions {
  clock: Clock;
  nonce: () => string;
  /** Merge this many parts of one level at a time. Default 4. */
  fanout?: number;
  /** Compact when a namespace has more parts than this. Default 8. */
  maxParts?: number;
  /** Merge regardless of counts (operator `elax compact`). */
  force?: boolean;
  hnsw?: { M?: number; efConstruction?: number; flatThreshold?: number };
  /** Part format of the merged part (default DEFAULT_PART_FORMAT). */
  partFormat?: number;
  build?: typeof buildPartFiles;
}

export type CompactOutcome =
  | { ns: string; result: 'compacted'; merged: string[]; part: PartRef; epoch: number }
  | { ns: string; result: 'nothing' | 'abandoned'; reason?: string };

/** Choose a run of adjacent parts to merge, or null. Pure. */
export function pickCompaction(parts: readonly PartRef[], fanout: number, maxParts: number, force: boolean): { start: number; count: number } | null {
  if (parts.length < 2) return null;
  if (force) return { start: 0, count: parts.length };
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

export async function compactNamespace(store: ObjectStore, ns: string, opts: CompactOptions): Promise<CompactOutcome> {
  const routers = new RouterStore(store);
  const read = await routers.read(ns);
  if (!read || read.router.deleted) return { ns, result: 'nothing', reason: 'no such namespace' };
  const router = read.router;
  const pick = pickCompaction(router.parts, opts.fanout ?? 4, opts.maxParts ?? 8, opts.force ?? false);
  if (!pick) return { ns, result: 'nothing' };
  const chosen = router.parts.slice(pick.start, pick.start + pick.count);
  const settled = pick.start === 0; // nothing older than the merged range: tombstones have nothing left to shadow
  const folded = await foldParts(store, ns, chosen, settled);
  const last = folded.manifests[folded.manifests.length - 1]!;
  const { ref } = await buildAndUploadPart(
    store,
    ns,
    {
      walStart: chosen[0]!.wal_start,
      walEnd: chosen[chosen.length - 1]!.wal_end,
      level: Math.max(...chosen.map((p) => p.level)) + 1,
      changes: folded.changes,
      seqs: folded.seqs,
      schema: last.schema,
      distanceMetric: last.distance_metric,
      // Keys must survive compaction as they survive indexing: dedup has no expiry window.
      idempotencyKeys: folded.idempotencyKeys,
    },
    opts,
  );
  const createdAt = ref.created_at;
  let current: Router = router;
  let witness = read.witness;
  for (let attempt = 0; attempt < 10; attempt++) {
    const at = current.parts.findIndex((p) => p.id === chosen[0]!.id);
    const stillThere = at >= 0 && chosen.every((c, i) => current.parts[at + i]?.id === c.id);
    if (!stillThere) return { ns, result: 'abandoned', reason: 'the merged parts changed meanwhile' };
    const parts = [...current.parts.slice(0, at), ref, ...current.parts.slice(at + chosen.length)];
    // Publish time, not build time: the merged parts' GC grace counts from this instant (retired_parts).
    const next = RouterStore.next(current, { parts }, new Date(Math.max(opts.clock.now(), Date.parse(createdAt))).toISOString());
    const out = await routers.publish(current, witness, next);
    if (out.ok) return { ns, result: 'compacted', merged: chosen.map((c) => c.id), part: ref, epoch: next.epoch };
    const again = await routers.read(ns);
    if (!again || again.router.deleted || again.router.wal_start !== router.wal_start) return { ns, result: 'abandoned', reason: 'namespace deleted meanwhile' };
    current = again.router;
    witness = again.witness;
  }
  return { ns, result: 'abandoned', reason: 'router.json kept changing' };
}
