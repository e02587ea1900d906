/**
 * Per-filter work limits. Each bounds what one request can make a node do (compile time, memory, evaluation
 * cost per document); each is far above what a real filter needs, and exceeding one is a 400
 * (ELAX_ERR_INVALID_FILTER) naming the limit and the actual value. turbopuffer documents no such limits; these
 * are elax's, listed in docs/api.md.
 */
import { MAX_PATTERN_BYTES } from './regex.js';

/** Deepest nesting accepted (And/Or/Not levels): bounds recursion on hostile input. */
export const MAX_FILTER_DEPTH = 64;
/** Filter nodes (conditions plus And / Or / Not) in one filter. */
export const MAX_FILTER_NODES = 4096;
/** Regex / Glob / NotGlob / IGlob / NotIGlob / Fuzzy conditions in one filter. */
export const MAX_PATTERN_CONDITIONS = 64;
/** Values in one array operand (In, NotIn, ContainsAny, NotContainsAny, Eq on an array, token lists). */
export const MAX_OPERAND_VALUES = 100_000;

export { MAX_PATTERN_BYTES };

const PATTERN_OPS = new Set(['Regex', 'Glob', 'NotGlob', 'IGlob', 'NotIGlob', 'Fuzzy']);

/** Counts nodes and pattern conditions (not below MAX_FILTER_DEPTH: compilation reports that). Never throws. */
export function filterSize(filter: unknown): { nodes: number; patterns: number } {
  let nodes = 0;
  let patterns = 0;
  const walk = (f: unknown, depth: number): void => {
    if (!Array.isArray(f) || depth > MAX_FILTER_DEPTH + 1) return;
    nodes++;
    if (f.length === 2 && (f[0] === 'And' || f[0] === 'Or') && Array.isArray(f[1])) {
      for (const c of f[1] as unknown[]) walk(c, depth + 1);
    } else if (f.length === 2 && f[0] === 'Not') {
      walk(f[1], depth + 1);
    } else if (typeof f[1] === 'string' && PATTERN_OPS.has(f[1])) {
      patterns++;
    }
  };
  walk(filter, 0);
  return { nodes, patterns };
}
