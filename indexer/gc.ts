/**
 * Garbage collection (docs/rfcs/0006-gc.md): deletes WAL entries already covered by parts once older than the
 * retention window, and part folders the router no longer references once the grace period has passed:
 *  - a part that was published and later removed (compaction, reindex, deletion) is listed in
 *    router.retired_parts with the time it left; its grace counts from then, because a node may keep reading it
 *    from a router it cached before (eventual reads: up to 60 s; a query in flight: its duration);
 *  - a part that was never published (an indexer lost the race or died before its CAS) is not in any router a node
 *    could hold; its grace counts from its newest file, so a part being uploaded right now is never taken.
 * Codebook objects (`{ns}/vindex/`, RFC-0008 §1) other than the one router.vindex names go too, once past the grace
 * counted from the later of their own write and the named codebook's write (the publish that superseded them came
 * after that write) or the namespace's deletion: a lost race's codebook, one superseded by a newer version, or
 * one of a deleted incarnation. The named codebook is never taken.
 * Deleted parts are then dropped from retired_parts (best effort, by CAS; a lost race leaves them for the next
 * pass, which prunes records whose objects are gone). `dryRun` lists what would go.
 */
import type { Clock } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { walKey, parseWalKey, walPrefix, partsPrefix, partIdOfKey, vindexPrefix, codebookKey, type Witness } from '../crates-ts/store/index.js';
import { isDvFile, partFileKey } from '../crates-ts/part/index.js';
import { RouterStore, borrowedParts, type Router } from '../crates-ts/router/index.js';

export interface GcOptions {
  clock: Clock;
  /** Keep covered WAL entries this long (replay, debugging, backfill verification). Default 1 h. */
  walRetentionMs?: number;
  /** Keep unreferenced parts this long. Default 15 min. */
  partGraceMs?: number;
  dryRun?: boolean;
}

export interface GcReport {
  ns: string;
  wal_entries: number[];
  parts: string[];
  /** Superseded or orphaned deletion-vector objects of live parts (keys). */
  files: string[];
  /** Codebook objects the router does not name (keys), RFC-0008 §1. */
  codebooks: string[];
  /** Unreferenced part folders kept because a branch borrows them (RFC-0011). */
  borrowed: string[];
  /** Branch reference objects deleted (their branch needs nothing of this namespace any more, RFC-0011). */
  refs: string[];
  /**
   * Namespaces this one borrows parts from, now or in its retirements (RFC-0011): a deleted home is not listed as a
   * namespace any more, so whoever runs GC over live namespaces visits these too (their parts go once no branch needs them).
   */
  homes: string[];
  deleted: boolean;
}

export async function gcNamespace(store: ObjectStore, ns: string, opts: GcOptions): Promise<GcReport> {
  const now = opts.clock.now();
  const walRetention = opts.walRetentionMs ?? 3_600_000;
  const partGrace = opts.partGraceMs ?? 900_000;
  const routers = new RouterStore(store);
  const read = await routers.read(ns);
  const report: GcReport = { ns, wal_entries: [], parts: [], files: [], codebooks: [], borrowed: [], refs: [], homes: [], deleted: false };
  if (!read) return report;
  const r = read.router;
  report.homes = [...new Set([...r.parts, ...(r.retired_parts ?? [])].flatMap((p) => (p.home === undefined ? [] : [p.home])))];
  // WAL: covered by parts (or below a deleted incarnation's highwater) and past retention.
  const coveredUpTo = Math.max(r.indexed_wal, r.wal_start - 1);
  const wal = await store.list(walPrefix(ns));
  for (const o of wal.objects) {
    const seq = parseWalKey(o.key);
    if (seq === null || seq > coveredUpTo) continue;
    if (seq >= r.wal_start && now - o.lastModified < walRetention) continue;
    report.wal_entries.push(seq);
  }
  // Parts: folders not referenced by the router, past their grace (RFC-0006 step 2).
  const referenced = new Set(r.parts.map((p) => p.id));
  const retiredAt = new Map((r.retired_parts ?? []).map((p) => [p.id, Date.parse(p.retired_at)]));
  const listed = await store.list(partsPrefix(ns));
  const newest = new Map<string, number>();
  const keysOf = new Map<string, string[]>();
  const currentDv = new Map(r.parts.filter((p) => p.deletes).map((p) => [p.id, p.deletes!.file]));
  const retiredFileAt = new Map((r.retired_files ?? []).map((f) => [partFileKey(ns, f.part, f.file), Date.parse(f.retired_at)]));
  const listedKeys = new Set<string>();
  for (const o of listed.objects) {
    const id = partIdOfKey(ns, o.key);
    if (id === null) continue;
    listedKeys.add(o.key);
    newest.set(id, Math.max(newest.get(id) ?? 0, o.lastModified));
    keysOf.set(id, [...(keysOf.get(id) ?? []), o.key]);
    // A live part's deletion vectors other than its current one: replaced (grace from retirement) or never
    // published (a lost race; grace from the object's time). RFC-0006 step 2.
    if (referenced.has(id)) {
      const file = o.key.slice(partFileKey(ns, id, '').length);
      if (isDvFile(file) && currentDv.get(id) !== file && now - (retiredFileAt.get(o.key) ?? o.lastModified) >= partGrace) report.files.push(o.key);
    }
  }
  // Parts a branch still reads (RFC-0011): kept whatever this router says.
  const borrowed = await borrowedParts(store, ns, now, partGrace);
  report.refs = borrowed.stale;
  for (const [id, t] of newest) {
    if (referenced.has(id)) continue;
    if (borrowed.all || borrowed.ids.has(id)) {
      report.borrowed.push(id);
      continue;
    }
    const since = retiredAt.get(id) ?? t;
    // An unparsable retired_at never qualifies (NaN comparisons are false): keep the part rather than guess.
    if (now - since >= partGrace) report.parts.push(id);
  }
  report.codebooks = await unnamedCodebooks(store, r, now, partGrace);
  if (!opts.dryRun) {
    for (const seq of report.wal_entries) await store.delete(walKey(ns, seq));
    // Manifest first: a part without manifest is incomplete, so a half-deleted part is never read.
    for (const id of report.parts) {
      const keys = keysOf.get(id)!;
      const manifest = keys.filter((k) => k.endsWith('/manifest.json'));
      for (const k of manifest) await store.delete(k);
      await Promise.all(keys.filter((k) => !k.endsWith('/manifest.json')).map((k) => store.delete(k)));
    }
    await Promise.all(report.files.map((k) => store.delete(k)));
    await Promise.all(report.codebooks.map((k) => store.delete(k)));
    await Promise.all(report.refs.map((k) => store.delete(k)));
    // RFC-0006 step 3: forget retired parts and files whose objects are gone (deleted now, or earlier).
    const gone = new Set(report.parts);
    // A borrowed part (home set) has no folder here, or only deletion vectors: its record stays for the whole grace,
    // because the home's GC reads it to keep the part for nodes holding an older router of this namespace (RFC-0011).
    const stale = (r.retired_parts ?? []).filter(
      (p) => gone.has(p.id) || (!newest.has(p.id) && (p.home === undefined || now - Date.parse(p.retired_at) >= partGrace)),
    );
    const goneFiles = new Set(report.files);
    const staleFiles = (r.retired_files ?? []).filter((f) => {
      const k = partFileKey(ns, f.part, f.file);
      return goneFiles.has(k) || !listedKeys.has(k);
    });
    if (stale.length > 0 || staleFiles.length > 0) {
      await forgetRetired(routers, r, read.witness, new Set(stale.map((p) => p.id)), new Set(staleFiles.map((f) => partFileKey(ns, f.part, f.file))), now);
    }
    report.deleted = true;
  }
  return report;
}

/** Drop records from retired_parts / retired_files by one CAS; a lost race is fine (the next pass prunes them). */
async function forgetRetired(routers: RouterStore, r: Router, witness: Witness, ids: Set<string>, fileKeys: Set<string>, now: number): Promise<void> {
  const next = RouterStore.next(
    r,
    {
      retired_parts: (r.retired_parts ?? []).filter((p) => !ids.has(p.id)),
      retired_files: (r.retired_files ?? []).filter((f) => !fileKeys.has(partFileKey(r.namespace, f.part, f.file))),
    },
    new Date(now).toISOString(),
  );
  await routers.publish(r, witness, next);
}

/**
 * Codebook objects router `r` does not name and no node can still be reading: past the grace since the later of
 * their write, the named codebook's write (a superseded codebook stopped being current at a publish after that) and
 * the namespace's deletion (a deleted incarnation's codebook was current until then).
 */
async function unnamedCodebooks(store: ObjectStore, r: Router, now: number, grace: number): Promise<string[]> {
  const listed = (await store.list(vindexPrefix(r.namespace))).objects;
  const named = r.vindex ? codebookKey(r.namespace, r.vindex.codebook) : null;
  const namedAt = listed.find((o) => o.key === named)?.lastModified ?? 0;
  const deletedAt = r.deleted ? Date.parse(r.deleted.at) : 0;
  // An unparsable deleted.at never qualifies (NaN): keep rather than guess.
  return listed.filter((o) => o.key !== named && now - Math.max(o.lastModified, namedAt, deletedAt) >= grace).map((o) => o.key);
}
