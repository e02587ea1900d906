/**
 * Which vector index a part the indexer builds gets (RFC-0008 §1, "Indexer opt-in" in its landed decisions):
 * IVF against the namespace codebook (part format 3; the default of every entry point: serve, indexer, compact,
 * reindex) or HNSW/flat (part format 2; `--vector-index hnsw`, and the library default when no option is given).
 *
 * The choice is the indexer's (`--vector-index ivf|hnsw`, ELAX_VECTOR_INDEX), not the namespace's: every part is
 * readable by every query node either way, and a store can move from one to the other (old parts stay as built).
 * With `ivf`, the first part with ≥ `minRows` vectors trains codebook version 1; smaller parts stay format 2 and
 * **flat** (exact scan, no HNSW graph) until then. Once the router names a codebook, every part with a vector is
 * format 3 against it (assignment is cheap, and one codebook is what lets a query rank centroids once for all parts).
 */
import type { Doc, Id } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import type { Router } from '../crates-ts/router/index.js';
import type { IvfBuildOptions } from '../crates-ts/part/index.js';
import { readCodebook } from '../crates-ts/vindex/index.js';
import { ClusterUsage } from './cluster-usage.js';
import { LivenessReader } from './liveness.js';

/** RFC-0008 §1: parts with fewer vectors than this do not train a codebook. */
export const DEFAULT_IVF_MIN_ROWS = 20_000;

export type VectorIndexKind = 'ivf' | 'hnsw';

export interface VectorIndexOptions {
  kind: VectorIndexKind;
  /** Vectors a part needs to train the first codebook (default DEFAULT_IVF_MIN_ROWS). */
  minRows?: number;
  /** Passed to the builder (cluster sizes; defaults are ivf's 1,000 target, 500..2,000). */
  targetSize?: number;
  minSize?: number;
  maxSize?: number;
}

/**
 * The builder's `vectorIndex` for a part of `changes` under `router`, or undefined for a format-2 part. Reads the
 * router's codebook (the one the part will be published against: a publish whose router then names another one is
 * abandoned, see Indexer).
 */
export async function ivfBuildFor(store: ObjectStore, ns: string, router: Router, changes: Map<Id, Doc | null>, opts: VectorIndexOptions | undefined): Promise<IvfBuildOptions | undefined> {
  if (opts?.kind !== 'ivf') return undefined;
  let vectors = 0;
  for (const d of changes.values()) if (d?.vector) vectors++;
  if (vectors === 0) return undefined; // nothing to cluster (deletes, or no vector column): stays format 2
  const sizes = { targetSize: opts.targetSize, minSize: opts.minSize, maxSize: opts.maxSize };
  if (router.vindex) {
    // The namespace's clusters across parts: one that is full there is split in this part (ExtendOptions.others).
    const codebook = await readCodebook(store, ns, router.vindex);
    const others = await new ClusterUsage(new LivenessReader(store, ns)).rowsPerCentroid(router, codebook.k);
    return { kind: 'ivf', codebook, ...sizes, others };
  }
  if (vectors < (opts.minRows ?? DEFAULT_IVF_MIN_ROWS)) return undefined;
  return { kind: 'ivf', codebook: null, ...sizes };
}

/**
 * HNSW parameters for a format-2 part: under `ivf` such a part is one too small to train a codebook, and stays flat
 * (RFC-0008 "Choice of index": small parts are scanned exactly, no graph is built); under `hnsw`, as given.
 */
export function formatTwoHnsw<H extends { flatThreshold?: number }>(opts: VectorIndexOptions | undefined, hnsw: H | undefined): H | { flatThreshold: number } | undefined {
  return opts?.kind === 'ivf' ? { ...hnsw, flatThreshold: Infinity } : hnsw;
}
