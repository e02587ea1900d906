/**
 * The piscina handler of a pool thread (loaded through worker-entry.mjs). Errors cross the thread boundary as an
 * envelope, not as thrown values: structured clone keeps an Error's message but drops ElaxError's code, status and
 * retryAfter, and the caller must see the same error inline and pooled.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { BuiltPart, NearestCentroids } from '../part/index.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isElaxError } from '../core/index.js';
import { TASKS, type TaskKind } from './tasks.js';
import { sharedFootprint, type VectorScanInput } from '../query/pool-scan.js';
import { bm25SharedBytes, type Bm25PartInput } from '../fts/part-task.js';
import { packedBufferOf } from '../schema/json-body.js';

export interface TaskError {
  __poolError: { code?: string; message: string; retryAfter?: number; name: string };
}

/** The no-op the pool runs once at start to learn that a thread has loaded (pool.ts, cold start). */
export const WARM_UP = 'warm-up';

/**
 * A task's input that refers to shared memory (vector-scan: the tail's arenas, a part's vectors) keeps that memory
 * alive from this thread until this thread collects the input, even after the memory's owner dropped it; a thread
 * that allocates little may not collect for a long time (in a test, 150 dropped 8 MiB arenas stayed resident until
 * the pool closed). So after new shared memory of GC_AFTER_SHARED_BYTES went through this thread, it runs a full
 * collection (≈ 8 ms here: too dear for every query). What stays alive is bounded by that plus one task's input.
 * `gc` is taken from a fresh context after exposing it (the flag is process-wide; nothing else calls it).
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
export const GC_AFTER_SHARED_BYTES = 256 * 1024 * 1024;
const seenArenas = new Set<number>();
let sharedSinceGc = 0;

function accountShared(input: VectorScanInput): void {
  const { arenas, flatBytes } = sharedFootprint(input);
  sharedSinceGc += flatBytes;
  for (const [id, bytes] of arenas) {
    if (id !== 0 && seenArenas.has(id)) continue; // 0: not an arena of ours (no id): counted every time
    seenArenas.add(id);
    sharedSinceGc += bytes;
  }
  collectIfDue();
}

function collectIfDue(): void {
  if (sharedSinceGc < GC_AFTER_SHARED_BYTES) return;
  collectGarbage(); // the inputs of earlier tasks (this one's is still referenced)
  seenArenas.clear();
  sharedSinceGc = 0;
}

/** A view of a whole, ordinary ArrayBuffer (not shared, not a slice of a pool or of WebAssembly memory): movable. */
function ownsBuffer(b: ArrayBufferView): boolean {
  return b.buffer instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
}

export default async function handle({ kind, input }: { kind: TaskKind | typeof WARM_UP; input: never }): Promise<unknown> {
  if (kind === WARM_UP) return null;
  let out: unknown;
  try {
    out = await (TASKS[kind] as (i: unknown) => unknown)(input);
    if (kind === 'vector-scan') accountShared(input as VectorScanInput);
    else if (kind === 'bm25-part') {
      // A part's row lengths and lists (the postings file's, in the block cache): counted each time, as part vectors.
      sharedSinceGc += bm25SharedBytes(input as Bm25PartInput);
      collectIfDue();
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return { __poolError: { name: err.name, message: err.message, ...(isElaxError(e) ? { code: e.code, retryAfter: e.retryAfter } : {}) } } satisfies TaskError;
  }
  // Bytes go back transferred, not copied, when they own their whole buffer (parquet-wasm copies out of its heap).
  if (out instanceof Uint8Array && ownsBuffer(out)) return move(out);
  if (kind === 'json-parse') {
    // The body's vectors, packed into one buffer only they use (schema/json-body.ts packVectors): moved, not copied.
    const buffer = packedBufferOf(out);
    if (buffer !== undefined) return move({ [transferableSymbol]: [buffer], [valueSymbol]: out as object });
  }
  if (kind === 'part-build' || kind === 'ivf-nearest') {
    // A built part's files (tens of MB for a large shard), a shard's vectors: their own buffers are moved, the rest copied.
    const views = kind === 'part-build' ? (out as BuiltPart).files.map((f) => f.bytes) : [(out as NearestCentroids).data, (out as NearestCentroids).nearest];
    const buffers = new Set<ArrayBuffer>();
    for (const v of views) if (ownsBuffer(v)) buffers.add(v.buffer as ArrayBuffer);
    if (buffers.size > 0) return move({ [transferableSymbol]: [...buffers], [valueSymbol]: out as object });
  }
  return out;
}
