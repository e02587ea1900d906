/**
 * vindex: which centroids and rotation do the clustered vector indexes of namespace N share? (RFC-0008 §1)
 *
 * Owns `{ns}/vindex/codebook-{version:010d}-{nonce}.cb` (keys from store/paths.ts): the codebook object's bytes
 * (a block file: centroids, radii, retired flags, rotation signs; metric, dims and version in the footer), and
 * writing and reading it. The codebook's meaning — training, assignment, extension — is ivf/codebook.ts; which
 * codebook is current is `router.vindex` (router/).
 *
 * Does not: decide when to train or extend (the indexer), cache codebooks (query nodes do), or delete them (GC).
 */
export { encodeCodebook, decodeCodebook, CODEBOOK_KIND } from './codebook-file.js';
export { writeCodebook, readCodebook } from './codebook-store.js';
