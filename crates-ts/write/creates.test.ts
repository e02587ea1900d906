import { describe, it, expect } from 'vitest';
import { parseWriteRequest } from '../schema/index.js';
import { declaresSchemaOrMetric } from './creates.js';

const declares = (body: unknown) => declaresSchemaOrMetric(parseWriteRequest(body, { schema: {}, distanceMetric: null }));

describe('declaresSchemaOrMetric', () => {
  it('should not count types inferred from operations that may do nothing', () => {
    expect(declares({})).toBe(false);
    expect(declares({ upsert_rows: [] })).toBe(false);
    expect(declares({ deletes: [1, 2] })).toBe(false);
    expect(declares({ deletes: ['a-string-id'] })).toBe(false);
    expect(declares({ patch_rows: [{ id: 1, a: 'x', n: 2 }] })).toBe(false);
    expect(declares({ patch_by_filter: { filters: ['id', 'Eq', 1], patch: { a: 'x' } } })).toBe(false);
  });

  it('should count a declared schema or metric', () => {
    expect(declares({ schema: { a: 'string' } })).toBe(true);
    expect(declares({ schema: { id: 'uuid' } })).toBe(true);
    expect(declares({ distance_metric: 'cosine_distance' })).toBe(true);
    expect(declares({ deletes: [1], schema: { b: 'int' } })).toBe(true);
    // Same attribute as a patch, but with an option inference never sets.
    expect(declares({ patch_rows: [{ id: 1, a: 'x' }], schema: { a: { type: 'string', full_text_search: true } } })).toBe(true);
  });
});
