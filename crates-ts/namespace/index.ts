/**
 * namespace: what does namespace N contain right now? Folds router state and WAL entries into a view (live
 * documents, schema, metric, tail statistics) and caches views per process with strong/eventual refresh.
 * It reads through router/ and wal/; it never writes.
 */
export { NamespaceView } from './view.js';
export type { TailEntryInfo, FilterScan, ScanPosition } from './view.js';
export { NamespaceCatalog } from './catalog.js';
export type { Consistency, CatalogOptions } from './catalog.js';
export { ivfSearch, probeOrder, type IvfPart, type IvfQuery, type IvfAnswer } from './ivf-query.js';
export { CachedViewPart } from './view-part.js';
