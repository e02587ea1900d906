/** Admin commands that read the store directly: router show, wal list, status. */
import { ElaxError } from '../crates-ts/core/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { WalLog, decodeWalEntry } from '../crates-ts/wal/index.js';
import { listNamespaces, validateNamespaceName } from '../crates-ts/engine/index.js';
import { NamespaceCatalog } from '../crates-ts/namespace/index.js';
import { systemClock } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';

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
}

export async function walList(store: ObjectStore, ns: string, opts: { after?: number; limit?: number }) {
  validateNamespaceName(ns);
  const log = new WalLog(store, ns);
  const objects = await log.listAfter(opts.after ?? 0, opts.limit);
  const rows: WalListRow[] = [];
  for (const o of objects) {
    const bytes = await log.readBytes(o.seq);
    if (!bytes) continue;
    const e = decodeWalEntry(o.seq, bytes);
    rows.push({ seq: o.seq, rows: e.ops.length, bytes: o.size, time: new Date(e.meta.committed_at).toISOString(), requests: e.meta.requests });
  }
  return rows;
}

export interface NamespaceStatus {
  namespace: string;
  epoch: number;
  wal_highwater: number;
  indexed_wal: number;
  unindexed_entries: number;
  unindexed_bytes: number;
  parts: number;
  last_write: string | null;
  /** When an indexer last published a part (router.indexer.last_success_at). */
  last_indexed_at: string | null;
}

export async function namespaceStatus(store: ObjectStore, ns: string): Promise<NamespaceStatus> {
  const r = await routerShow(store, ns);
  if (r.deleted) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' was deleted at ${r.deleted.at}`);
  const log = new WalLog(store, ns);
  const tail = await log.listAfter(r.indexed_wal);
  const head = tail.length ? tail[tail.length - 1]!.seq : r.indexed_wal;
  return {
    namespace: ns,
    epoch: r.epoch,
    wal_highwater: head,
    indexed_wal: r.indexed_wal,
    unindexed_entries: tail.length,
    unindexed_bytes: tail.reduce((s, o) => s + o.size, 0),
    parts: r.parts.length,
    last_write: tail.length ? new Date(tail[tail.length - 1]!.lastModified).toISOString() : null,
    last_indexed_at: typeof r.indexer?.last_success_at === 'string' ? r.indexer.last_success_at : null,
  };
}

export async function statusAll(store: ObjectStore, ns?: string): Promise<NamespaceStatus[]> {
  if (ns) return [await namespaceStatus(store, ns)];
  const catalog = new NamespaceCatalog(store, { clock: systemClock });
  const out: NamespaceStatus[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listNamespaces(catalog, { cursor, pageSize: 1000 });
    for (const n of page.namespaces) out.push(await namespaceStatus(store, n.id));
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}
