/**
 * MaxSim ranking over segments (RFC-0015): every live row of each segment (or only the candidates `only` names: the
 * ANN path's MUVERA candidates) holding a value of the attribute, scored exactly by multivec/maxsim.ts, into one
 * top-k carried across segments (lower $dist first, ties by id). The tail and parts go through the same loop, so
 * scores do not depend on where a row lives.
 */
import type { Id } from '../core/index.js';
import { maxSimDistanceOf, mvIvfCandidates, type FdeFile, type MultiQuery, type MultiVector, type MvIvfHeld } from '../multivec/index.js';
import type { Segment } from './segment.js';

/** Rows between cancellation checks. */
const CHECK_MASK = 1023;

export interface MultiSink {
  offer(ord: number, dist: number, id: Id): void;
}

export function scoreMultiSegment(
  seg: Segment,
  attr: string,
  query: MultiQuery,
  only: ArrayLike<number> | null,
  accept: (ord: number) => boolean,
  sink: MultiSink,
  check: () => void,
): void {
  const read = seg.reader ? seg.reader(attr) : (o: number) => seg.value(attr, o);
  const n = only === null ? seg.rows : only.length;
  for (let i = 0; i < n; i++) {
    if ((i & CHECK_MASK) === 0) check();
    const o = only === null ? i : only[i]!;
    const v = read(o);
    if (!Array.isArray(v) || v.length === 0 || !Array.isArray(v[0])) continue;
    if (!accept(o)) continue;
    sink.offer(o, maxSimDistanceOf(query, v as MultiVector), seg.id(o));
  }
}

/**
 * Candidates a part's MUVERA index gives an ANN query of top `k`, re-ranked exactly: the best max(10·k, 200) by FDE,
 * or the query's `ef_search` (an elax extension, at least k).
 */
export function multiCandidateCount(k: number, efSearch: number | null = null): number {
  return efSearch !== null ? Math.max(efSearch, k) : Math.max(10 * k, 200);
}

/** The rows (ascending ordinals) whose FDE best matches the query's, among those `accept` lets through. */
export function multiCandidates(fde: FdeFile, query: MultiQuery, k: number, efSearch: number | null, accept: (ord: number) => boolean, check: () => void): number[] {
  return fde.candidates(query.vectors, multiCandidateCount(k, efSearch), accept, check).sort((a, b) => a - b);
}

/** Lists each query vector probes in a part's token-level IVF at the default candidate count (RFC-0015 §4). */
export const MVIVF_NPROBE = 32;

/**
 * Candidates a part's token-level IVF gives an ANN query of top `k`, re-ranked exactly: the best max(40·k, 400) by
 * approximate MaxSim, or the query's `ef_search` (at least k).
 */
export function mvIvfCandidateCount(k: number, efSearch: number | null = null): number {
  return efSearch !== null ? Math.max(efSearch, k) : Math.max(40 * k, 400);
}

/**
 * Lists each query vector probes: MVIVF_NPROBE at the default candidate count, in proportion to the candidates
 * otherwise (`ef_search` 4,000 probes 320 lists, 100 probes 8), at least 1.
 */
export function mvIvfProbeCount(k: number, efSearch: number | null = null): number {
  return Math.max(1, Math.ceil((MVIVF_NPROBE * mvIvfCandidateCount(k, efSearch)) / 400));
}

/**
 * Lists each query vector probes in a part of `rows` rows: every list when the part has at most as many rows as
 * candidates (its ANN answer is then exact), else mvIvfProbeCount. The engine (what to read) and the rank (what to
 * score) both ask this.
 */
export function mvIvfPartProbes(k: number, efSearch: number | null, rows: number): number {
  return mvIvfCandidateCount(k, efSearch) >= rows ? Infinity : mvIvfProbeCount(k, efSearch);
}

/** The rows (ascending ordinals) with the best approximate MaxSim from the probed lists, among those `accept` lets through. */
export function multiIvfCandidates(ivf: MvIvfHeld, query: MultiQuery, k: number, efSearch: number | null, accept: (ord: number) => boolean, check: () => void): number[] {
  const probes = ivf.file.probes(query.vectors, mvIvfPartProbes(k, efSearch, ivf.file.rows));
  return mvIvfCandidates(ivf.file, query.vectors, probes, ivf.list, mvIvfCandidateCount(k, efSearch), accept, check).sort((a, b) => a - b);
}
