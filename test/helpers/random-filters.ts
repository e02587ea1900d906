/**
 * Seeded random documents and filter trees for the filter-index property tests (crates-ts/part/filter-eval.test.ts,
 * test/80): several scalar types, arrays (some empty), missing and null attributes, and filters mixing operators the
 * dictionary indexes answer (Eq, In, Contains..., their Not forms, on scalars and arrays) with ones they leave
 * residual (id, comparisons and globs on arrays), and comparisons and globs on scalars (indexed: the leaf closure runs
 * per distinct value), under And / Or / Not.
 */
import type { AttrValue, Doc, Schema } from '../../crates-ts/core/index.js';

export const RANDOM_FILTER_SCHEMA: Schema = {
  s: { type: 'string' },
  n: { type: 'int' },
  f: { type: 'float' },
  b: { type: 'bool' },
  tags: { type: '[]string' },
  nums: { type: '[]int' },
  dt: { type: 'datetime' },
};

const WORDS = ['ab', 'b', 'ba', 'Ab', 'c', 'abc'];
const INTS = [-3, -1, 0, 1, 2, 3];
const FLOATS = [-1.5, 0, 0.5, 2, 3];
const DATES = [0, 86_400_000, 1_700_000_000_000].map((d) => new Date(d).toISOString());

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function value(r: () => number, attr: string): AttrValue | undefined {
  const x = r();
  if (x < 0.15) return undefined;
  if (x < 0.2) return null;
  switch (attr) {
    case 's':
      return pick(r, WORDS);
    case 'n':
      return pick(r, INTS);
    case 'f':
      return pick(r, FLOATS);
    case 'b':
      return r() < 0.5;
    case 'tags':
      return Array.from({ length: Math.floor(r() * 4) }, () => pick(r, WORDS));
    case 'nums':
      return Array.from({ length: Math.floor(r() * 4) }, () => pick(r, INTS));
    default:
      return pick(r, DATES);
  }
}

/** Attributes of a random document (no id, no vector). */
export function randomAttrs(r: () => number): Record<string, AttrValue> {
  const attrs: Record<string, AttrValue> = {};
  for (const a of Object.keys(RANDOM_FILTER_SCHEMA)) {
    const v = value(r, a);
    if (v !== undefined) attrs[a] = v;
  }
  return attrs;
}

export function randomDocs(r: () => number, n: number, idBase = 0): Doc[] {
  return Array.from({ length: n }, (_, i) => ({ id: idBase + i, vector: null, attrs: randomAttrs(r) }));
}

function scalarOf(r: () => number, attr: string): unknown {
  if (r() < 0.1) return null;
  switch (attr) {
    case 's':
    case 'tags':
      return pick(r, WORDS);
    case 'n':
    case 'nums':
      return pick(r, INTS);
    case 'f':
      return pick(r, FLOATS);
    case 'b':
      return r() < 0.5;
    default:
      return pick(r, DATES);
  }
}

function leaf(r: () => number, maxId: number): unknown[] {
  const attr = pick(r, ['s', 'n', 'f', 'b', 'tags', 'nums', 'dt', 'id']);
  if (attr === 'id') return ['id', pick(r, ['Lt', 'Gte', 'Eq']), Math.floor(r() * maxId)];
  const list = () => Array.from({ length: 1 + Math.floor(r() * 3) }, () => scalarOf(r, attr));
  const array = attr === 'tags' || attr === 'nums';
  const ops = array
    ? ['Eq', 'NotEq', 'In', 'NotIn', 'Contains', 'NotContains', 'ContainsAny', 'NotContainsAny', 'AnyLt', 'AnyLte', 'AnyGt', 'AnyGte']
    : attr === 'b'
      ? ['Eq', 'NotEq', 'In', 'NotIn']
      : ['Eq', 'NotEq', 'In', 'NotIn', 'Lt', 'Lte', 'Gt', 'Gte'];
  if ((attr === 's' || attr === 'tags') && r() < 0.15) return [attr, pick(r, ['Glob', 'NotGlob', 'IGlob', 'NotIGlob']), pick(r, ['a*', '*b', 'A?', 'abc'])];
  const op = pick(r, ops);
  if (op === 'In' || op === 'NotIn' || op === 'ContainsAny' || op === 'NotContainsAny') return [attr, op, list().filter((x) => x !== null || op.endsWith('In'))];
  const v = scalarOf(r, attr);
  if ((op.startsWith('Any') || op === 'Contains' || op === 'NotContains') && v === null) return [attr, op, attr === 'tags' ? pick(r, WORDS) : pick(r, INTS)];
  return [attr, op, v];
}

/** A random filter tree of depth ≤ `depth`. */
export function randomFilter(r: () => number, depth = 3, maxId = 100): unknown {
  const x = r();
  if (depth === 0 || x < 0.4) return leaf(r, maxId);
  if (x < 0.55) return ['Not', randomFilter(r, depth - 1, maxId)];
  const kids = Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomFilter(r, depth - 1, maxId));
  return [x < 0.8 ? 'And' : 'Or', kids];
}
