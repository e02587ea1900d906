// Reader of bench/data/vector-file.ts's format (that file documents it), for the peer runners.
import { readFileSync } from 'node:fs';

export function readVectorFile(file) {
  const buf = readFileSync(file);
  const bytes = new Uint8Array(buf.byteLength);
  bytes.set(buf);
  const len = new DataView(bytes.buffer).getUint32(0, true);
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + len)));
  let off = 4 + len + ((4 - ((4 + len) % 4)) % 4);
  const base = new Float32Array(bytes.buffer, off, h.n * h.dims);
  off += base.byteLength;
  // Copies: dropping `base` after a build then frees the whole file's buffer.
  const queries = new Float32Array(bytes.buffer, off, h.q * h.dims).slice();
  off += queries.byteLength;
  const truth = new Int32Array(bytes.buffer, off, h.q * h.k).slice();
  off += truth.byteLength;
  if (off !== bytes.byteLength) throw new Error(`${file}: ${bytes.byteLength} bytes, header ${JSON.stringify(h)} accounts for ${off}`);
  return { ...h, base, queries, truth };
}
