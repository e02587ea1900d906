/**
 * The one file a side-by-side ANN benchmark hands to every system it measures (bench/ann-peers.ts and the runners
 * in bench/peers/): base vectors, queries and the exact top-k of each query, so every system sees the same bytes
 * and is scored against the same truth. Peers run in their own processes (their native libraries and apache-arrow
 * versions never meet elax's), and read it with the few lines in bench/peers/vector-file.mjs.
 *
 * Layout, little-endian: u32 header length H, H bytes of JSON header {dataset, n, q, dims, k, metric}, padding to
 * a multiple of 4, then n × dims f32 base rows, q × dims f32 queries, q × k i32 truth (row indexes into the base,
 * nearest first).
 */
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';

export interface VectorFileHeader {
  dataset: string;
  n: number;
  q: number;
  dims: number;
  k: number;
  metric: 'cosine';
}

export interface VectorFile extends VectorFileHeader {
  base: Float32Array;
  queries: Float32Array;
  /** q × k row indexes. */
  truth: Int32Array;
}

export function writeVectorFile(file: string, v: VectorFile): void {
  const { base, queries, truth, ...h } = v;
  if (base.length !== h.n * h.dims || queries.length !== h.q * h.dims || truth.length !== h.q * h.k) throw new Error(`${file}: array sizes do not match the header ${JSON.stringify(h)}`);
  const json = new TextEncoder().encode(JSON.stringify(h));
  const head = 4 + json.length;
  const pad = (4 - (head % 4)) % 4;
  const out = new Uint8Array(head + pad + base.byteLength + queries.byteLength + truth.byteLength);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let off = head + pad;
  for (const a of [base, queries, truth]) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  writeFileSync(file, out);
}

/**
 * Reads the file; with `base: false` only the header, queries and truth (a query node's process then does not hold
 * the base vectors, and its memory figure is its own). Every array is a fresh copy, aligned.
 */
export function readVectorFile(file: string, o: { base?: boolean } = {}): VectorFile {
  const fd = openSync(file, 'r');
  try {
    const read = (off: number, len: number): Uint8Array => {
      const out = new Uint8Array(len);
      for (let got = 0; got < len; ) {
        const n = readSync(fd, out, got, len - got, off + got);
        if (n === 0) throw new Error(`${file}: ends at ${off + got}, expected ${off + len} bytes`);
        got += n;
      }
      return out;
    };
    const len = new DataView(read(0, 4).buffer).getUint32(0, true);
    const h = JSON.parse(new TextDecoder().decode(read(4, len))) as VectorFileHeader;
    const start = 4 + len + ((4 - ((4 + len) % 4)) % 4);
    const baseBytes = h.n * h.dims * 4;
    const size = fstatSync(fd).size;
    if (size !== start + baseBytes + h.q * h.dims * 4 + h.q * h.k * 4) throw new Error(`${file}: ${size} bytes does not match its header ${JSON.stringify(h)}`);
    const base = o.base === false ? new Float32Array(0) : new Float32Array(read(start, baseBytes).buffer);
    const queries = new Float32Array(read(start + baseBytes, h.q * h.dims * 4).buffer);
    const truth = new Int32Array(read(start + baseBytes + queries.byteLength, h.q * h.k * 4).buffer);
    return { ...h, base, queries, truth };
  } finally {
    closeSync(fd);
  }
}
