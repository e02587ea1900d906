/**
 * Rebuilding parts from parts, shared by compaction (compact.ts: a run of adjacent parts into one) and reindex
 * (reindex.ts: every part into one or a few, with new build parameters): fold the parts oldest first into the final
 * state per id, split it into WAL-contiguous ranges if asked, build and upload each new part (manifest last).
 * Publishing is the caller's: it decides which router change the new parts make.
 */
import type { Clock, Doc, Id, Schema, DistanceMetric } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import type { PartRef } from '../crates-ts/router/index.js';
import { buildPartFiles, uploadPart, loadPart, newPartId, type BuiltPart, type PartManifest } from '../crates-ts/part/index.js';

export interface FoldedParts {
  /** Final state per id, in fold order: the newest row, or null for a delete that must keep shadowing. */
  changes: Map<Id, Doc | null>;
  /** WAL seq of each live row (its `_seq`). */
  seqs: Map<Id, number>;
  /** Idempotency-Keys of every merged part: they must survive merging as they survive indexing. */
  idempotencyKeys: string[];
  /** Manifests of the merged parts, oldest first. */
  manifests: PartManifest[];
}

/**
 * Fold adjacent parts, oldest first. `settled`: nothing older than these parts remains, so tombstones have nothing
 * left to shadow and are dropped.
 */
export async function foldParts(store: ObjectStore, ns: string, refs: readonly PartRef[], settled: boolean): Promise<FoldedParts> {
  const changes = new Map<Id, Doc | null>();
  const seqs = new Map<Id, number>();
  const idempotencyKeys: string[] = [];
  const manifests: PartManifest[] = [];
  for (const ref of refs) {
    const part = await loadPart(store, ns, ref.id, undefined, { lazy: true }); // rows only: no index needed
    manifests.push(part.manifest);
    part.docs.forEach((d, i) => seqs.set(d.id, part.seqs[i]!));
    for (const id of part.tombstones) {
      changes.delete(id);
      changes.set(id, null);
    }
    for (const d of part.docs) {
      changes.delete(d.id);
      changes.set(d.id, d);
    }
    idempotencyKeys.push(...part.idempotencyKeys);
  }
  if (settled) for (const [id, d] of changes) if (d === null) changes.delete(id);
  return { changes, seqs, idempotencyKeys, manifests };
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
  build?: typeof buildPartFiles;
}

/** Build and upload one part (manifest last); returns the reference a router will list, and the manifest. */
export async function buildAndUploadPart(
  store: ObjectStore,
  ns: string,
  input: { walStart: number; walEnd: number; level: number; changes: ReadonlyMap<Id, Doc | null>; seqs: ReadonlyMap<Id, number>; schema: Schema; distanceMetric: DistanceMetric | null; idempotencyKeys: readonly string[] },
  opts: BuildPartOptions,
): Promise<{ ref: PartRef; built: BuiltPart }> {
  const createdAt = new Date(opts.clock.now()).toISOString();
  const partId = newPartId(input.walStart, input.walEnd, opts.nonce());
  const built = await (opts.build ?? buildPartFiles)({
    namespace: ns,
    partId,
    walStart: input.walStart,
    walEnd: input.walEnd,
    level: input.level,
    changes: input.changes,
    seqs: input.seqs,
    schema: input.schema,
    distanceMetric: input.distanceMetric,
    hnsw: opts.hnsw,
    partFormat: opts.partFormat,
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
  };
  return { ref, built };
}
