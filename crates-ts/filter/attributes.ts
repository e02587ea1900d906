import { parseFuzzy, type FuzzySpec } from './fuzzy-ops.js';

/**
 * The attributes a filter reads from stored documents, for projections and planning (which columns a scan must
 * decode). Best effort on malformed input (it never throws: compileFilter reports errors). `id` is not listed
 * (it is not an attribute and is always available), nor are `$ref_new` targets (read from the new document).
 */
export function filterAttributes(filter: unknown): string[] {
  const out = new Set<string>();
  const walk = (f: unknown, depth: number): void => {
    if (!Array.isArray(f) || depth > 64) return;
    if (f.length === 2 && (f[0] === 'And' || f[0] === 'Or') && Array.isArray(f[1])) {
      for (const c of f[1]) walk(c, depth + 1);
      return;
    }
    if (f.length === 2 && f[0] === 'Not') {
      walk(f[1], depth + 1);
      return;
    }
    if (f.length >= 3 && typeof f[0] === 'string' && typeof f[1] === 'string' && f[0] !== 'id') out.add(f[0]);
  };
  walk(filter, 0);
  return [...out];
}

/** A Fuzzy attribute of a filter and its leaves' queries (a part reads the fuzzy index blocks they may match). */
export interface FuzzyAttrNeed {
  attr: string;
  specs: FuzzySpec[];
}

/**
 * The attributes of a filter's Fuzzy leaves, with their parsed queries (their fuzzy indexes are prepared:
 * part/fuzzy-index.ts, fuzzy-blocks.ts). Never throws: a malformed leaf is left out (compileFilter reports it).
 */
export function fuzzyAttributes(filter: unknown): FuzzyAttrNeed[] {
  const out = new Map<string, FuzzySpec[]>();
  const walk = (f: unknown, depth: number): void => {
    if (!Array.isArray(f) || depth > 64) return;
    if (f.length === 2 && (f[0] === 'And' || f[0] === 'Or') && Array.isArray(f[1])) for (const c of f[1]) walk(c, depth + 1);
    else if (f.length === 2 && f[0] === 'Not') walk(f[1], depth + 1);
    else if (f[1] === 'Fuzzy' && typeof f[0] === 'string') {
      const specs = out.get(f[0]) ?? [];
      out.set(f[0], specs);
      const spec = f.length === 4 ? parseFuzzy(f[2], f[3]) : null;
      if (spec !== null && !('error' in spec)) specs.push(spec);
    }
  };
  walk(filter, 0);
  return [...out].map(([attr, specs]) => ({ attr, specs }));
}
