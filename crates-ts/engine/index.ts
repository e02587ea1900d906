/**
 * engine: the operations of the API over one object store — write, query, multi-query, namespace listing,
 * metadata, schema, delete, cache warm, recall. The HTTP server and the CLI both call it. It composes namespace/,
 * write/, query/ and schema/; it does not speak HTTP.
 */
export { Engine, POOL_SCANS_MIN_THREADS } from './engine.js';
export type { EngineOptions, QueryPerformance } from './engine.js';
export { validateNamespaceName, listNamespaces, deleteNamespace, NAMESPACE_NAME } from './namespaces.js';
export { evaluateRecall, MAX_RECALL_PROBES } from './recall.js';
export type { RecallRequest, RecallProbes, RecallResponse } from './recall.js';
export { nprobeFor, probeDepth } from './ivf-probes.js';
export { sweepProbes, probeDepths, recordProbesMin, checkRecallTarget, EPS0_STEPS, meets } from './recall-tuning.js';
export type { RecallReport, SweepRow, SweepResult, RecordOutcome } from './recall-tuning.js';
export type { ProbeDepth, ProbesSource } from './ivf-probes.js';
