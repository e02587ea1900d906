/**
 * Namespace sharding (docs/rfcs/0013-sharding.md): which shard a document belongs to. A sharded namespace keeps one
 * shared WAL; the indexer splits each indexed WAL range into one part per shard, by `shardOf(id, num_shards)`.
 *
 * The function is part of the on-disk format (parts of shard s hold exactly the ids with shardOf(id) = s, and readers
 * skip other shards' parts when looking an id up), so it must never change:
 *
 *   key      = the id's WAL text (JSON): a number as its decimal digits (`17`), a string (UUIDs lowercase) as a JSON
 *              string literal (`"a-b"`), so the number 17 and the string "17" differ
 *   h        = FNV-1a, 32-bit (offset basis 0x811c9dc5, prime 0x01000193), over the UTF-8 bytes of key
 *   h        = murmur3's fmix32(h) (spreads FNV's weak low bits before the modulo)
 *   shard    = h mod num_shards   (h unsigned)
 *
 * Fixed vectors in shard.test.ts pin it.
 */
import type { Id } from './types.js';
import { ElaxError } from './errors.js';

/** `sharding` of a namespace (turbopuffer's ShardingConfig). */
export interface ShardingConfig {
  num_shards: number;
}

/** The allowed range of num_shards. 1 is allowed (one shard: the same layout as unsharded, parts carry shard 0). */
export const MIN_SHARDS = 1;
export const MAX_SHARDS = 256;

/** The 32-bit hash of an id (see the module comment). */
export function idHash(id: Id): number {
  const key = JSON.stringify(id);
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    // UTF-8 of one code point (a surrogate pair is one 4-byte point; a lone surrogate encodes as U+FFFD, as TextEncoder)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < key.length) {
      const d = key.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    const bytes = c < 0x800 ? [0xc0 | (c >> 6), 0x80 | (c & 63)] : c < 0x10000 ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)] : [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  }
  // murmur3 fmix32
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The shard of `id` in a namespace of `numShards` shards. */
export function shardOf(id: Id, numShards: number): number {
  return numShards <= 1 ? 0 : idHash(id) % numShards;
}

/** Whether `x` is a valid num_shards. */
export function isNumShards(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= MIN_SHARDS && x <= MAX_SHARDS;
}

/** Parses a write request's `sharding` (400 ELAX_ERR_INVALID_REQUEST naming what is wrong). */
export function parseSharding(v: unknown): ShardingConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `sharding must be an object {num_shards}, got ${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v}`);
  for (const k of Object.keys(v)) if (k !== 'num_shards') throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `sharding: unknown key '${k}'; valid keys: num_shards`);
  const n = (v as { num_shards?: unknown }).num_shards;
  if (n === undefined || n === null) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', 'sharding.num_shards is required');
  if (!isNumShards(n)) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `sharding.num_shards must be an integer from ${MIN_SHARDS} to ${MAX_SHARDS}, got ${JSON.stringify(n)}`);
  return { num_shards: n };
}
