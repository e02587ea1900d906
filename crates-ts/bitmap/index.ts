/**
 * bitmap: sets of row ordinals for filter indexes (RFC-0009 §1). In memory a sorted array or dense words, whichever
 * the set's density favours; on disk the portable roaring format, so any roaring implementation reads the files.
 * Pure TypeScript: the `roaring` package's native build would cost every clean install a compile (RFC-0009 §6).
 *
 * Does not: know about parts, filters or files.
 */
export { Bitmap } from './bitmap.js';
export { deserializeSorted, RoaringFormatError, serializeSorted } from './portable.js';
