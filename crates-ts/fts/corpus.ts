/**
 * What a text query ranks: the namespace's live documents, split into indexed segments (parts with postings) and
 * loose documents (the WAL tail, and parts whose postings are missing or were built with another analysis).
 *
 * Liveness: a part row is dead when a newer source (a later part or the WAL tail) replaced or deleted its id. Dead
 * rows are still in the part's postings and statistics, so the query subtracts them (docs/ARCHITECTURE.md, fts/): statistics are
 * taken over exactly the live documents, and a document's score never depends on how the namespace is split.
 */
import type { Doc } from '../core/index.js';
import type { PostingsFile } from './postings.js';

export interface TextSegment {
  /** The part's rows; row ordinal = index (the ordinals of its postings). */
  readonly docs: readonly Doc[];
  /** Postings of `attr` if the part has them and they were built with analysis `analysis` (analysisKey), else null. */
  postings(attr: string, analysis: string): PostingsFile | null;
  /** 1 for dead (shadowed) rows; null when every row is live. */
  readonly dead: Uint8Array | null;
  /** Ordinals of the dead rows, ascending (empty when none). The same array object until liveness changes. */
  readonly deadOrdinals: readonly number[];
}

export interface TextCorpus {
  readonly segments: readonly TextSegment[];
  /** Live documents scored by analysing their text (no postings). */
  readonly loose: readonly Doc[];
}

/** A corpus of documents without any index: everything is analysed (the exhaustive path, and tests' reference). */
export function looseCorpus(docs: readonly Doc[]): TextCorpus {
  return { segments: [], loose: docs };
}
