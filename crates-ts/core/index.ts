/**
 * core: the vocabulary every other module shares — document and schema types, the error catalogue,
 * and injected determinism (Clock), and the WebAssembly loader the SIMD kernels share. It owns no object keys and does no I/O.
 */
export * from './types.js';
export * from './errors.js';
export * from './ids.js';
export * from './shard.js';
export * from './wasm.js';
export * from './cancel.js';
export { TopKTies } from './top-k-ties.js';
export { niceThisProcess, niceThisThread, idleThisProcess, threadPolicies, threadNices, SCHED_IDLE } from './thread-priority.js';
export { ReusedBuffers, reusedBuffers, MIN_REUSED_BYTES } from './reused-buffers.js';
export { KthSmallest } from './kth-smallest.js';
export { docLogicalBytes, attrValueBytes } from './logical-bytes.js';
export { bundledEntry, BUNDLE_DIR_ENV, type BundledEntry } from './entry-points.js';
