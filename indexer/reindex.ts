/**
 * Reindex (`elax reindex`): rebuild every part of a namespace from its current rows — after changing HNSW M /
 * ef_construction or text-analysis settings, or to convert HNSW parts to IVF (`vectorIndex`, RFC-0008: the new
 * parts are format 3 against the router's codebook, or one trained here) — and switch to the new parts with ONE
 * router CAS.
 *
 * 1. Read router.json (witness). Its parts fold to the live rows and tombstones as of indexed_wal; the WAL tail
 *    above indexed_wal is not touched (it stays in the tail for the indexer).
 * 2. Fold all parts (compaction's fold, merge-parts.ts; nothing is older, so tombstones are dropped), split into
 *    WAL-contiguous ranges if a row cap is set, build every new part, then upload them all (manifest last).
 * 3. Publish epoch + 1 with the parts replaced (indexed_wal, schema, tail unchanged) and `indexer.last_reindex`,
 *    If-Match on the witness of step 1.
 *    - lost race, and the new router still starts with exactly the parts we rebuilt (an indexer appended parts,
 *      or recorded bookkeeping): publish again on top of it, keeping everything appended meanwhile;
 *    - lost race, and our source parts changed (compaction, another reindex), or our parts are format 3 and the
 *      router now names another codebook (an indexer trained or extended one): rebuild from the new router (at most
 *      `maxBuilds` builds); our previous new parts become orphans for GC;
 *    - namespace deleted or recreated: abandon.
 *    A router that drops parts published meanwhile is never published.
 *
 * Queries keep working throughout: they hold old routers, and parts are immutable. The replaced parts are
 * unreferenced after the cut-over, and GC (gc.ts) deletes them after its grace period.
 */
import { ElaxError, type Clock, type Id } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore, type PartRef, type Router, type RouterRead, type VindexRef } from '../crates-ts/router/index.js';
import { WalLog } from '../crates-ts/wal/index.js';
import { readManifest, uploadPart, buildPartFiles, newPartId, DEFAULT_M, DEFAULT_EF_CONSTRUCTION, DEFAULT_FLAT_THRESHOLD, type BuiltPart } from '../crates-ts/part/index.js';
import { foldParts, splitBySeq, diedSinceFold, type BuildPartOptions, type FoldedParts } from './merge-parts.js';
import { LivenessReader, LIVENESS_ROUTER_FORMAT, withDeletions } from './liveness.js';
import { formatTwoHnsw, ivfBuildFor, type VectorIndexOptions } from './vector-index.js';
import { splitByShard } from './shards.js';
import { writeCodebook } from '../crates-ts/vindex/index.js';
import type { Codebook } from '../crates-ts/ivf/index.js';

export interface ReindexOptions extends BuildPartOptions {
  clock: Clock;
  nonce: () => string;
  /** Build parameters; the namespace schema's `vector.ann.m` / `ef_construction` win when set (as for indexing). */
  hnsw?: { M?: number; efConstruction?: number; flatThreshold?: number };
  /** Split the rebuilt rows into WAL-contiguous parts of at most this many rows. Default: one part. */
  maxRowsPerPart?: number;
  /**
   * IVF (format 3 against the namespace codebook, trained here when the router names none and a part has enough
   * vectors) or HNSW/flat (format 2) for the rebuilt parts, as the indexer's (vector-index.ts). Default: HNSW/flat.
   */
  vectorIndex?: VectorIndexOptions;
  /** Full rebuilds before giving up when compaction or another reindex keeps changing the parts. Default 5. */
  maxBuilds?: number;
  build?: typeof buildPartFiles;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** `router.indexer.last_reindex`: the publish that made the current parts (see failures.ts for the whole field). */
export interface ReindexRecord {
  /** ISO time of the cut-over. */
  at: string;
  /** Epoch of the router the reindex published (the only epoch the reindex advanced). */
  epoch: number;
  /** Ids of the new parts. */
  parts: string[];
  /** Ids of the parts they replaced. */
  replaced: string[];
  /** Rows in the new parts (live rows as of wal_end). */
  rows: number;
  /** Last WAL seq the new parts cover (indexed_wal of the router they were built from). */
  wal_end: number;
  /** HNSW parameters the new parts were built with; null when no new part has an HNSW graph. */
  hnsw: { M: number; ef_construction: number } | null;
  /** The codebook the new format-3 parts were built against (RFC-0008); null when none is format 3. */
  codebook?: string | null;
  /** Full builds it took (> 1 when compaction or another reindex changed the parts meanwhile). */
  builds: number;
}

export type ReindexOutcome =
  | { ns: string; result: 'reindexed'; epoch: number; parts: PartRef[]; replaced: string[]; rows: number; builds: number; publishes: number }
  | { ns: string; result: 'nothing' | 'abandoned'; reason: string; builds: number };

type ParamSource = 'schema' | 'option' | 'default';

export interface ReindexPlan {
  ns: string;
  epoch: number;
  indexed_wal: number;
  /** WAL entries above indexed_wal: they stay in the tail, the indexer builds them. */
  tail_entries: number;
  /** The parts that would be replaced, with the HNSW parameters they were built with (from their manifests). */
  source_parts: { id: string; wal_start: number; wal_end: number; rows: number; bytes: number; level: number; index_kind: string; M: number | null; ef_construction: number | null }[];
  /** Rows stored in those parts (shadowed rows included: an upper bound on the rebuilt rows). */
  rows: number;
  bytes: number;
  /** Parameters the new parts would be built with, and where each comes from. */
  parameters: { M: number; ef_construction: number; flat_threshold: number; max_rows_per_part: number | null; source: { M: ParamSource; ef_construction: ParamSource } };
  warnings: string[];
}

async function readLive(routers: RouterStore, ns: string): Promise<RouterRead> {
  const read = await routers.read(ns);
  if (!read) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' has no router.json`);
  if (read.router.deleted) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' was deleted at ${read.router.deleted.at}`);
  return read;
}

function effectiveParams(router: Router, opts: Pick<ReindexOptions, 'hnsw' | 'maxRowsPerPart'>): ReindexPlan['parameters'] {
  const ann = typeof router.schema.vector?.ann === 'object' ? router.schema.vector.ann : {};
  const pick = (schema: number | undefined, option: number | undefined, dflt: number): [number, ParamSource] =>
    schema !== undefined ? [schema, 'schema'] : option !== undefined ? [option, 'option'] : [dflt, 'default'];
  const [M, mSource] = pick(ann.m, opts.hnsw?.M, DEFAULT_M);
  const [ef, efSource] = pick(ann.ef_construction, opts.hnsw?.efConstruction, DEFAULT_EF_CONSTRUCTION);
  return {
    M,
    ef_construction: ef,
    flat_threshold: opts.hnsw?.flatThreshold ?? DEFAULT_FLAT_THRESHOLD,
    max_rows_per_part: opts.maxRowsPerPart ?? null,
    source: { M: mSource, ef_construction: efSource },
  };
}

/** What a reindex would do now (`--dry-run`): reads router.json, the parts' manifests and the WAL listing only. */
export async function planReindex(store: ObjectStore, ns: string, opts: Pick<ReindexOptions, 'hnsw' | 'maxRowsPerPart'> = {}): Promise<ReindexPlan> {
  const { router } = await readLive(new RouterStore(store), ns);
  const manifests = await Promise.all(router.parts.map((p) => readManifest(store, p.home ?? ns, p.id)));
  const tail = await new WalLog(store, ns).listAfter(Math.max(router.indexed_wal, router.wal_start - 1));
  const parameters = effectiveParams(router, opts);
  const warnings: string[] = [];
  if (router.parts.length === 0) warnings.push(`no parts yet (indexed_wal ${router.indexed_wal}): nothing to rebuild`);
  if (parameters.source.M === 'schema' && opts.hnsw?.M !== undefined && opts.hnsw.M !== parameters.M) {
    warnings.push(`the namespace schema sets vector.ann.m = ${parameters.M}, which wins over --hnsw-m ${opts.hnsw.M}; change the schema to change it`);
  }
  if (parameters.source.ef_construction === 'schema' && opts.hnsw?.efConstruction !== undefined && opts.hnsw.efConstruction !== parameters.ef_construction) {
    warnings.push(`the namespace schema sets vector.ann.ef_construction = ${parameters.ef_construction}, which wins over --hnsw-ef-construction ${opts.hnsw.efConstruction}; change the schema to change it`);
  }
  if (tail.length > 0) {
    warnings.push(`${tail.length} WAL entries above indexed_wal ${router.indexed_wal} stay in the tail: the indexer builds them with its own parameters (a schema change among them applies to the rebuilt parts only after it is indexed; run \`elax indexer --once --ns ${ns}\` first to include it)`);
  }
  return {
    ns,
    epoch: router.epoch,
    indexed_wal: router.indexed_wal,
    tail_entries: tail.length,
    source_parts: router.parts.map((p, i) => ({
      id: p.id,
      wal_start: p.wal_start,
      wal_end: p.wal_end,
      rows: p.rows,
      bytes: p.bytes,
      level: p.level,
      index_kind: manifests[i]?.index.kind ?? p.index_kind ?? '?',
      M: manifests[i]?.index.M ?? null,
      ef_construction: manifests[i]?.index.ef_construction ?? null,
    })),
    rows: router.parts.reduce((s, p) => s + p.rows, 0),
    bytes: router.parts.reduce((s, p) => s + p.bytes, 0),
    parameters,
    warnings,
  };
}

interface Rebuilt {
  sources: PartRef[];
  refs: PartRef[];
  rows: number;
  hnsw: ReindexRecord['hnsw'];
  folded: FoldedParts;
  /** Which rebuilt part (index into refs) holds each rebuilt row; its ordinal is asked from the part's id index. */
  partOf: Map<Id, number>;
  /** The codebook the router named when the parts were built (format-3 parts are valid under it only). */
  baseCodebook: string | null;
  /** A codebook this rebuild trained or extended: uploaded already, named by the cut-over's CAS. */
  vindex: VindexRef | null;
}

/** Step 2: fold all of `router`'s parts, build the new parts, then upload them all. */
async function rebuild(store: ObjectStore, ns: string, router: Router, opts: ReindexOptions, liveness: LivenessReader): Promise<Rebuilt> {
  const sources = router.parts;
  const masks = router.format_version >= LIVENESS_ROUTER_FORMAT ? await Promise.all(sources.map((p) => liveness.mask(p))) : null;
  const folded = await foldParts(store, ns, sources, true, masks);
  const walStart = sources[0]!.wal_start;
  // Sharded (RFC-0013) the last part in router order need not end last: the range is the parts' union.
  const walEnd = Math.max(...sources.map((p) => p.wal_end));
  const level = Math.max(...sources.map((p) => p.level)) + 1;
  // Sharded (RFC-0013): each shard's rows get their own parts, in router order (wal_start, shard).
  const ranges = splitByShard(folded.changes, folded.seqs, router.sharding?.num_shards)
    .flatMap((g) => splitBySeq(g.changes, g.seqs, walStart, walEnd, opts.maxRowsPerPart ?? Infinity).map((r) => ({ ...r, shard: g.shard })))
    .sort((a, b) => a.walStart - b.walStart || (a.shard ?? -1) - (b.shard ?? -1));
  const createdAt = new Date(opts.clock.now()).toISOString();
  // Build everything before uploading anything: uploaded-but-unpublished parts are GC candidates once past the
  // grace period, so the gap between upload and publish must stay short however long the builds take.
  const built: BuiltPart[] = [];
  // Format 3: every range is built against the codebook the previous range left (a range may train version 1 or
  // split clusters into a new version); the last changed version is uploaded and named by the cut-over.
  let codebook: Codebook | null = null;
  let changed = false;
  for (const [i, r] of ranges.entries()) {
    const sizes = { targetSize: opts.vectorIndex?.targetSize, minSize: opts.vectorIndex?.minSize, maxSize: opts.vectorIndex?.maxSize };
    const ivf = codebook && opts.vectorIndex?.kind === 'ivf' ? { kind: 'ivf' as const, codebook, ...sizes } : await ivfBuildFor(store, ns, router, r.changes, opts.vectorIndex);
    const b = await (opts.build ?? buildPartFiles)({
        namespace: ns,
        partId: newPartId(r.walStart, r.walEnd, r.shard === undefined ? opts.nonce() : `${opts.nonce()}.s${r.shard}`),
        walStart: r.walStart,
        walEnd: r.walEnd,
        level,
        ...(r.shard !== undefined ? { shard: r.shard } : {}),
        changes: r.changes,
        seqs: r.seqs,
        schema: router.schema,
        distanceMetric: router.distance_metric,
        hnsw: ivf ? opts.hnsw : formatTwoHnsw(opts.vectorIndex, opts.hnsw),
        partFormat: ivf ? undefined : opts.partFormat,
        vectorIndex: ivf,
        createdAt,
        // Keys are looked up namespace-wide (the union over parts): keeping them in one part is enough.
        idempotencyKeys: i === ranges.length - 1 ? folded.idempotencyKeys : [],
      });
    built.push(b);
    if (b.codebook) {
      codebook = b.codebook.codebook;
      changed ||= b.codebook.changed;
    }
  }
  await Promise.all(built.map((b) => uploadPart(store, b)));
  const vindex = changed && codebook ? await writeCodebook(store, ns, codebook, opts.nonce()) : null;
  const refs: PartRef[] = built.map((b, i) => ({
    id: b.manifest.part_id,
    wal_start: ranges[i]!.walStart,
    wal_end: ranges[i]!.walEnd,
    rows: b.manifest.rows,
    bytes: b.files.reduce((s, f) => s + f.bytes.length, 0),
    level,
    created_at: createdAt,
    index_kind: b.manifest.index.kind,
    ...(ranges[i]!.shard !== undefined ? { shard: ranges[i]!.shard } : {}),
  }));
  const h = built.find((b) => b.manifest.index.kind === 'hnsw')?.manifest.index;
  const partOf = new Map<Id, number>();
  ranges.forEach((r, part) => {
    for (const [id, d] of r.changes) if (d !== null) partOf.set(id, part);
  });
  return {
    sources,
    refs,
    rows: refs.reduce((s, r) => s + r.rows, 0),
    hnsw: h ? { M: h.M!, ef_construction: h.ef_construction! } : null,
    folded,
    partOf,
    baseCodebook: router.vindex?.codebook ?? null,
    vindex,
  };
}

const startsWith = (parts: readonly PartRef[], prefix: readonly PartRef[]) => prefix.every((p, i) => parts[i]?.id === p.id);

/** Rebuild every part of `ns` and cut over with one CAS (see the module comment). */
export async function reindexNamespace(store: ObjectStore, ns: string, opts: ReindexOptions): Promise<ReindexOutcome> {
  const routers = new RouterStore(store);
  const maxBuilds = opts.maxBuilds ?? 5;
  let read = await readLive(routers, ns);
  const incarnation = read.router.wal_start;
  let rebuilt: Rebuilt | null = null;
  let builds = 0;
  const liveness = new LivenessReader(store, ns);
  for (let publishes = 1; publishes <= 50; publishes++) {
    const current = read.router;
    // Format-3 parts are valid only under the codebook lineage they were built against (RFC-0008, slice 2c).
    const codebookMoved = rebuilt !== null && rebuilt.refs.some((r) => r.index_kind === 'ivf') && (current.vindex?.codebook ?? null) !== rebuilt.baseCodebook;
    if (rebuilt === null || !startsWith(current.parts, rebuilt.sources) || codebookMoved) {
      if (current.parts.length === 0) return { ns, result: 'nothing', reason: `no parts yet (indexed_wal ${current.indexed_wal}): nothing to rebuild`, builds };
      if (builds === maxBuilds) return { ns, result: 'abandoned', reason: `the parts kept changing during ${builds} rebuilds (compaction or another reindex); try again`, builds };
      if (rebuilt) opts.log?.(codebookMoved ? 'reindex: the namespace codebook changed meanwhile, rebuilding' : 'reindex: parts changed meanwhile, rebuilding', { ns, orphans: rebuilt.refs.map((r) => r.id) });
      builds++;
      rebuilt = await rebuild(store, ns, current, opts, liveness);
    }
    // Rows of the sources that died after the fold (indexers published meanwhile) die in the rebuilt parts too.
    let refs = rebuilt.refs;
    if (current.format_version >= LIVENESS_ROUTER_FORMAT) {
      const n = rebuilt.sources.length;
      const afterMasks = await Promise.all(current.parts.map((p, i) => (i < n ? liveness.mask(p) : Promise.resolve(null))));
      const diedIn = new Map<number, Id[]>();
      for (const id of diedSinceFold(rebuilt.folded, current, afterMasks)) {
        const part = rebuilt.partOf.get(id);
        if (part !== undefined) diedIn.set(part, [...(diedIn.get(part) ?? []), id]);
      }
      // The part's own id index says where a row is (format 3 orders rows by cluster, not by id).
      const deaths = new Map<number, number[]>();
      for (const [part, ids] of diedIn) deaths.set(part, [...(await liveness.lookup(rebuilt.refs[part]!, ids)).values()]);
      if (deaths.size > 0) refs = await withDeletions(liveness, refs, refs.map(() => null), deaths, current.epoch + 1, opts.nonce());
    }
    const nowIso = new Date(opts.clock.now()).toISOString();
    const record: ReindexRecord = {
      at: nowIso,
      epoch: current.epoch + 1,
      parts: rebuilt.refs.map((r) => r.id),
      replaced: rebuilt.sources.map((s) => s.id),
      rows: rebuilt.rows,
      wal_end: Math.max(...rebuilt.sources.map((p) => p.wal_end)),
      hnsw: rebuilt.hnsw,
      codebook: rebuilt.refs.some((r) => r.index_kind === 'ivf') ? (rebuilt.vindex?.codebook ?? rebuilt.baseCodebook) : null,
      builds,
    };
    // Parts appended after our sources (indexers publishing meanwhile) are kept as they are, after ours.
    const parts = [...refs, ...current.parts.slice(rebuilt.sources.length)];
    const next = RouterStore.next(current, { parts, ...(rebuilt.vindex ? { vindex: rebuilt.vindex } : {}), indexer: { ...(current.indexer ?? {}), last_reindex: record } }, nowIso);
    const out = await routers.publish(current, read.witness, next);
    if (out.ok) {
      opts.log?.('reindex: published', { ns, epoch: next.epoch, parts: record.parts, replaced: record.replaced.length, builds, publishes });
      return { ns, result: 'reindexed', epoch: next.epoch, parts: rebuilt.refs, replaced: record.replaced, rows: rebuilt.rows, builds, publishes };
    }
    const again = await routers.read(ns);
    if (!again || again.router.deleted || again.router.wal_start !== incarnation) {
      return { ns, result: 'abandoned', reason: 'the namespace was deleted or recreated meanwhile', builds };
    }
    read = again;
  }
  return { ns, result: 'abandoned', reason: 'router.json kept changing', builds };
}
