/** Admin commands that read the store directly: router show, wal list, status. */
import { ElaxError } from '../crates-ts/core/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { WalLog, decodeWalEntry, entryVoidIn } from '../crates-ts/wal/index.js';
import { validateNamespaceName } from '../crates-ts/engine/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import type { NamespaceStatus } from '../server/admin-status.js';

export async function routerShow(store: ObjectStore, ns: string) {
  validateNamespaceName(ns);
  const read = await new RouterStore(store).read(ns);
  if (!read) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' has no router.json in ${store.description}`);
  return read.router;
}

export interface WalListRow {
  seq: number;
  rows: number;
  bytes: number;
  time: string;
  requests: number;
  /** The entry's WAL format_version (wal/format.ts: 4 = vectors as binary, written with ELAX_WAL_VECTORS=binary). */
  format: number;
  /** The incarnation (wal_start) the entry was planned on, when its batch read state (RFC-0001 step 5). */
  plan_wal_start?: number;
  /**
   * Under the current router.json: 'live' (read by every fold), 'void' (planned on another incarnation: skipped),
   * 'dead' (below wal_start: a deleted incarnation's); absent when the namespace has no router.json.
   */
  state?: 'live' | 'void' | 'dead';
}

export async function walList(store: ObjectStore, ns: string, opts: { after?: number; limit?: number }) {
  validateNamespaceName(ns);
  const log = new WalLog(store, ns);
  const router = (await new RouterStore(store).read(ns))?.router;
  const objects = await log.listAfter(opts.after ?? 0, opts.limit);
  const rows: WalListRow[] = [];
  for (const o of objects) {
    const bytes = await log.readBytes(o.seq);
    if (!bytes) continue;
    const e = decodeWalEntry(o.seq, bytes);
    const row: WalListRow = { seq: o.seq, rows: e.ops.length, bytes: o.size, time: new Date(e.meta.committed_at).toISOString(), requests: e.meta.requests, format: e.meta.format_version };
    if (e.meta.plan_wal_start !== undefined) row.plan_wal_start = e.meta.plan_wal_start;
    if (router) row.state = o.seq < router.wal_start ? 'dead' : entryVoidIn(e.meta, router.wal_start) ? 'void' : 'live';
    rows.push(row);
  }
  return rows;
}

// Status is computed in one place for the server (GET /admin/status) and the CLI (elax status).
export { namespaceStatus, statusAll, needsAttention, DEFAULT_STALL_AFTER_SECONDS } from '../server/admin-status.js';
export type { NamespaceStatus, FailedEntryStatus, StatusOptions } from '../server/admin-status.js';

/** `elax status` table columns (the JSON output has every field). */
export const STATUS_COLUMNS = [
  'namespace', 'epoch', 'wal_highwater', 'indexed_wal', 'unindexed_entries', 'unindexed_bytes', 'parts',
  'last_write', 'last_indexed_at', 'last_failure_at', 'failed', 'stalled',
];

export function statusTableRows(rows: NamespaceStatus[]): Record<string, unknown>[] {
  // A sharded namespace (RFC-0013) shows its parts as "total (N shards)".
  return rows.map((r) => ({ ...r, parts: r.shards ? `${r.parts} (${r.shards.num_shards} shards)` : r.parts, failed: r.failed_entries.length, stalled: r.stalled ? 'STALLED' : 'no' }));
}

/** One line for `--check`: why this namespace needs attention. */
export function describeTrouble(s: NamespaceStatus): string {
  const why: string[] = [];
  if (s.stalled) why.push(`stalled: ${s.unindexed_entries} unindexed entries, oldest written ${s.oldest_unindexed_at}, last indexer publish ${s.last_indexed_at ?? 'never'}`);
  for (const f of s.failed_entries) why.push(`WAL ${f.seq}${f.wal_end !== f.seq ? `..${f.wal_end}` : ''} failed ${f.attempts} times${f.stage ? ` (${f.stage})` : ''}: ${f.error}`);
  return why.join('; ');
}
