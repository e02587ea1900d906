import type { Doc } from '../core/index.js';

/** A document's approximate logical size (vector + attributes), for billing and `approx_logical_bytes`. */
export function docLogicalBytes(d: Doc): number {
  let bytes = (d.vector ? d.vector.length * 4 : 0) + 16;
  for (const k in d.attrs) {
    const v = d.attrs[k];
    bytes += k.length + (typeof v === 'string' ? v.length : Array.isArray(v) ? v.length * 8 : 8);
  }
  return bytes;
}
