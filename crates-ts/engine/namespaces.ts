/** Namespace-level operations that are neither a write nor a query: list, delete. */
import { ElaxError, type Clock } from '../core/index.js';
import type { NamespaceCatalog } from '../namespace/index.js';
import { RouterStore } from '../router/index.js';
import { branchRefsPrefix, partsPrefix, partIdOfKey } from '../store/index.js';

export const NAMESPACE_NAME = /^[A-Za-z0-9\-_.]{1,128}$/;

export function validateNamespaceName(ns: string): void {
  // '.' and '..' are path segments, and '.elax-' marks the local store's temp and lock files.
  if (ns === '.' || ns === '..' || ns.startsWith('.elax-')) {
    throw new ElaxError('ELAX_ERR_INVALID_NAMESPACE', `invalid namespace name '${ns}': '.', '..' and names starting with '.elax-' are reserved`);
  }
  if (!NAMESPACE_NAME.test(ns)) {
    throw new ElaxError(
      'ELAX_ERR_INVALID_NAMESPACE',
      `invalid namespace name '${ns.slice(0, 200)}': use 1-128 characters from A-Z a-z 0-9 - _ .`,
    );
  }
}

export interface NamespaceListPage {
  namespaces: { id: string }[];
  next_cursor?: string;
}

/**
 * Lists live namespaces in name order. The cursor is the last name of the previous page (names after it follow).
 * Key order differs from name order ('-' and '.' sort before '/'), so all `name/` prefixes under `prefix` are
 * listed and sorted; routers are read only for the names a page needs (deleted namespaces keep a tombstone).
 */
export async function listNamespaces(
  catalog: NamespaceCatalog,
  opts: { prefix?: string; cursor?: string; pageSize?: number },
): Promise<NamespaceListPage> {
  const pageSize = opts.pageSize ?? 100;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `page_size must be an integer between 1 and 1000, got ${String(opts.pageSize)}`);
  }
  const res = await catalog.store.list(opts.prefix ?? '', { delimiter: '/' });
  const names = res.prefixes
    .map((p) => p.slice(0, -1))
    .filter((n) => NAMESPACE_NAME.test(n) && n !== '.' && n !== '..' && (opts.cursor === undefined || n > opts.cursor))
    .sort();
  const out: string[] = [];
  let i = 0;
  while (i < names.length && out.length < pageSize) {
    const batch = names.slice(i, i + (pageSize - out.length));
    i += batch.length;
    const routers = await Promise.all(batch.map((n) => catalog.routers.read(n)));
    batch.forEach((n, j) => {
      const r = routers[j];
      if (r && !r.router.deleted) out.push(n);
    });
  }
  const page: NamespaceListPage = { namespaces: out.map((id) => ({ id })) };
  if (out.length === pageSize && i < names.length) page.next_cursor = out[out.length - 1]!;
  return page;
}

/**
 * Deletes a namespace: one CAS makes it disappear (a tombstoned router), then its objects are removed. The next
 * incarnation's WAL starts above the deleted highwater, so sequence numbers are never reused.
 */
export async function deleteNamespace(catalog: NamespaceCatalog, ns: string, clock: Clock): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const read = await catalog.routers.read(ns);
    if (!read || read.router.deleted) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' not found`);
    const r = read.router;
    const head = await catalog.wal(ns).discoverHead(Math.max(r.indexed_wal, r.wal_start - 1));
    const nowIso = new Date(clock.now()).toISOString();
    // Indexer failure records belong to the deleted incarnation's WAL: a revived namespace starts clean.
    const { failed_entries: _gone, ...indexer } = r.indexer ?? {};
    const tomb = RouterStore.next(
      r,
      {
        deleted: { at: nowIso, wal_highwater: head },
        wal_start: head + 1,
        indexed_wal: head,
        parts: [],
        schema: {},
        distance_metric: null,
        // Sharding belongs to the incarnation (RFC-0013): the next one's first write may set it again.
        sharding: undefined,
        // The next incarnation may have other dimensions or metric: it trains its own codebook (RFC-0008 §1).
        vindex: undefined,
        // A revived namespace starts unpinned (docs/api.md "Pinning").
        pinning: undefined,
        ...(r.indexer ? { indexer } : {}),
      },
      nowIso,
    );
    const out = await catalog.routers.publish(r, read.witness, tomb);
    if (out.ok) {
      catalog.evict(ns);
      // Remove the deleted incarnation's objects. Entries above `head` belong to a writer that raced us and
      // revived the namespace: they are kept.
      await catalog.wal(ns).deleteBefore(head + 1);
      // Only the parts the deleted incarnation referenced or retired (docs/rfcs/0007-namespace-delete.md step 3):
      // a writer that revived the namespace right after our CAS may already have an indexer publishing new parts
      // under the same prefix. Anything else (orphans of lost races) is left to GC's grace rule.
      // A namespace that branches borrow parts from (RFC-0011) keeps its part folders: they are all in the
      // tombstone's retired_parts, and GC deletes each once no branch needs it.
      if ((await catalog.store.list(branchRefsPrefix(ns), { limit: 1 })).objects.length > 0) return;
      const mine = new Set([...r.parts.map((p) => p.id), ...(r.retired_parts ?? []).map((p) => p.id)]);
      const parts = await catalog.store.list(partsPrefix(ns));
      const doomed = parts.objects.filter((o) => mine.has(partIdOfKey(ns, o.key) ?? ''));
      // Manifests first, so a half-deleted part is never mistaken for a complete one.
      await Promise.all(doomed.filter((o) => o.key.endsWith('/manifest.json')).map((o) => catalog.store.delete(o.key)));
      await Promise.all(doomed.filter((o) => !o.key.endsWith('/manifest.json')).map((o) => catalog.store.delete(o.key)));
      return;
    }
    if (attempt > 20) throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `could not delete ${ns}: router.json keeps changing`, { retryAfter: 1 });
  }
}
