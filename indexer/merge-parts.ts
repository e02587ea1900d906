/**
 * Rebuilding parts from parts, shared by compaction (compact.ts: a run of adjacent parts into one) and reindex
 * (reindex.ts: every part into one or a few, with new build parameters): fold the parts oldest first into the final
 * state per id, split it into WAL-contiguous ranges if asked, build and upload each new part (manifest last).
 * Publishing is the caller's: it decides which router change the new parts make.
 */
import type { Clock, Doc, Id, Schema, DistanceMetric } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import type { PartRef, Router } from '../crates-ts/router/index.js';
import { buildPartFiles, uploadPart, loadPart, newPartId, type BuiltPart, type PartManifest, type IvfBuildOptions } from '../crates-ts/part/index.js';

export interface FoldedParts {
  /** Final state per id, in fold order: the newest row, or null for a delete that must keep shadowing. */
  changes: Map<Id, Doc | null>;
  /** WAL seq of each live row (its `_seq`). */
  seqs: Map<Id, number>;
  /** Idempotency-Keys of every merged part: they must survive merging as they survive indexing. */
  idempotencyKeys: string[];
  /** Manifests of the merged parts, oldest first. */
  manifests: PartManifest[];
  /** Per merged part: the id of each row ordinal, and the dead mask the fold used (null: none / v1 fold). */
  sources: { ref: PartRef; ids: Id[]; mask: Uint8Array | null }[];
  /** Which source (index into sources) each folded row came from. */
  origin: Map<Id, number>;
}

/**
 * Fold adjacent parts, oldest first. `settled`: nothing older than these parts remains, so tombstones have nothing
 * left to shadow and are dropped. `masks` (a v2 router, RFC-0004 §3): the parts' deletion vectors; the fold keeps
 * exactly their live rows (disjoint by id, Invariant L) and no tombstones (their effect is in older parts' DVs).
 */
export async function foldParts(
  store: ObjectStore,
  ns: string,
  refs: readonly PartRef[],
  settled: boolean,
  masks: readonly (Uint8Array | null)[] | null = null,
): Promise<FoldedParts> {
  const changes = new Map<Id, Doc | null>();
  const seqs = new Map<Id, number>();
  const idempotencyKeys: string[] = [];
  const manifests: PartManifest[] = [];
  const sources: FoldedParts['sources'] = [];
  const origin = new Map<Id, number>();
  for (const [i, ref] of refs.entries()) {
    const part = await loadPart(store, ref.home ?? ns, ref.id, undefined, { lazy: true }); // rows only (from the part's home, RFC-0011)
    manifests.push(part.manifest);
    const mask = masks?.[i] ?? null;
    sources.push({ ref, ids: part.docs.map((d) => d.id), mask });
    if (masks === null) {
      for (const id of part.tombstones) {
        changes.delete(id);
        changes.set(id, null);
        origin.delete(id);
      }
    }
    part.docs.forEach((d, o) => {
      if (mask !== null && mask[o] === 1) return;
      seqs.set(d.id, part.seqs[o]!);
      origin.set(d.id, i);
      changes.delete(d.id);
      changes.set(d.id, d);
    });
    idempotencyKeys.push(...part.idempotencyKeys);
  }
  if (settled) for (const [id, d] of changes) if (d === null) changes.delete(id);
  return { changes, seqs, idempotencyKeys, manifests, sources, origin };
}

/**
 * Rows of the merged parts that died after the fold (RFC-0005 step 5): for each source part still in `after`, the
 * ordinals dead in `afterMasks` but live in the mask the fold used, as ids (the merged parts hold those rows now).
 */
export function diedSinceFold(folded: FoldedParts, after: Router, afterMasks: readonly (Uint8Array | null)[]): Id[] {
  const out: Id[] = [];
  folded.sources.forEach((s, si) => {
    const i = after.parts.findIndex((p) => p.id === s.ref.id);
    const now = i >= 0 ? afterMasks[i] : null;
    if (!now) return;
    for (let o = 0; o < now.length; o++) {
      // Only the row the fold kept: an older version of the id in an earlier source was never copied.
      if (now[o] === 1 && !(s.mask && s.mask[o] === 1) && folded.origin.get(s.ids[o]!) === si) out.push(s.ids[o]!);
    }
  });
  return out;
}

export interface SeqRange {
  walStart: number;
  walEnd: number;
  changes: Map<Id, Doc | null>;
  seqs: Map<Id, number>;
}

/**
 * Split a folded state covering walStart..walEnd into WAL-contiguous ranges of at most `maxRows` rows each (a range
 * grows past it only when one WAL seq alone holds more). Every row goes to the range holding its seq, so ranges
 * hold disjoint ids and each part's `_seq` column stays inside its range; deletes (no seq) go to the first range.
 * Always returns at least one range, covering walStart..walEnd without gaps. Pure.
 */
export function splitBySeq(changes: ReadonlyMap<Id, Doc | null>, seqs: ReadonlyMap<Id, number>, walStart: number, walEnd: number, maxRows: number): SeqRange[] {
  const bySeq = new Map<number, Id[]>();
  const deletes: Id[] = [];
  for (const [id, d] of changes) {
    if (d === null) deletes.push(id);
    else {
      const s = seqs.get(id) ?? walEnd;
      const list = bySeq.get(s);
      if (list) list.push(id);
      else bySeq.set(s, [id]);
    }
  }
  const order = [...bySeq.keys()].sort((a, b) => a - b);
  const cuts: number[] = []; // first seq of each range after the first
  let rows = 0;
  for (const s of order) {
    const n = bySeq.get(s)!.length;
    if (rows > 0 && rows + n > maxRows) {
      cuts.push(s);
      rows = 0;
    }
    rows += n;
  }
  const ranges: SeqRange[] = [];
  const starts = [walStart, ...cuts];
  starts.forEach((start, i) => ranges.push({ walStart: start, walEnd: i + 1 < starts.length ? starts[i + 1]! - 1 : walEnd, changes: new Map(), seqs: new Map() }));
  let r = 0;
  for (const s of order) {
    while (s > ranges[r]!.walEnd) r++;
    for (const id of bySeq.get(s)!) {
      ranges[r]!.changes.set(id, changes.get(id)!);
      ranges[r]!.seqs.set(id, s);
    }
  }
  for (const id of deletes) ranges[0]!.changes.set(id, null);
  return ranges;
}

export interface BuildPartOptions {
  clock: Clock;
  nonce: () => string;
  hnsw?: { M?: number; efConstruction?: number; flatThreshold?: number };
  /** Part format to write (default DEFAULT_PART_FORMAT). */
  partFormat?: number;
  /** Build a format-3 part against this (vector-index.ts ivfBuildFor); `partFormat` is then ignored. */
  ivf?: IvfBuildOptions;
  build?: typeof buildPartFiles;
}

/** Build and upload one part (manifest last); returns the reference a router will list, and the manifest. */
export async function buildAndUploadPart(
  store: ObjectStore,
  ns: string,
  input: { walStart: number; walEnd: number; level: number; shard?: number; changes: ReadonlyMap<Id, Doc | null>; seqs: ReadonlyMap<Id, number>; schema: Schema; distanceMetric: DistanceMetric | null; idempotencyKeys: readonly string[] },
  opts: BuildPartOptions,
): Promise<{ ref: PartRef; built: BuiltPart }> {
  const createdAt = new Date(opts.clock.now()).toISOString();
  const partId = newPartId(input.walStart, input.walEnd, input.shard === undefined ? opts.nonce() : `${opts.nonce()}.s${input.shard}`);
  const built = await (opts.build ?? buildPartFiles)({
    namespace: ns,
    partId,
    walStart: input.walStart,
    walEnd: input.walEnd,
    level: input.level,
    ...(input.shard !== undefined ? { shard: input.shard } : {}),
    changes: input.changes,
    seqs: input.seqs,
    schema: input.schema,
    distanceMetric: input.distanceMetric,
    hnsw: opts.hnsw,
    partFormat: opts.ivf ? undefined : opts.partFormat,
    vectorIndex: opts.ivf,
    createdAt,
    idempotencyKeys: input.idempotencyKeys,
  });
  await uploadPart(store, built);
  const ref: PartRef = {
    id: partId,
    wal_start: input.walStart,
    wal_end: input.walEnd,
    rows: built.manifest.rows,
    bytes: built.files.reduce((s, f) => s + f.bytes.length, 0),
    level: input.level,
    created_at: createdAt,
    index_kind: built.manifest.index.kind,
    ...(input.shard !== undefined ? { shard: input.shard } : {}),
  };
  return { ref, built };
}
