/**
 * Vectors in and out of the JSON API. turbopuffer accepts query vectors as number arrays or base64 strings, and
 * returns them as number arrays (vector_encoding "float") or base64 strings ("base64"). base64 is always the
 * little-endian float32 serialisation (query docs, vector_encoding).
 */
import { Buffer } from 'node:buffer';

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Decode base64 little-endian f32 bytes; null when not base64 or the byte length is not a multiple of 4. */
export function decodeBase64Vector(s: string): Float32Array | null {
  // Buffer.from silently skips invalid characters; reject them so a typo is a 400, not a shorter vector.
  if (s.length % 4 === 1 || !BASE64.test(s)) return null;
  const bytes = Buffer.from(s, 'base64');
  if (bytes.byteLength % 4 !== 0) return null;
  const n = bytes.byteLength / 4;
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

export function encodeBase64Vector(v: Float32Array): string {
  if (LITTLE_ENDIAN) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  const buf = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4);
  return buf.toString('base64');
}

/** Powers of ten that are exact float64 values (10^0 .. 10^22). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/**
 * A short float64 that rounds back to the same float32, so 0.1 stored as f32 is returned as 0.1 rather than
 * 0.10000000149011612, as a float32-native server prints it. Tries 6..9 significant digits with arithmetic
 * (m / 10^k with exact operands is the correctly rounded value of the decimal, i.e. what JSON.parse would give;
 * ~15x faster than toPrecision); 9 significant digits always round-trip a float32.
 */
export function f32ToJsonNumber(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.floor(Math.log10(Math.abs(x)));
  for (let p = 6; p <= 9; p++) {
    const k = p - 1 - e; // decimal places kept
    let d: number;
    if (k >= 0 && k <= 22) d = Math.round(x * POW10[k]!) / POW10[k]!;
    else if (k < 0 && k >= -22) d = Math.round(x / POW10[-k]!) * POW10[-k]!;
    else break;
    if (Math.fround(d) === x) return d;
  }
  // Magnitudes below ~1e-14 or above ~1e22 (or an off-by-one log10): the exact, slower route.
  for (let p = 6; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return x;
}

export function encodeFloatVector(v: Float32Array): number[] {
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = f32ToJsonNumber(v[i]!);
  return out;
}
