import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PREFAULT_PIECE_BYTES, prefaultInPieces } from './engine.js';
import type { WasmMemory } from '../core/index.js';

describe('prefaultInPieces', () => {
  it('hands every requested byte range over exactly, in order, one piece of at most PREFAULT_PIECE_BYTES at a time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(3 * PREFAULT_PIECE_BYTES), fc.nat(3 * PREFAULT_PIECE_BYTES)), { maxLength: 6 }), async (ranges) => {
        const memories = ranges.map(() => ({}) as WasmMemory);
        const seen: { m: number; from: number; to: number }[] = [];
        let running = 0;
        const prefault = prefaultInPieces(async (memory, from, to) => {
          expect(running).toBe(0);
          running++;
          await new Promise((r) => setImmediate(r));
          running--;
          seen.push({ m: memories.indexOf(memory), from, to });
        });
        ranges.forEach(([a, len], i) => prefault(memories[i]!, a, a + len));
        while (seen.reduce((s, p) => s + p.to - p.from, 0) < ranges.reduce((s, [, len]) => s + len, 0)) await new Promise((r) => setImmediate(r));
        const expected: { m: number; from: number; to: number }[] = [];
        ranges.forEach(([a, len], i) => {
          for (let f = a; f < a + len; f += PREFAULT_PIECE_BYTES) expected.push({ m: i, from: f, to: Math.min(a + len, f + PREFAULT_PIECE_BYTES) });
        });
        expect(seen).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });
});
