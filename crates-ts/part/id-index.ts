/**
 * Point lookups of ids in a part (RFC-0004 §4): id → row ordinal, reading only what the lookup needs. A v2 part is
 * searched through its head (id range, first key of every id-index block) and the id-index blocks that can hold the
 * ids, each fetched by one ranged GET, verified by its CRC-32 and kept in the BlockCache. A v1 part has no id index:
 * its rows are loaded whole (rows.parquet is id-sorted) — the legacy path until compaction or reindex rewrites it.
 */
import { ElaxError, compareIds, type Id } from '../core/index.js';
import type { ObjectStore } from '../store/index.js';
import type { BlockCache } from '../cache/index.js';
import { blockRef, checkBlock } from './block-file.js';
import { decodeIdIndexBlock } from './decode-v2.js';
import { isBlockHead, type PartHeadV2 } from './head.js';
import type { LoadedPart } from './loaded-part.js';
import type { PartManifest } from './manifest.js';
import { partFileMissing } from './missing.js';
import { partFileKey } from './paths.js';

/** Index of the block whose first key is the greatest ≤ id, or -1 if id sorts before every block. */
function blockFor(firstKeys: readonly (Id | string)[], id: Id): number {
  let lo = 0;
  let hi = firstKeys.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (compareIds(firstKeys[mid] as Id, id) <= 0) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

function inRange(head: PartHeadV2, id: Id): boolean {
  const r = head.id_range;
  return r !== null && compareIds(id, r[0]) >= 0 && compareIds(id, r[1]) <= 0;
}

/** Keys and ordinals of one id-index block. */
interface IdBlock {
  keys: Id[];
  ordinals: Uint32Array;
}

async function idBlock(store: ObjectStore, head: PartHeadV2, b: number, cache: BlockCache | undefined): Promise<IdBlock> {
  const key = partFileKey(head.namespace, head.part_id, head.idx.file);
  const load = async () => {
    const ref = blockRef(head.idx.blocks, b);
    const got = await store.get(key, { start: ref.offset, end: ref.offset + ref.length });
    if (!got) throw partFileMissing(key, store.description);
    const { keys, ordinals } = decodeIdIndexBlock(checkBlock(got.bytes, ref, `${key} block ${b}`), `${key} block ${b}`);
    return { value: { keys: keys as Id[], ordinals }, bytes: ordinals.byteLength * 4 + 64 };
  };
  return cache ? cache.getOrLoad(`${key}#${b}`, load) : (await load()).value;
}

function search(block: IdBlock, id: Id): number {
  let lo = 0;
  let hi = block.keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareIds(block.keys[mid]!, id);
    if (c === 0) return block.ordinals[mid]!;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** The ordinals of those `ids` the v2 part holds (one GET per id-index block touched, fetched in parallel). */
export async function lookupIdsV2(store: ObjectStore, head: PartHeadV2, ids: readonly Id[], cache?: BlockCache): Promise<Map<Id, number>> {
  const byBlock = new Map<number, Id[]>();
  // Index loops, not for-of: this async function often runs unoptimised (once per fold and part), where each step of
  // an iterator allocates its result object.
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!inRange(head, id)) continue;
    const b = blockFor(head.idx.first_keys, id);
    if (b < 0) continue;
    const list = byBlock.get(b);
    if (list) list.push(id);
    else byBlock.set(b, [id]);
  }
  const out = new Map<Id, number>();
  await Promise.all(
    [...byBlock].map(async ([b, list]) => {
      const block = await idBlock(store, head, b, cache);
      for (let i = 0; i < list.length; i++) {
        const id = list[i]!;
        const o = search(block, id);
        if (o >= 0) {
          if (o >= head.rows) throw new ElaxError('ELAX_ERR_CORRUPT', `${head.namespace}/${head.part_id}: id index maps ${JSON.stringify(id)} to row ${o} of ${head.rows}`);
          out.set(id, o);
        }
      }
    }),
  );
  return out;
}

/** Lookups for any part: v2 by its id index, v1 through its rows loaded whole (`loadV1`). */
export async function lookupIds(
  store: ObjectStore,
  manifest: PartManifest,
  ids: readonly Id[],
  opts: { cache?: BlockCache; loadV1: () => Promise<LoadedPart> },
): Promise<Map<Id, number>> {
  if (isBlockHead(manifest)) return lookupIdsV2(store, manifest, ids, opts.cache);
  const part = await opts.loadV1();
  const out = new Map<Id, number>();
  for (const id of ids) {
    const o = part.getOrdinal(id);
    if (o >= 0) out.set(id, o);
  }
  return out;
}
