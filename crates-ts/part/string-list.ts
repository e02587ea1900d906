/**
 * String lists as one block (fuzzy indexes, part/fuzzy-index.ts and fuzzy-blocks.ts), and sorting by code point.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { codePoints, compareCodePoints } from '../filter/edit-distance.js';
import { corruptBlock } from './block-file.js';

/**
 * A list of strings as one block: [u32 n][u32 UTF-16 end offset × n][the strings joined, UTF-8, deflated when that
 * saves a tenth]: one encode and one decode of the whole text, not one per string. (UTF-8 cannot hold a lone
 * surrogate: it reads back as U+FFFD, as in column blocks.)
 */
export function encodeStrings(list: readonly string[]): Uint8Array {
  const joined = list.join('');
  const head = new Uint32Array(1 + list.length);
  head[0] = list.length;
  let end = 0;
  for (let i = 0; i < list.length; i++) head[1 + i] = end += list[i]!.length;
  const text = Buffer.from(joined, 'utf8');
  const z = deflateRawSync(text, { level: 1 });
  const deflated = z.byteLength <= text.byteLength * 0.9;
  const body = deflated ? z : text;
  const out = new Uint8Array(1 + head.byteLength + body.byteLength);
  out[0] = deflated ? 1 : 0;
  out.set(new Uint8Array(head.buffer), 1);
  out.set(body, 1 + head.byteLength);
  return out;
}

export function decodeStrings(b: Uint8Array, where: string): string[] {
  if (b.byteLength < 5 || b[0]! > 1) throw corruptBlock(where, 'is not a string list');
  const n = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(1, true);
  const start = 5 + 4 * n;
  if (start > b.byteLength) throw corruptBlock(where, 'string list is truncated');
  const ends = new Uint32Array(n);
  new Uint8Array(ends.buffer).set(b.subarray(5, start));
  let text: string;
  try {
    const body = b.subarray(start);
    text = Buffer.from(b[0] === 1 ? inflateRawSync(body) : body).toString('utf8');
  } catch (e) {
    throw corruptBlock(where, `string list does not inflate: ${(e as Error).message}`);
  }
  const out: string[] = new Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (ends[i]! < at || ends[i]! > text.length) throw corruptBlock(where, `string ${i} ends outside the text`);
    out[i] = text.slice(at, ends[i]);
    at = ends[i]!;
  }
  if (at !== text.length) throw corruptBlock(where, 'string list has text left over');
  return out;
}

/** Strings sorted by code point: UTF-16 order (native) unless one holds a surrogate, whose order then differs. */
export function sortByCodePoint(list: string[]): string[] {
  if (!list.some((s) => /[\ud800-\udfff]/.test(s))) return list.sort();
  const keyed = list.map((s) => ({ s, c: codePoints(s) }));
  keyed.sort((a, b) => compareCodePoints(a.c, b.c));
  return keyed.map((k) => k.s);
}
