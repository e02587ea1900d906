import { describe, expect, it } from 'vitest';
import { annChoice, HNSW_EXACT_MAX_ROWS, ivfExactMaxRows } from './ann-choice.js';
import { leafText } from './plan.js';

describe('annChoice', () => {
  it('should rank exactly up to the threshold (or k) and walk above it', () => {
    expect(annChoice('hnsw', HNSW_EXACT_MAX_ROWS, 10)).toBe('exact');
    expect(annChoice('hnsw', HNSW_EXACT_MAX_ROWS + 1, 10)).toBe('walk');
    expect(annChoice('hnsw', 5000, 5000)).toBe('exact');
    expect(ivfExactMaxRows(1_000_000)).toBe(15_625);
    expect(annChoice('ivf', 15_625, 10, 1_000_000)).toBe('exact');
    expect(annChoice('ivf', 15_626, 10, 1_000_000)).toBe('walk');
    expect(annChoice('ivf', 4096, 10, 100)).toBe('exact');
  });

  it('should print leaves as written', () => {
    expect(leafText(['price', 'Lt', 100])).toBe('price Lt 100');
    expect(leafText(['tags', 'In', ['a', null]])).toBe('tags In ["a",null]');
  });
});
