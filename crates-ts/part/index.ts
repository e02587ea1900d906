/**
 * part: immutable index parts — the final state of a WAL range, encoded once and read by every query.
 *
 * Owns the files under `{ns}/parts/{part-id}/` (paths.ts): rows.parquet (rows sorted by id, typed attribute
 * columns), vectors.hnsw (hnswlib-node index, parts of ≥ flatThreshold vectors), tombstones.json, and
 * manifest.json, written last and carrying every file's size and SHA-256 (verified on load). Also: part ids,
 * decoding a part into a LoadedPart (id lookup, ANN / exact search with filters), and the two part caches
 * (files on disk, decoded parts in memory).
 *
 * Format 2 (RFC-0004): block files and a head (head.ts), read through the caches (PartData). Format 3 (RFC-0008
 * §2): format 2 with ivf.blk (cluster table) and codes.blk (RaBitQ codes per cluster) instead of vectors.hnsw, rows
 * ordered by (cluster, id) (build-v3.ts, cluster-table.ts).
 *
 * Does not: decide which WAL range or parts to build or merge (indexer/), publish parts in router.json (router/),
 * decide which rows are live across parts and the WAL tail (namespace/), full-text postings (not yet), or delete
 * parts (GC).
 */
export { buildPartFiles, uploadPart, DEFAULT_FLAT_THRESHOLD, DEFAULT_PART_FORMAT, type PartBuildInput, type BuiltPart } from './build.js';
export { readManifest, PART_FORMAT_VERSION, PART_FORMAT_V1, MAX_PART_FORMAT, type PartManifest, type PartManifestV1, type PartIndexInfo, type PartFileInfo, type HnswSpace } from './manifest.js';
export { loadPart } from './load.js';
export { LoadedPart, FILTERED_EXACT_MAX_ROWS, FILTERED_EXACT_MAX_FRACTION } from './loaded-part.js';
export type { OrdinalHit } from './top-k.js';
export { PartFileCache, STALE_TMP_MS, type FileCacheStats, type PartFileCacheOptions, type VerifyBytes } from './file-cache.js';
export { LoadedPartCache } from './loaded-part-cache.js';
export { newPartId, parsePartId, partFileKey, manifestKey, ROWS_FILE, HNSW_FILE, TOMBSTONES_FILE, MANIFEST_FILE, IVF_FILE, CODES_FILE } from './paths.js';
export { DEFAULT_M, DEFAULT_EF_CONSTRUCTION } from './hnsw.js';
export { partFileMissing, missingPartFile } from './missing.js';
export { lookupIds, lookupIdsV2 } from './id-index.js';
export { encodeDeletionVector, decodeDeletionVector, dvFileName, isDvFile, deadOrdinals, type DeletesRef } from './deletion-vector.js';
export { readDictIndex, type DictIndex, type FilterIndexInfo } from './filter-index.js';
export { buildSortedIndex, readSortedIndex, type SortedIndex } from './sorted-index.js';
export { PART_FORMAT_V2, PART_FORMAT_V3, isBlockHead, type PartHeadV2, type PartHeadV3, type IvfPartInfo } from './head.js';
export { packBuildInput, packRows, unpackBuildInput, type PackedBuildInput, type PackedRows } from './packed-input.js';
export { IVF_SEED, assignPartVectors, nearestInCodebook, assignFromNearest, type IvfBuildOptions, type IvfAssignment, type NearestCentroids } from './build-v3.js';
export { rerankBlockRows } from './build-v2.js';
export { encodeClusterTable, decodeClusterTable, clusterEntry, emptyClusterCodes, CLUSTER_TABLE_VERSION, type ClusterTable } from './cluster-table.js';
export { PartData, PartSegment, type PartDataOptions, type PreparedClusters } from './part-data.js';
export { blockOf, openBlockFile, BlockFileWriter, type BlockTable } from './block-file.js';
export { ColumnBlock } from './column-block.js';
export { blockCacheFor, fetchVerified, fetchVerifiedFile } from './load.js';
export { DEFAULT_CHUNK_BYTES, type LocalFile, type StreamCheck, type VerifyStream } from './file-stream.js';
