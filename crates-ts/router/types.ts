import type { Schema, DistanceMetric, ShardingConfig } from '../core/index.js';

/**
 * Router formats: 1 — a part row is live unless a newer part holds its id (the fold, tombstones delete);
 * 2 — a part row is live unless its part's deletion vector (PartRef.deletes) says otherwise (RFC-0004 §3).
 * New namespaces start at 2; a v1 router is upgraded by the first indexer publish that computes every DV.
 */
export const ROUTER_FORMAT_VERSION = 2;
export const MIN_ROUTER_FORMAT_VERSION = 1;
/**
 * Format 3 = format 2 + parts borrowed from another namespace (`PartRef.home`, RFC-0011): written only by routers
 * that have a `home` (branches) and kept once reached, so namespaces that never branched stay readable by builds
 * that know 1..2.
 */
export const SHARED_PARTS_ROUTER_FORMAT = 3;
/**
 * Format 4 = format 3 + namespace sharding (docs/rfcs/0013-sharding.md): `Router.sharding` and `PartRef.shard`, parts
 * ordered by (wal_start, shard), each shard's parts ordered and non-overlapping. Written by every publish of a router
 * that has `sharding` (and kept once reached), so builds that know only 1..3 refuse it rather than misread it.
 */
export const SHARDED_ROUTER_FORMAT = 4;
export const MAX_ROUTER_FORMAT_VERSION = SHARDED_ROUTER_FORMAT;

/** One published part (filled by the indexer; empty until parts exist). */
export interface PartRef {
  id: string;
  /** Inclusive WAL range the part covers. */
  wal_start: number;
  wal_end: number;
  rows: number;
  bytes: number;
  level: number;
  created_at: string;
  index_kind?: string;
  /** The part's current deletion vector under a v2 router; absent: no dead rows (RFC-0004 §3). */
  deletes?: { file: string; count: number; bytes: number };
  /**
   * Format 3 (RFC-0011): the namespace whose `parts/{id}/` holds this part's manifest and data files, when it is not
   * this router's namespace (a branch borrows its source's parts). Deletion vectors always live under this router's
   * namespace. Absent: this namespace.
   */
  home?: string;
  /**
   * Format 4 (RFC-0013): the shard whose ids the part holds (0..sharding.num_shards-1; core/shard.ts shardOf). Absent:
   * an unsharded namespace's part.
   */
  shard?: number;
}

/** The namespace holding part `ref`'s manifest and data files (RFC-0011). */
export function partHome(router: { namespace: string }, ref: { home?: string }): string {
  return ref.home ?? router.namespace;
}

/** Whether `r` borrows any part (its own or a retired one) from another namespace: it must be format 3. */
export function hasBorrowedParts(r: Router): boolean {
  return r.parts.some((p) => p.home !== undefined) || (r.retired_parts ?? []).some((p) => p.home !== undefined);
}

/**
 * The namespace's current codebook (RFC-0008 §1): the object `{ns}/vindex/{codebook}` holds version `version`. Set
 * in the CAS of the publish that first uses it; only ever moves to a higher version. Absent: no clustered index yet.
 */
export interface VindexRef {
  /** Object name, `codebook-{version:010d}-{nonce}.cb` (the key is store/paths.ts codebookKey(ns, codebook)). */
  codebook: string;
  version: number;
  /**
   * Probe depth tuned for this namespace (`elax recall --tune`, RFC-0008 §5): the clusters an ANN query that passes
   * no ef_search probes, when the schema sets no `vector.ann.ef_search` either (a positive integer). Absent: the
   * server default (`--ef-search` mapped to nprobe). Centroid ids are stable across codebook versions, so a new
   * version keeps it (`withCodebook`). Additive: older readers ignore it.
   */
  probes_min?: number;
  /**
   * Confidence ε0 of RaBitQ's error bound tuned for this namespace (`elax recall --tune`, RFC-0008 §5, "ε0 tuned
   * with the depth"): the searcher refines a candidate only while its lower bound est − ε0·err can still reach the
   * top k, so a smaller ε0 refines fewer candidates (faster) and may miss a few more. Measured at probes_min, it
   * applies to every ANN query over the clustered parts. A finite number in (0, 10]. Absent: the default
   * (ivf/search.ts DEFAULT_EPS0). Carried over with probes_min (`withCodebook`). Additive: older readers ignore it.
   */
  eps0?: number;
}

/** Whether `x` is a valid `vindex.eps0` (a finite number in (0, 10]; recall requests accept the same range). */
export function isTunedEps0(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 && x <= 10;
}

/**
 * The `vindex` a publish that names codebook `named` (a trained or extended version) sets: the current namespace
 * tuning (probes_min, eps0) carries over, so no indexer or compaction drops what `elax recall --tune` recorded.
 */
export function withCodebook(current: VindexRef | undefined, named: VindexRef): VindexRef {
  const out: VindexRef = { ...named };
  if (current?.probes_min !== undefined) out.probes_min = current.probes_min;
  if (current?.eps0 !== undefined) out.eps0 = current.eps0;
  return out;
}

/** router.pinning: the configuration a PATCH of the namespace's metadata set, and when it was first pinned. */
export interface RouterPinning {
  /** Read replicas requested (turbopuffer's PinningConfig.replicas; a positive integer, default 1). */
  replicas: number;
  /** ISO time the namespace was pinned (kept when only `replicas` changes): the share goes to earlier pins first. */
  pinned_at: string;
}

/** Whether `x` is a well-formed router.pinning. */
export function isRouterPinning(x: unknown): x is RouterPinning {
  if (x === null || typeof x !== 'object') return false;
  const p = x as Record<string, unknown>;
  return Number.isSafeInteger(p.replicas) && (p.replicas as number) >= 1 && typeof p.pinned_at === 'string' && Number.isFinite(Date.parse(p.pinned_at));
}

export interface RetiredPart {
  id: string;
  /** ISO time of the publish that removed the part from `parts`. */
  retired_at: string;
  /** The part's home when it was borrowed (RFC-0011): its files are not under this namespace, the home's GC reads this record. */
  home?: string;
}

export interface RetiredFile {
  part: string;
  file: string;
  retired_at: string;
}

/** `{ns}/router.json`: the CAS pointer to a namespace's current state (RFC-0002; docs/ARCHITECTURE.md, Object layout). */
export interface Router {
  format_version: number;
  namespace: string;
  /** Strictly increasing on every publish. */
  epoch: number;
  /** Every WAL entry with seq ≤ indexed_wal is covered by parts. */
  indexed_wal: number;
  /**
   * First WAL seq of this incarnation of the namespace. Seqs are never reused: after a delete, the next
   * incarnation starts above the deleted one's highwater, so stale caches can never mistake old entries for new.
   */
  wal_start: number;
  parts: PartRef[];
  /** Schema and distance metric as of indexed_wal (the WAL tail may carry newer ones). */
  schema: Schema;
  distance_metric: DistanceMetric | null;
  created_at: string;
  updated_at: string;
  /** Present when the namespace was deleted: it does not exist until a write revives it. */
  deleted?: { at: string; wal_highwater: number };
  /**
   * Parts that left `parts` (compaction, reindex, namespace deletion), with when they left. A node may still read a
   * part from a router it cached before that moment, so GC counts the grace period from `retired_at`, not from the
   * part's creation, and drops the record once the part's objects are gone (docs/rfcs/0006-gc.md). Additive:
   * readers that do not know it ignore it.
   */
  retired_parts?: RetiredPart[];
  /** Deletion-vector files of live parts replaced by a newer one, with when (RFC-0006 step 1); GC deletes them after the grace. */
  retired_files?: RetiredFile[];
  /** The codebook of the namespace's clustered vector index; absent until the first format-3 part. Additive: older readers ignore it. */
  vindex?: VindexRef;
  /**
   * Namespace pinning (`PATCH /v1/namespaces/:ns/metadata {pinning}`, docs/api.md "Pinning"): every node that opens
   * the namespace keeps its data resident within its pinned cache share, in `pinned_at` order. Absent: not pinned.
   * Additive to formats 1..3 (no version change): older readers ignore it, so they only do not pin.
   */
  pinning?: RouterPinning;
  /**
   * Namespace sharding (RFC-0013), set by the namespace's first write (its WAL entry's meta) and copied here by the
   * first indexer publish; fixed for the incarnation (dropped by deletion). Absent: unsharded.
   */
  sharding?: ShardingConfig;
  /** Free-form indexer bookkeeping (last success/failure), shown by `elax status`. */
  indexer?: Record<string, unknown>;
}
