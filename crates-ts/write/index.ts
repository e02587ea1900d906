/**
 * write: turns validated write requests into WAL entries. Resolves patches, conditions and filter writes against
 * the namespace state, coalesces concurrent requests (group commit) and appends with CAS, acknowledging only
 * durable entries. It does not parse HTTP bodies (schema/) nor serve reads (query/).
 */
export { WriteCoordinator } from './coordinator.js';
export type { WriteOutcome, CoordinatorOptions } from './coordinator.js';
export { resolveWrite, NO_FILTER_MATCHES } from './resolve.js';
export type { Resolution, StateReader, FilterMatches } from './resolve.js';
export { DEFAULT_WRITE_LIMITS, resolveWriteLimits, type WriteLimits } from './limits.js';
