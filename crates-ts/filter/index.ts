/**
 * filter: turbopuffer filter expressions over in-memory documents.
 *
 * Owns the filter language: validation against the schema (400 ELAX_ERR_INVALID_FILTER naming the operator,
 * attribute and path), per-filter work limits (limits.ts), operand normalisation (UUIDs, datetimes), and
 * linear-time pattern matching (Regex, Glob: re2js, never a backtracking RegExp), and compilation into a fast predicate used by
 * exhaustive query scans and by the write path (conditional writes with `$ref_new`, delete_by_filter,
 * patch_by_filter). Token operators analyse text through crates-ts/fts, so they tokenize exactly like BM25.
 *
 * Does not: read storage, choose indexes or plan queries, rank, or own any object keys. Semantics are documented
 * in compile.ts.
 */
export { compileFilter, type CompiledFilter, type CompileOptions } from './compile.js';
export { filterAttributes, fuzzyAttributes, type FuzzyAttrNeed } from './attributes.js';
export { compileGlob, globToRegexSource, GlobSyntaxError } from './glob.js';
export { compileRegex } from './regex.js';
export { parseFuzzy, MAX_FUZZY_DISTANCE, type FuzzySpec } from './fuzzy-ops.js';
export { MAX_FILTER_DEPTH, MAX_FILTER_NODES, MAX_OPERAND_VALUES, MAX_PATTERN_BYTES, MAX_PATTERN_CONDITIONS } from './limits.js';
