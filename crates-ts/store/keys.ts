/**
 * Object-key rules and ordering shared by every backend, so that all three accept and order the same keys.
 */
import { ElaxError } from '../core/index.js';

/** Names starting with this are the local backend's temp and lock files; keys may not use it in any segment. */
export const RESERVED_SEGMENT_PREFIX = '.elax-';

/** S3's own limit on key length (UTF-8 bytes). */
const MAX_KEY_BYTES = 1024;
/** Leaves room under the 255-byte file-name limit for the local backend's '.elax-lock.' / temp-file decorations. */
const MAX_SEGMENT_BYTES = 200;

/**
 * Throw unless `key` is a key every backend can store at the same name: non-empty, at most 1024 UTF-8 bytes,
 * '/'-separated segments of at most 200 bytes that are non-empty, not '.' or '..', no NUL, no segment starting with
 * '.elax-', no leading or trailing '/'.
 * (S3 allows more; we accept only keys the local directory backend maps 1:1 onto files.)
 */
export function validateKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== null) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `invalid object key ${JSON.stringify(key)}: ${problem}`);
  }
}

function keyProblem(key: string): string | null {
  if (typeof key !== 'string' || key.length === 0) return 'empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  if (key.includes('\0')) return 'contains NUL';
  if (key.startsWith('/')) return "starts with '/'";
  if (key.endsWith('/')) return "ends with '/'";
  for (const seg of key.split('/')) {
    if (seg === '') return "contains an empty segment ('//')";
    if (seg === '.' || seg === '..') return `contains a '${seg}' segment`;
    if (seg.startsWith(RESERVED_SEGMENT_PREFIX)) return `segment ${JSON.stringify(seg)} uses the reserved prefix '${RESERVED_SEGMENT_PREFIX}'`;
    if (Buffer.byteLength(seg, 'utf8') > MAX_SEGMENT_BYTES) return `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return null;
}

/** Throw unless `prefix` is usable as a list prefix (may be empty or end with '/'; same segment rules otherwise). */
export function validatePrefix(prefix: string): void {
  if (prefix === '') return;
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  // A prefix may end mid-segment ("ns/wal/0000"), so only the complete segments must be valid keys.
  const problem = body === '' ? "is '/'" : keyProblem(body);
  if (problem !== null) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `invalid list prefix ${JSON.stringify(prefix)}: ${problem}`);
  }
}

/**
 * Compare two keys in UTF-8 byte order (S3's LIST order). JavaScript's `<` compares UTF-16 code units, which
 * differs from UTF-8 order only when a surrogate (U+D800..DFFF, i.e. a character above U+FFFF) meets a
 * character in U+E000..FFFF; remap those two ranges so code-unit order equals byte order.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) return utf8Rank(x) - utf8Rank(y);
      return x - y;
    }
  }
  return a.length - b.length;
}

function utf8Rank(c: number): number {
  if (c >= 0xd800 && c <= 0xdfff) return c + 0x2000; // surrogates sort after all BMP chars
  if (c >= 0xe000) return c - 0x800;
  return c;
}
