/**
 * indexer: builds parts from WAL ranges and publishes them by CAS on router.json; runs as `elax indexer` or
 * embedded in `elax serve` (worker thread). See docs/rfcs/0003-indexer-publish.md.
 */
export { Indexer, isRetryable } from './indexer.js';
export type { IndexerOptions, IndexOutcome } from './indexer.js';
export { IndexerLoop, makeIndexer } from './loop.js';
export { lazyBuildPool, defaultBuildThreads } from './build-pool.js';
export { startEmbeddedIndexer } from './embedded.js';
export type { EmbeddedIndexer } from './embedded.js';
export { reindexNamespace, planReindex } from './reindex.js';
export type { ReindexOptions, ReindexOutcome, ReindexPlan, ReindexRecord } from './reindex.js';
export { FailureTracker, IndexAttemptError, DEFAULT_FAILURE_POLICY, backoffMs, failedEntriesOf, hasStaleFailures } from './failures.js';
export type { FailedEntry, FailurePolicy, FailureStage } from './failures.js';
