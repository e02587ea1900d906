/**
 * store: one object-store interface (get, head, put, put-if-absent, put-if-match, list, delete) with memory,
 * local-directory and S3 backends that give identical conditional-write guarantees, proven by one conformance
 * suite (conformance.ts) that all three run, racing writers and processes included.
 *
 * Owns: object key construction (paths.ts: router.json, wal/{seq:020d}.parquet, parts/{id}/, vindex/codebook-{version}-{nonce}.cb, _elax/probe/), key
 * validity and LIST order (keys.ts: UTF-8 byte order, like S3), opening a store from a URI (open.ts), and the
 * startup probe that refuses stores ignoring conditional writes (probe.ts).
 *
 * Does not: know what WAL entries or routers mean (router/ and wal/ give CAS results their meaning), retry lost
 * races (callers re-read and decide), or cache objects.
 */
export * from './types.js';
export * from './paths.js';
export { compareKeys, validateKey } from './keys.js';
export { MemoryStore, type MemoryStoreOptions } from './memory.js';
export { LocalDirStore, type LocalDirStoreOptions } from './local.js';
// S3Store (./s3.js) is imported from there, or opened by openStore: importing it loads the AWS SDK (RFC-0010 "Startup").
export type { S3StoreOptions } from './s3.js';
export { openStore, type OpenStoreOptions } from './open.js';
export { probeConditionalWrites, checkReachable, waitForConditionalWrites, ProbeFailure, type WaitForStoreOptions } from './probe.js';
export { FaultyStore, type FaultPlan, type StoreOp } from './faulty.js';
export { CountingStore, type CountedOp } from './counting.js';
export { TracingStore, type StoreTraceEvent } from './tracing.js';
