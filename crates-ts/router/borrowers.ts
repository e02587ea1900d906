/**
 * Which of a namespace's parts other namespaces still borrow (branches, docs/rfcs/0011-copy-and-branch.md "Reference
 * tracking and GC"): read from the references `{home}/refs/{dest}/{nonce}.json` and each referencing namespace's
 * router. Used by GC (RFC-0006 step 2) and namespace deletion (RFC-0007 step 3) of `home`.
 */
import type { ObjectStore } from '../store/index.js';
import { branchRefsPrefix, parseBranchRefKey } from '../store/index.js';
import { RouterStore } from './router-store.js';

export interface BorrowedParts {
  /** Every part must be kept: a reference whose namespace is still being created (no router yet). */
  all: boolean;
  /** Part ids of `home` some borrower references now, or retired less than `grace` ago. */
  ids: Set<string>;
  /** Reference objects that protect nothing and are older than the grace: safe to delete. */
  stale: string[];
  /** Reference objects read. */
  refs: number;
}

export async function borrowedParts(store: ObjectStore, home: string, now: number, grace: number): Promise<BorrowedParts> {
  const out: BorrowedParts = { all: false, ids: new Set(), stale: [], refs: 0 };
  const listed = (await store.list(branchRefsPrefix(home))).objects;
  const byDest = new Map<string, { key: string; lastModified: number }[]>();
  for (const o of listed) {
    const ref = parseBranchRefKey(home, o.key);
    if (!ref) continue;
    out.refs++;
    byDest.set(ref.dest, [...(byDest.get(ref.dest) ?? []), { key: o.key, lastModified: o.lastModified }]);
  }
  const routers = new RouterStore(store);
  await Promise.all(
    [...byDest].map(async ([dest, refs]) => {
      const read = await routers.read(dest);
      if (!read) {
        // Being created (references are written before the router) or a creation that failed.
        for (const ref of refs) {
          if (now - ref.lastModified < grace) out.all = true;
          else out.stale.push(ref.key);
        }
        return;
      }
      const r = read.router;
      let needed = 0;
      for (const p of r.parts) {
        if (p.home === home) {
          out.ids.add(p.id);
          needed++;
        }
      }
      for (const p of r.retired_parts ?? []) {
        // A node may still read a part of a router of `dest` it cached before the part left: the grace from then.
        // An unparsable time never expires (NaN comparisons are false).
        if (p.home === home && !(now - Date.parse(p.retired_at) >= grace)) {
          out.ids.add(p.id);
          needed++;
        }
      }
      if (needed === 0) for (const ref of refs) if (now - ref.lastModified >= grace) out.stale.push(ref.key);
    }),
  );
  return out;
}
