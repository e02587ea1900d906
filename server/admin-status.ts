/**
 * Namespace status for operators, read from the store: WAL highwater vs. indexed_wal, the unindexed tail, parts,
 * indexer success/failure records and a `stalled` verdict. One computation shared by `GET /admin/status` and
 * `elax status` (cli/admin.ts re-exports it), so both always agree. It only reads router.json and LISTs the WAL
 * tail (no entry is fetched or decoded): 2+ store requests per namespace.
 *
 * `router.indexer` is free-form bookkeeping written by indexers (see indexer/failures.ts for its shape); it is
 * read defensively here: any field may be absent or malformed, and failure records the router already resolved
 * (seq ≤ indexed_wal, seq < wal_start, or a deleted namespace) are ignored, as that file prescribes.
 */
import { ElaxError } from '../crates-ts/core/index.js';
import { RouterStore, type Router } from '../crates-ts/router/index.js';
import { WalLog, type WalObject } from '../crates-ts/wal/index.js';
import { listNamespaces, validateNamespaceName } from '../crates-ts/engine/index.js';
import { NamespaceCatalog } from '../crates-ts/namespace/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';

/** Default for `--stall-after` / `?stall_after=`: ten minutes without indexer progress. */
export const DEFAULT_STALL_AFTER_SECONDS = 600;

/** A WAL range an indexer failed on repeatedly (router.indexer.failed_entries, current records only). */
export interface FailedEntryStatus {
  seq: number;
  wal_end: number;
  stage: string | null;
  error: string;
  attempts: number;
  first_failed_at: string | null;
  last_failed_at: string | null;
}

export interface NamespaceStatus {
  namespace: string;
  /** router.json epoch (+1 on every publish). */
  epoch: number;
  /** Highest WAL seq written (== indexed_wal when the tail is empty). */
  wal_highwater: number;
  indexed_wal: number;
  unindexed_entries: number;
  unindexed_bytes: number;
  parts: number;
  /** Sharded namespaces (RFC-0013): the number of shards and the parts of each (index = shard). Absent: unsharded. */
  shards?: { num_shards: number; parts_per_shard: number[] };
  /** When the newest unindexed entry was written (store time), null with an empty tail. */
  last_write: string | null;
  /** When the oldest unindexed entry was written (store time), null with an empty tail. */
  oldest_unindexed_at: string | null;
  /** When an indexer last published a part (router.indexer.last_success_at). */
  last_indexed_at: string | null;
  /** Most recent recorded indexer failure (kept as history after recovery). */
  last_failure_at: string | null;
  last_error: string | null;
  /** Current (unresolved) failure records: the indexer is stuck on these WAL entries. */
  failed_entries: FailedEntryStatus[];
  /**
   * Unindexed entries exist, the oldest is older than the stall threshold, and no indexer has published since it
   * was written.
   */
  stalled: boolean;
}

export interface StatusOptions {
  /** Current time in ms (default Date.now()). */
  now?: number;
  /** Stall threshold in seconds (default 600). */
  stallAfterSeconds?: number;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The router's current failure records, normalised; resolved and malformed records are dropped. */
export function currentFailedEntries(r: Router): FailedEntryStatus[] {
  const raw = r.indexer?.failed_entries;
  if (r.deleted || !Array.isArray(raw)) return [];
  const out: FailedEntryStatus[] = [];
  for (const f of raw as unknown[]) {
    if (!f || typeof f !== 'object') continue;
    const e = f as Record<string, unknown>;
    const seq = num(e.seq);
    if (seq === null || seq <= r.indexed_wal || seq < r.wal_start) continue;
    out.push({
      seq,
      wal_end: num(e.wal_end) ?? seq,
      stage: str(e.stage),
      error: str(e.error) ?? '(no message recorded)',
      attempts: num(e.attempts) ?? 0,
      first_failed_at: str(e.first_failed_at),
      last_failed_at: str(e.last_failed_at),
    });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * Pure: the status of a namespace from its router and its WAL objects above indexed_wal (in seq order).
 * Stalled compares store times (WAL object LastModified) with the indexer's clock (last_success_at): skew between
 * them only shifts the verdict by the skew, which the minutes-scale threshold absorbs.
 */
export function statusFromRouter(r: Router, tail: readonly WalObject[], now: number, stallAfterSeconds: number): NamespaceStatus {
  const newest = tail.length ? tail[tail.length - 1]! : null;
  const oldest = tail.length ? tail[0]! : null;
  const lastSuccess = str(r.indexer?.last_success_at);
  const lastSuccessMs = lastSuccess ? Date.parse(lastSuccess) : NaN;
  const stalled =
    oldest !== null &&
    now - oldest.lastModified > stallAfterSeconds * 1000 &&
    // No publish since the oldest unindexed entry was written (an unparseable time counts as none).
    !(lastSuccessMs >= oldest.lastModified);
  return {
    namespace: r.namespace,
    epoch: r.epoch,
    wal_highwater: newest ? newest.seq : r.indexed_wal,
    indexed_wal: r.indexed_wal,
    unindexed_entries: tail.length,
    unindexed_bytes: tail.reduce((s, o) => s + o.size, 0),
    parts: r.parts.length,
    ...(r.sharding ? { shards: { num_shards: r.sharding.num_shards, parts_per_shard: partsPerShard(r.parts, r.sharding.num_shards) } } : {}),
    last_write: newest ? new Date(newest.lastModified).toISOString() : null,
    oldest_unindexed_at: oldest ? new Date(oldest.lastModified).toISOString() : null,
    last_indexed_at: lastSuccess,
    last_failure_at: str(r.indexer?.last_failure_at),
    last_error: str(r.indexer?.last_error),
    failed_entries: currentFailedEntries(r),
    stalled,
  };
}

/** Is this namespace in trouble (what `elax status --check` fails on)? */
export function needsAttention(s: NamespaceStatus): boolean {
  return s.stalled || s.failed_entries.length > 0;
}

export async function namespaceStatus(store: ObjectStore, ns: string, opts: StatusOptions = {}): Promise<NamespaceStatus> {
  validateNamespaceName(ns);
  const read = await new RouterStore(store).read(ns);
  if (!read) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' has no router.json in ${store.description}`);
  const r = read.router;
  if (r.deleted) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' was deleted at ${r.deleted.at}`);
  const tail = await new WalLog(store, ns).listAfter(Math.max(r.indexed_wal, r.wal_start - 1));
  return statusFromRouter(r, tail, opts.now ?? Date.now(), opts.stallAfterSeconds ?? DEFAULT_STALL_AFTER_SECONDS);
}

/** Namespaces read in parallel per listing page (each costs a router GET and a WAL LIST). */
const STATUS_CONCURRENCY = 8;

/** Status of one namespace (`ns`) or of every live namespace, in name order. */
export async function statusAll(store: ObjectStore, ns?: string, opts: StatusOptions = {}): Promise<NamespaceStatus[]> {
  const o = { ...opts, now: opts.now ?? Date.now() };
  if (ns) return [await namespaceStatus(store, ns, o)];
  // listNamespaces only needs the catalog's store and router reader; no view is built.
  const catalog = new NamespaceCatalog(store, { clock: { now: () => o.now } });
  const out: NamespaceStatus[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listNamespaces(catalog, { cursor, pageSize: 1000 });
    const names = page.namespaces.map((n) => n.id);
    const got: (NamespaceStatus | null)[] = new Array(names.length).fill(null);
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const i = next++;
        try {
          got[i] = await namespaceStatus(store, names[i]!, o);
        } catch (e) {
          // Deleted between the listing and the read: not a live namespace any more.
          if (!(e instanceof ElaxError && e.code === 'ELAX_ERR_NAMESPACE_NOT_FOUND')) throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STATUS_CONCURRENCY, names.length) }, worker));
    for (const s of got) if (s) out.push(s);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

function partsPerShard(parts: readonly { shard?: number }[], n: number): number[] {
  const out = new Array<number>(n).fill(0);
  for (const p of parts) if (p.shard !== undefined && p.shard < n) out[p.shard]!++;
  return out;
}
