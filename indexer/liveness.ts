/**
 * Stored liveness for publishers (RFC-0004 §3): which rows of a router's parts die when a newer part is published,
 * the one-time upgrade of a v1 router (liveness by folding parts) to v2 (liveness in deletion vectors), writing DV
 * objects, and translating deaths into merged parts (compaction, reindex) after a lost race.
 *
 * Invariant L: among a router's parts each id has at most one live row, in the newest part holding that id; an id
 * deleted at or below indexed_wal has no live row. Every function here keeps it.
 */
import { ElaxError, shardOf, type Id } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { BlockCache } from '../crates-ts/cache/index.js';
import type { PartRef, Router } from '../crates-ts/router/index.js';
import {
  decodeDeletionVector, dvFileName, encodeDeletionVector, loadPart, lookupIds, partFileKey, partFileMissing, readManifest,
  type DeletesRef, type LoadedPart, type PartManifest,
} from '../crates-ts/part/index.js';

/** Router format whose part liveness is in deletion vectors. */
export const LIVENESS_ROUTER_FORMAT = 2;

/** Reads a publisher needs, cached for the life of one publisher (heads and DVs are immutable). */
export class LivenessReader {
  private readonly heads = new Map<string, Promise<PartManifest>>();
  private readonly v1 = new Map<string, Promise<LoadedPart>>();
  readonly cache: BlockCache;

  constructor(
    readonly store: ObjectStore,
    readonly ns: string,
    cacheBytes = 64 * 1024 * 1024,
  ) {
    this.cache = new BlockCache(cacheBytes);
  }

  /** Where a part's manifest and data files live: its `home` when borrowed (RFC-0011), else this namespace. */
  homeOf(ref: { home?: string }): string {
    return ref.home ?? this.ns;
  }

  head(ref: { id: string; home?: string }): Promise<PartManifest> {
    const partId = ref.id;
    const home = this.homeOf(ref);
    let p = this.heads.get(partId);
    if (!p) {
      p = readManifest(this.store, home, partId).then((m) => {
        if (!m) throw partFileMissing(partFileKey(home, partId, 'manifest.json'), this.store.description);
        return m;
      });
      p.catch(() => this.heads.delete(partId));
      this.heads.set(partId, p);
    }
    return p;
  }

  /** A part's rows, loaded whole: v1 parts have no id index, and the v1 fold (currentMasks) reads every row once. */
  rows(ref: { id: string; home?: string }): Promise<LoadedPart> {
    const partId = ref.id;
    let p = this.v1.get(partId);
    if (!p) {
      p = loadPart(this.store, this.homeOf(ref), partId, undefined, { lazy: true });
      p.catch(() => this.v1.delete(partId));
      this.v1.set(partId, p);
    }
    return p;
  }

  /** The dead mask of a part under a v2 router (null: no dead rows). */
  async mask(ref: PartRef): Promise<Uint8Array | null> {
    if (!ref.deletes) return null;
    const key = partFileKey(this.ns, ref.id, ref.deletes.file);
    return this.cache.getOrLoad(key, async () => {
      const got = await this.store.get(key);
      if (!got) throw partFileMissing(key, this.store.description);
      const { mask, count } = decodeDeletionVector(got.bytes, ref.rows, key);
      if (count !== ref.deletes!.count) throw new ElaxError('ELAX_ERR_CORRUPT', `${key} holds ${count} dead rows; the router says ${ref.deletes!.count}`);
      return { value: mask, bytes: mask.byteLength };
    });
  }

  /** Ordinals of `ids` in a part (any format). */
  lookup(ref: PartRef, ids: readonly Id[]): Promise<Map<Id, number>> {
    return this.head(ref).then((m) => lookupIds(this.store, m, ids, { cache: this.cache, loadV1: () => this.rows(ref) }));
  }
}

/** Dead masks of every part of `router` as its liveness rule says: DVs (v2), or the v1 fold (newest wins, tombstones delete). */
export async function currentMasks(r: LivenessReader, router: Router): Promise<(Uint8Array | null)[]> {
  if (router.format_version >= LIVENESS_ROUTER_FORMAT) return Promise.all(router.parts.map((p) => r.mask(p)));
  // The v1 fold, newest part first: a row is dead if a newer part holds its id (as a row or a tombstone). Paid once
  // per namespace, by the publisher that upgrades the router.
  const masks: (Uint8Array | null)[] = new Array(router.parts.length).fill(null);
  const newer = new Set<Id>();
  for (let i = router.parts.length - 1; i >= 0; i--) {
    const part = await r.rows(router.parts[i]!);
    let mask: Uint8Array | null = null;
    part.docs.forEach((d, o) => {
      if (newer.has(d.id)) (mask ??= new Uint8Array(part.docs.length))[o] = 1;
    });
    masks[i] = mask;
    for (const d of part.docs) newer.add(d.id);
    for (const id of part.tombstones) newer.add(id);
  }
  return masks;
}

/**
 * New dead ordinals per part (index into router.parts) when `ids` get newer versions: for each id, the newest part
 * holding it, if that row is still live (older rows of it are already dead by Invariant L).
 */
export async function deathsFor(r: LivenessReader, router: Router, masks: readonly (Uint8Array | null)[], ids: readonly Id[]): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  let remaining: Id[] = [...ids];
  // Sharded (RFC-0013): an id only ever lives in its shard's parts; the other shards' parts are not asked.
  const n = router.sharding?.num_shards;
  const shardOfId = n === undefined ? null : new Map(remaining.map((id) => [id, shardOf(id, n)]));
  for (let i = router.parts.length - 1; i >= 0 && remaining.length > 0; i--) {
    const shard = router.parts[i]!.shard;
    const asked = shardOfId === null || shard === undefined ? remaining : remaining.filter((id) => shardOfId.get(id) === shard);
    if (asked.length === 0) continue;
    const found = await r.lookup(router.parts[i]!, asked);
    if (found.size === 0) continue;
    const mask = masks[i];
    for (const [, o] of found) {
      if (mask && mask[o] === 1) continue;
      const list = out.get(i);
      if (list) list.push(o);
      else out.set(i, [o]);
    }
    remaining = remaining.filter((id) => !found.has(id));
  }
  return out;
}

/**
 * Writes the new DV objects for parts whose dead set grows (their current mask ∪ new deaths) and returns
 * router.parts with the new `deletes` refs. Objects are created with put-if-absent under names unique to this
 * attempt (`epoch`, `nonce`), so racing publishers never overwrite each other's; a lost CAS leaves them as orphans.
 */
export async function withDeletions(
  r: LivenessReader,
  parts: readonly PartRef[],
  masks: readonly (Uint8Array | null)[],
  deaths: ReadonlyMap<number, readonly number[]>,
  epoch: number,
  nonce: string,
): Promise<PartRef[]> {
  const out = [...parts];
  await Promise.all(
    [...deaths].map(async ([i, add]) => {
      const ref = parts[i]!;
      const dead: number[] = [];
      const mask = masks[i];
      if (mask) for (let o = 0; o < mask.length; o++) if (mask[o] === 1) dead.push(o);
      dead.push(...add);
      const bytes = encodeDeletionVector(dead, ref.rows);
      const file = dvFileName(epoch, nonce);
      const put = await r.store.putIfAbsent(partFileKey(r.ns, ref.id, file), bytes);
      if (!put.ok) throw new ElaxError('ELAX_ERR_CAS_CONFLICT', `deletion vector ${file} of part ${ref.id} already exists`);
      const deletes: DeletesRef = { file, count: new Set(dead).size, bytes: bytes.byteLength };
      out[i] = { ...ref, deletes };
    }),
  );
  return out;
}

/** Masks from upgrading a v1 router, as deaths (so withDeletions writes them). */
export function maskDeaths(masks: readonly (Uint8Array | null)[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  masks.forEach((m, i) => {
    if (!m) return;
    const list: number[] = [];
    for (let o = 0; o < m.length; o++) if (m[o] === 1) list.push(o);
    if (list.length > 0) out.set(i, list);
  });
  return out;
}

/**
 * The parts of `router` with stored liveness after publishing a part whose WAL range touched `ids` (upserted or
 * deleted): for a v1 router, first the fold of its parts into DVs (the upgrade); then the deaths `ids` cause.
 */
export async function partsAfterPublish(r: LivenessReader, router: Router, ids: readonly Id[], epoch: number, nonce: string): Promise<PartRef[]> {
  const masks = await currentMasks(r, router);
  const deaths = router.format_version >= LIVENESS_ROUTER_FORMAT ? new Map<number, number[]>() : maskDeaths(masks);
  for (const [i, add] of await deathsFor(r, router, masks, ids)) {
    const list = deaths.get(i);
    if (list) list.push(...add);
    else deaths.set(i, [...add]);
  }
  if (deaths.size === 0) return [...router.parts];
  // Under a v1 router the parts had no DVs: the masks above are the whole dead sets, written from scratch.
  const base = router.format_version >= LIVENESS_ROUTER_FORMAT ? masks : router.parts.map(() => null);
  return withDeletions(r, router.parts, base, deaths, epoch, nonce);
}
