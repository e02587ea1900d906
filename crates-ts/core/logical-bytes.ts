import type { AttrValue, Doc } from './types.js';

/** A document's approximate logical size (vector + attributes), for billing and `approx_logical_bytes`. */
export function docLogicalBytes(d: Doc): number {
  let bytes = (d.vector ? d.vector.length * 4 : 0) + 16;
  for (const k in d.attrs) bytes += k.length + attrValueBytes(d.attrs[k]);
  return bytes;
}

/**
 * An attribute value's logical size: a string's length, 8 per array element, 8 for anything else.
 *
 * The length is read from `text`, which is the value when it is a string and '' otherwise: a string either way, and
 * known only where the two paths meet. Node 20's optimizing compiler (V8 11.3) treats a string's length as an
 * immutable field whose load may be scheduled wherever its uses are dominated; with
 * `typeof v === 'string' ? v.length : …` inlined into the WAL tail's append it once placed the load of `v`'s length
 * ahead of the check that `v` is a heap object, and an integer attribute then crashed the process with SIGSEGV
 * (docs/ARCHITECTURE.md "Known V8 hazards").
 */
export function attrValueBytes(v: AttrValue | undefined): number {
  const text = typeof v === 'string' ? v : '';
  if (text !== v) return Array.isArray(v) ? v.length * 8 : 8;
  return text.length;
}
