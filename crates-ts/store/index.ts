/**
 * store: one object-store interface (get, head, put, put-if-absent, put-if-match, list, delete) with memory,
 * local-directory and S3 backends that give identical conditional-write guarantees. Owns key construction
 * (paths.ts) and the startup probe that refuses stores ignoring conditional writes. Knows nothing about WAL
 * entries or routers.
 */
export * from './types.js';
export * from './paths.js';
export { MemoryStore } from './memory.js';
export { LocalDirStore } from './local.js';
export { openStore } from './open.js';
export { S3Store, isLostRace, unquoteEtag } from './s3.js';
export type { S3StoreOptions } from './s3.js';
export { probeConditionalWrites, checkReachable } from './probe.js';
