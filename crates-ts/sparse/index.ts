/** sparse/: sparse vectors ({}f16 / {}f32), their inverted index in parts, and SparseKNN scoring (RFC-0012). */
export * from './vector.js';
export * from './index-file.js';
export * from './score.js';
export * from './loose-index.js';
