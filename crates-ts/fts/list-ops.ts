/**
 * Operations on decoded posting lists shared by the statistics and scoring passes: galloping seek, and the union
 * of the lists a last_as_prefix pseudo-term stands for.
 */
import type { PostingList, PostingsFile } from './postings.js';

/** Ordinals are ascending: the first index in `ords` at or after `from` whose value is >= target. */
export function seek(ords: Uint32Array, from: number, target: number): number {
  let lo = from;
  let hi = ords.length;
  // Gallop first: a cursor usually moves a short distance.
  let step = 1;
  while (lo + step < hi && ords[lo + step]! < target) {
    lo += step;
    step *= 2;
  }
  hi = Math.min(hi, lo + step + 1);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ords[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A leaf's postings in one source: the list (null when the term is absent) and its bound inputs. */
export interface SourceLeaf {
  list: PostingList | null;
  maxTf: number;
  minLen: number;
}

export const ABSENT: SourceLeaf = { list: null, maxTf: 0, minLen: 0 };

/** The leaf of one term in `file` (its list must be fetched). */
export function termLeaf(file: PostingsFile, term: string): SourceLeaf {
  const t = file.lookup(term);
  return t < 0 ? ABSENT : { list: file.list(t), maxTf: file.maxTf[t]!, minLen: file.minLen[t]! };
}

/** Union of the posting lists of the terms starting with `prefix`, tfs summed: the last_as_prefix pseudo-term. */
export function prefixLeaf(file: PostingsFile, prefix: string): SourceLeaf {
  const [start, end] = file.prefixRange(prefix);
  if (start === end) return ABSENT;
  if (end - start === 1) return { list: file.list(start), maxTf: file.maxTf[start]!, minLen: file.minLen[start]! };
  const lists: PostingList[] = [];
  for (let i = start; i < end; i++) lists.push(file.list(i));
  return unionLeaf(lists, file.docLens);
}

/**
 * The prefix leaf of several lists (prefixLeaf), with its bounds: the largest summed tf and the shortest row. The same
 * function on the event loop and on a pool thread (fts/part-task.ts gets the lists and builds the union there).
 */
export function unionLeaf(lists: readonly PostingList[], docLens: Int32Array): SourceLeaf {
  const acc = new Map<number, number>();
  for (const l of lists) {
    for (let j = 0; j < l.ords.length; j++) acc.set(l.ords[j]!, (acc.get(l.ords[j]!) ?? 0) + l.tfs[j]!);
  }
  const ords = Uint32Array.from(acc.keys()).sort();
  const tfs = new Uint32Array(ords.length);
  let maxTf = 0;
  let minLen = Infinity;
  for (let j = 0; j < ords.length; j++) {
    tfs[j] = acc.get(ords[j]!)!;
    if (tfs[j]! > maxTf) maxTf = tfs[j]!;
    const len = docLens[ords[j]!]!;
    if (len < minLen) minLen = len;
  }
  return { list: { ords, tfs }, maxTf, minLen };
}
