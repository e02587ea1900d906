/**
 * cache: the node's memory budget (RFC-0004 §8). One byte-budgeted LRU of immutable decoded values (heads, index
 * and column blocks, deletion vectors) shared by everything that reads parts. Does not: fetch (callers pass the
 * load), know object formats, or persist (the disk cache is part/file-cache.ts).
 */
export { BlockCache, DEFAULT_PINNED_SHARE, namespaceOfKey, type BlockCacheOptions, type HeldStatus } from './block-cache.js';
export { Limiter } from './limiter.js';
