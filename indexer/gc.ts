/**
 * Garbage collection (design.md §5): deletes WAL entries already covered by parts once older than the retention
 * window, and part folders no router references once older than the grace period. The grace period must exceed
 * the longest time a query can hold an old router (eventual reads cache for up to 60 s), so a query never finds a
 * part deleted under it. `dryRun` lists what would go.
 */
import type { Clock } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { walKey, parseWalKey, walPrefix } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';

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
  deleted: boolean;
}

export async function gcNamespace(store: ObjectStore, ns: string, opts: GcOptions): Promise<GcReport> {
  const now = opts.clock.now();
  const walRetention = opts.walRetentionMs ?? 3_600_000;
  const partGrace = opts.partGraceMs ?? 900_000;
  const read = await new RouterStore(store).read(ns);
  const report: GcReport = { ns, wal_entries: [], parts: [], deleted: false };
  if (!read) return report;
  const r = read.router;
  // WAL: covered by parts (or below a deleted incarnation's highwater) and past retention.
  const coveredUpTo = Math.max(r.indexed_wal, r.wal_start - 1);
  const wal = await store.list(walPrefix(ns));
  for (const o of wal.objects) {
    const seq = parseWalKey(o.key);
    if (seq === null || seq > coveredUpTo) continue;
    if (seq >= r.wal_start && now - o.lastModified < walRetention) continue;
    report.wal_entries.push(seq);
  }
  // Parts: folders not referenced by the router whose newest file is past the grace period.
  const referenced = new Set(r.parts.map((p) => p.id));
  const partsPrefix = `${ns}/parts/`;
  const listed = await store.list(partsPrefix);
  const newest = new Map<string, number>();
  const keysOf = new Map<string, string[]>();
  for (const o of listed.objects) {
    const id = o.key.slice(partsPrefix.length).split('/')[0]!;
    newest.set(id, Math.max(newest.get(id) ?? 0, o.lastModified));
    keysOf.set(id, [...(keysOf.get(id) ?? []), o.key]);
  }
  for (const [id, t] of newest) if (!referenced.has(id) && now - t >= partGrace) report.parts.push(id);
  if (!opts.dryRun) {
    for (const seq of report.wal_entries) await store.delete(walKey(ns, seq));
    // Manifest first: a part without manifest is incomplete, so a half-deleted part is never read.
    for (const id of report.parts) {
      const keys = keysOf.get(id)!;
      const manifest = keys.filter((k) => k.endsWith('/manifest.json'));
      for (const k of manifest) await store.delete(k);
      await Promise.all(keys.filter((k) => !k.endsWith('/manifest.json')).map((k) => store.delete(k)));
    }
    report.deleted = true;
  }
  return report;
}
