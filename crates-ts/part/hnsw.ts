/**
 * vectors.hnsw: an hnswlib-node HierarchicalNSW index over a part's vectors, label = row ordinal in rows.parquet.
 *
 * Spaces (hnswlib-node 3.0.0, verified by hnsw.test.ts): 'cosine' normalises every vector on insert and query and
 * returns 1 - <a, b> (= 1 - cos_sim; a zero vector stays zero, so its distance is 1, as in elax); 'l2' returns the
 * SQUARED euclidean distance. Both therefore order exactly like elax's distance(); callers still recompute the final
 * distances from the stored vectors, because hnswlib's are float32.
 *
 * hnswlib-node serialises only to and from file paths: parts load from a verified local file (the disk cache's, or a
 * private temporary one: load.ts `loadGraph`), and bytes in memory go through a private temporary directory.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';
import type { DistanceMetric } from '../core/index.js';
import type { HnswSpace } from './manifest.js';

export type HnswIndex = InstanceType<typeof hnswlib.HierarchicalNSW>;

export const DEFAULT_M = 16;
export const DEFAULT_EF_CONSTRUCTION = 200;
/** Fixed level-generator seed: the same rows always give a byte-identical index (and manifest checksum). */
export const HNSW_SEED = 100;

export function spaceFor(metric: DistanceMetric): HnswSpace {
  return metric === 'euclidean_squared' ? 'l2' : 'cosine';
}

export interface HnswBuildParams {
  space: HnswSpace;
  dims: number;
  M: number;
  efConstruction: number;
}

/**
 * Build an index over `ordinals` (rows that have a vector; row r's vector at vectors[r*dims..]) and serialise it.
 * Synchronous and CPU-heavy: run it in a worker thread.
 */
export function buildHnsw(p: HnswBuildParams, vectors: Float32Array, ordinals: readonly number[]): Uint8Array {
  const index = new hnswlib.HierarchicalNSW(p.space, p.dims);
  index.initIndex({ maxElements: Math.max(1, ordinals.length), m: p.M, efConstruction: p.efConstruction, randomSeed: HNSW_SEED });
  const point = new Array<number>(p.dims);
  for (const o of ordinals) {
    const base = o * p.dims;
    for (let j = 0; j < p.dims; j++) point[j] = vectors[base + j]!;
    index.addPoint(point, o);
  }
  const dir = mkdtempSync(join(tmpdir(), 'elax-hnsw-'));
  try {
    const file = join(dir, 'index.hnsw');
    index.writeIndexSync(file);
    const buf = readFileSync(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Load a serialised index from a file (hnswlib reads it itself: the bytes never pass through the JS heap). */
export async function loadHnswFile(space: HnswSpace, dims: number, path: string): Promise<HnswIndex> {
  const index = new hnswlib.HierarchicalNSW(space, dims);
  await index.readIndex(path);
  return index;
}

/**
 * Load a serialised index held in memory (tests, tools). Parts load theirs with `loadHnswFile` from a verified local
 * file instead: bytes in memory plus hnswlib's own copy would double the peak.
 */
export async function loadHnsw(space: HnswSpace, dims: number, bytes: Uint8Array): Promise<HnswIndex> {
  const dir = await mkdtemp(join(tmpdir(), 'elax-hnsw-'));
  try {
    const file = join(dir, 'index.hnsw');
    await writeFile(file, bytes);
    return await loadHnswFile(space, dims, file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
