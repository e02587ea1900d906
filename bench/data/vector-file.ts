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
import { readFileSync, writeFileSync } from 'node:fs';

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

export function readVectorFile(file: string): VectorFile {
  const buf = readFileSync(file);
  // A fresh aligned copy of the payload: readFileSync's Buffer may sit at any offset of a shared pool.
  const bytes = new Uint8Array(buf.byteLength);
  bytes.set(buf);
  const len = new DataView(bytes.buffer).getUint32(0, true);
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + len))) as VectorFileHeader;
  let off = 4 + len + ((4 - ((4 + len) % 4)) % 4);
  const take = <T>(make: (b: ArrayBuffer, o: number, n: number) => T, n: number): T => {
    const a = make(bytes.buffer, off, n);
    off += n * 4;
    return a;
  };
  const base = take((b, o, n) => new Float32Array(b, o, n), h.n * h.dims);
  const queries = take((b, o, n) => new Float32Array(b, o, n), h.q * h.dims);
  const truth = take((b, o, n) => new Int32Array(b, o, n), h.q * h.k);
  if (off !== bytes.byteLength) throw new Error(`${file}: ${bytes.byteLength} bytes, header ${JSON.stringify(h)} accounts for ${off}`);
  return { ...h, base, queries, truth };
}
