/**
 * The exact vector scan of the WAL tail (and of a part whose vectors are in shared memory) as a pool task (docs/rfcs/0010-worker-pool.md "Tail scans on the pool"): a
 * pure function of its input, run on a pool thread, or inline when the pool has no thread or fails the task. The
 * tail's vectors are in shared arenas (vector-arena.ts), posted to the thread as memories, not copied; the rows it
 * reads never change (the tail only appends), and the liveness it needs (dead rows, rows without a vector, or the
 * ordinals a filter accepted) is a copy taken when the query started, so a write landing during the scan changes
 * nothing it sees.
 *
 * The answer is the k nearest rows plus every row tied with the k-th distance: the caller offers them to its top-k
 * with their ids (ties rank by id), so the result is the one the event-loop scan gives (execute-segments.ts), whose
 * distances come from the same kernels or the bit-identical JS ones.
 */
import { KthSmallest, TopKTies, type WasmMemory } from '../core/index.js';
import { cosineDistanceAt, cosineFromDot, cosineWithSqNormAt, euclideanSquaredAt, norm } from './distance.js';
import { VectorArena } from './vector-arena.js';
import { boundBatch, newCandidates, queryCodes, type ChunkCodes } from './code-scan.js';

/** One chunk of 2^shift rows, as VectorChunk.shared gives it. */
export interface ScanChunk {
  memory: WasmMemory;
  capacity: number;
  /** Σ y² per row (cosine), in a SharedArrayBuffer. */
  sqNorms: Float64Array;
  /** The arena keeps int8 codes of its rows, with these per-row numbers (code-scan.ts ChunkCodes), in SharedArrayBuffers. */
  codes?: { scale: Float64Array; errNorm: Float64Array; codeNorm: Float64Array };
}

export interface VectorScanInput {
  dims: number;
  cosine: boolean;
  query: Float32Array;
  k: number;
  /**
   * Scan through the chunks' codes where they have them (code-scan.ts: exact distances only for rows that can enter
   * the top k; the answer is the same). Absent: false.
   */
  codeScan?: boolean;
  /** Ordinal o is physical row base + o: chunk (base + o) >> shift, counted from `firstChunk`. */
  base: number;
  shift: number;
  firstChunk: number;
  /** Null: a chunk none of whose rows has a vector (`present` skips them all). */
  chunks: (ScanChunk | null)[];
  /**
   * A part's vectors instead of chunks (row o at data[o·dims], in a SharedArrayBuffer), with their Σ y² for cosine
   * (null: the distance reads both norms), scanned with the JS kernels the event loop uses for parts.
   */
  flat?: { data: Float32Array; sqNorms: Float64Array | null };
  /** Rows [0, n) of the segment are scanned (when `ords` is null). */
  n: number;
  /** The ordinals to scan (a filter's matches, live, with a vector), or null: every row of [0, n) that `dead` and `present` allow. */
  ords: Int32Array | null;
  /** dead[o] = 1: skip (a copy). */
  dead: Uint8Array | null;
  /** Bit o clear: no vector (a copy); null: every row has one. */
  present: Uint8Array | null;
  /** Set to 1 by the caller to stop the scan (its query was cancelled): checked every CHECK_ROWS rows. */
  cancel: Int32Array | null;
}

export interface VectorScanOutput {
  /** The k nearest scanned ordinals and every one tied with the k-th distance, in no order. */
  ords: Int32Array;
  dists: Float64Array;
  /** Rows whose distance was computed. */
  scanned: number;
  /** Whether the scan stopped at `cancel` (then ords / dists are empty). */
  cancelled: boolean;
}

const CHECK_ROWS = 4096;

export function scanVectors(input: VectorScanInput): VectorScanOutput {
  const { dims, cosine, query, base, shift, firstChunk, chunks, n, ords, dead, present, cancel } = input;
  const top = new TopKTies(input.k);
  const qNorm = norm(query);
  const query64 = Float64Array.from(query);
  const mask = (1 << shift) - 1;
  const count = ords === null ? n : ords.length;
  let lease: { arena: VectorArena; release: () => void } | null = null;
  const stopped = (): VectorScanOutput => ({ ords: new Int32Array(0), dists: new Float64Array(0), scanned, cancelled: true });
  let scanned = 0;
  if (input.flat !== undefined) {
    const { data, sqNorms } = input.flat;
    for (let i = 0; i < count; i++) {
      if ((i & (CHECK_ROWS - 1)) === 0 && cancel !== null && Atomics.load(cancel, 0) !== 0) return stopped();
      const o = ords === null ? i : ords[i]!;
      if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) continue;
      if (dead !== null && dead[o] === 1) continue;
      const off = o * dims;
      const d = !cosine ? euclideanSquaredAt(query, data, off) : sqNorms !== null ? cosineWithSqNormAt(query64, qNorm, data, off, sqNorms[o]!) : cosineDistanceAt(query, qNorm, data, off);
      top.offer(d, o);
      scanned++;
    }
    return { ...top.result(), scanned, cancelled: false };
  }
  // Code scan (code-scan.ts): bounds from the chunks' codes, the k-th smallest upper bound over the whole scan, and
  // each chunk's candidates ranked exactly when the scan leaves it.
  const cq = input.codeScan === true && input.k > 0 ? queryCodes(query, qNorm) : null;
  const kth = cq !== null ? new KthSmallest(input.k) : null;
  try {
    // The chunk being scanned: its kernel (a claimed slot of its shared arena) or its rows for the JS kernels.
    let cur = -1;
    let arena: VectorArena | null = null;
    let rows: Float32Array | null = null;
    let sq: Float64Array | null = null;
    let codes: ChunkCodes | null = null;
    const sel = new Int32Array(256);
    const batchOrds = new Int32Array(256);
    let m = 0;
    let cand = newCandidates();
    const exact = (count: number) => {
      const a = arena!;
      a.sel.set(sel.subarray(0, count));
      if (cosine) a.dots(count);
      else a.l2s(count);
      const out = a.out;
      for (let j = 0; j < count; j++) {
        const d = cosine ? cosineFromDot(out[j]!, qNorm, sq![a.sel[j]!]!) : out[j]!;
        top.offer(d, batchOrds[j]!);
      }
      scanned += count;
    };
    const flush = () => {
      if (codes === null) {
        exact(m);
        m = 0;
        return;
      }
      const a = arena!;
      a.sel.set(sel.subarray(0, m));
      a.idots(m);
      cand = boundBatch(cq!, cosine, codes, sq!, a.sel, a.out, batchOrds, m, kth!, top.bound, cand);
      m = 0;
    };
    const leaveChunk = () => {
      if (m > 0) flush();
      if (codes === null || cand.n === 0) return;
      let b = 0;
      for (let j = 0; j < cand.n; j++) {
        const lb = cand.lb[j]!;
        if (lb > kth!.bound || lb > top.bound) continue;
        sel[b] = cand.r[j]!;
        batchOrds[b++] = cand.o[j]!;
        if (b === sel.length) {
          exact(b);
          b = 0;
        }
      }
      if (b > 0) exact(b);
      cand.n = 0;
    };
    for (let i = 0; i < count; i++) {
      if ((i & (CHECK_ROWS - 1)) === 0 && cancel !== null && Atomics.load(cancel, 0) !== 0) return stopped();
      const o = ords === null ? i : ords[i]!;
      if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) continue;
      if (dead !== null && dead[o] === 1) continue;
      const p = base + o;
      const c = (p >>> shift) - firstChunk;
      const r = p & mask;
      if (c !== cur) {
        if (cur !== -1) leaveChunk();
        cur = c;
        const chunk = chunks[c]!;
        sq = chunk.sqNorms;
        lease?.release();
        const coded = cq !== null && chunk.codes !== undefined;
        lease = VectorArena.attach(chunk.memory, dims, chunk.capacity, coded);
        codes = null;
        if (lease !== null) {
          arena = lease.arena;
          arena.setQuery(query);
          rows = null;
          if (coded && arena.codes !== null) {
            codes = { arena, codes: arena.codes, ...chunk.codes! };
            arena.setQueryCodes(cq.qc);
          }
        } else {
          arena = null;
          rows = VectorArena.rowsOf(chunk.memory, dims, chunk.capacity);
        }
      }
      if (arena === null) {
        const d = cosine ? cosineWithSqNormAt(query64, qNorm, rows!, r * dims, sq![r]!) : euclideanSquaredAt(query, rows!, r * dims);
        top.offer(d, o);
        scanned++;
        continue;
      }
      sel[m] = r;
      batchOrds[m++] = o;
      if (m === sel.length) flush();
    }
    if (cur !== -1) leaveChunk();
  } finally {
    lease?.release();
  }
  return { ...top.result(), scanned, cancelled: false };
}

/**
 * The shared memory a vector-scan input refers to: each shared arena by its id (a thread counts one it saw before
 * once) with its size, and the bytes of a part's vectors (flat). pool/worker.ts collects its garbage after enough
 * new shared bytes went through it.
 */
export function sharedFootprint(input: VectorScanInput): { arenas: [id: number, bytes: number][]; flatBytes: number } {
  const arenas: [number, number][] = [];
  for (const c of input.chunks) if (c !== null) arenas.push([VectorArena.idOf(c.memory, input.dims, c.capacity), c.memory.buffer.byteLength + c.sqNorms.byteLength]);
  const flat = input.flat;
  return { arenas, flatBytes: flat === undefined ? 0 : flat.data.byteLength + (flat.sqNorms?.byteLength ?? 0) };
}
