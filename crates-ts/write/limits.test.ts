import { describe, expect, it } from 'vitest';
import { DEFAULT_WRITE_LIMITS, resolveWriteLimits } from './limits.js';
import { Engine } from '../engine/index.js';
import { MemoryStore } from '../store/index.js';

describe('filter-write limits', () => {
  it("should default to turbopuffer's documented limits: 5M for delete_by_filter, 50k for patch_by_filter", () => {
    expect(DEFAULT_WRITE_LIMITS).toEqual({ deleteByFilterRows: 5_000_000, patchByFilterRows: 50_000 });
    // What an engine built without options enforces.
    const e = new Engine(new MemoryStore(), { clock: { now: () => 0 }, sleep: async () => {}, random: () => 0.5 });
    expect(e.writer.limits).toEqual({ deleteByFilterRows: 5_000_000, patchByFilterRows: 50_000 });
  });

  it('should take overrides one by one and refuse non-positive or fractional limits', () => {
    expect(resolveWriteLimits({ patchByFilterRows: 3 })).toEqual({ deleteByFilterRows: 5_000_000, patchByFilterRows: 3 });
    expect(() => resolveWriteLimits({ deleteByFilterRows: 0 })).toThrow(/deleteByFilterRows must be a positive integer, got 0/);
    expect(() => resolveWriteLimits({ patchByFilterRows: 1.5 })).toThrow(/patchByFilterRows must be a positive integer/);
  });
});
