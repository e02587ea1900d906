/**
 * The tasks the pool runs, by kind: plain functions of structured-clonable input, the same code on a worker thread
 * and inline (pool size 0, or a worker that died). A task reports a user or data error by throwing an ElaxError;
 * worker.ts carries its code and message back so the caller sees the error the inline path would throw.
 */
import { encodeWalColumns, decodeWalEntry, type WalColumns, type WalEntry } from '../wal/index.js';
import { parseJsonBytesPacked } from '../schema/json-body.js';
import type { BuiltPart, NearestCentroids, PackedBuildInput } from '../part/index.js';
import { scanVectors, type VectorScanInput, type VectorScanOutput } from '../query/pool-scan.js';
import type { WasmMemory } from '../core/index.js';
import { scoreBm25Part, type Bm25PartInput, type Bm25PartOutput } from '../fts/part-task.js';

export interface TaskTypes {
  /**
   * WAL batch encoding (Arrow + Parquet in WebAssembly) of columns the caller gathered (wal/format.ts walColumns):
   * the ids and the attributes as one JSON array (string) each and the kinds' bytes cross by clone, the vectors in a
   * shared buffer.
   */
  'wal-encode': { input: WalColumns; output: Uint8Array };
  /** WAL entry decoding (Parquet → ops) when a view loads its tail. */
  'wal-decode': { input: { seq: number; bytes: Uint8Array }; output: WalEntry };
  /**
   * A request body's JSON (schema/json-body.ts): parsed off the event loop, write vectors packed into one
   * buffer so that the value crosses back cheaply: `into`, a shared buffer the caller lent (core/reused-buffers.ts
   * settleLent), when it is large enough, else a new one, moved back. The bytes are shared with the thread.
   */
  'json-parse': { input: { bytes: Uint8Array; length: number; into?: SharedArrayBuffer }; output: unknown };
  /**
   * The exact vector scan of the WAL tail (query/pool-scan.ts): the tail's shared arenas cross as memories (nothing
   * copied), its liveness as a copy; the k nearest rows (and ties) come back. Cooperative cancellation through the
   * input's `cancel` flag (RunOptions.cancel).
   */
  'vector-scan': { input: VectorScanInput; output: VectorScanOutput };
  /**
   * BM25 over one part's postings (fts/part-task.ts): the row lengths and the query's lists cross as shared memory
   * (nothing copied), the skip mask (dead and filtered rows) as a copy; the top k (and ties) come back. Cooperative
   * cancellation through `cancel`, as vector-scan.
   */
  'bm25-part': { input: Bm25PartInput; output: Bm25PartOutput };
  /**
   * A part's files and head (part/build.ts buildPartFiles), for the indexer's build pool: the shards of a pass build
   * in parallel (RFC-0013 "Parallel shard builds"). The input crosses packed (part/packed-input.ts: columns of
   * primitives, vectors in shared memory); the files' bytes come back transferred.
   */
  'part-build': { input: PackedBuildInput; output: BuiltPart };
  /**
   * A format-3 input's vectors in index space and their nearest centroids in its codebook (part/build-v3.ts
   * nearestInCodebook): the shard-independent half of the IVF assignment, for the indexer's build pool. Input packed
   * as for `part-build`; the two arrays come back transferred.
   */
  'ivf-nearest': { input: PackedBuildInput; output: NearestCentroids };
}
export type TaskKind = keyof TaskTypes;
export type TaskInput<K extends TaskKind> = TaskTypes[K]['input'];
export type TaskOutput<K extends TaskKind> = TaskTypes[K]['output'];

export const TASKS: { [K in TaskKind]: (input: TaskInput<K>) => TaskOutput<K> | Promise<TaskOutput<K>> } = {
  'wal-encode': (columns) => encodeWalColumns(columns),
  'wal-decode': ({ seq, bytes }) => decodeWalEntry(seq, bytes),
  'json-parse': ({ bytes, length, into }) => parseJsonBytesPacked(bytes, length, undefined, into),
  'vector-scan': (input) => scanVectors(input),
  'bm25-part': (input) => scoreBm25Part(input),
  // Loaded on first use: the server's pool threads never build parts (the indexer's build pool preloads it).
  'part-build': async (input) => {
    const { buildPartFiles, unpackBuildInput } = await import('../part/index.js');
    return buildPartFiles(unpackBuildInput(input));
  },
  'ivf-nearest': async (input) => {
    const { nearestInCodebook, unpackBuildInput } = await import('../part/index.js');
    return nearestInCodebook(unpackBuildInput(input));
  },
};

export const TASK_KINDS = Object.keys(TASKS) as TaskKind[];
