import { describe, expect, it } from 'vitest';
import { BlockFileWriter, openBlockFile } from './block-file.js';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

describe('block file writer arena', () => {
  const extra = { rows: 1000, dims: 16, block_rows: 64 };
  const sizes = [4096, 4096, 1000, 17];

  /** The same blocks written plainly, and built in an arena (exact size from tailBytes). */
  function both(arenaBytes?: number, misplace = false) {
    const plain = new BlockFileWriter();
    sizes.forEach((n, i) => plain.add(bytes(n, i), i * 64));
    const body = sizes.reduce((a, b) => a + b, 0);
    const arena = new Uint8Array(arenaBytes ?? body + BlockFileWriter.tailBytes('vectors', sizes.length, true, extra));
    const w = new BlockFileWriter(arena);
    let at = 0;
    sizes.forEach((n, i) => {
      const view = misplace && i === 2 ? new Uint8Array(n) : arena.subarray(at, at + n);
      view.set(bytes(n, i));
      w.add(view, i * 64);
      at += n;
    });
    return { plain: plain.finish('vectors', extra), inArena: w.finish('vectors', extra), arena };
  }

  it('should write the same file in place, owning the whole arena when sized by tailBytes', () => {
    const { plain, inArena, arena } = both();
    expect(Buffer.compare(Buffer.from(inArena), Buffer.from(plain))).toBe(0);
    expect(inArena.buffer).toBe(arena.buffer);
    expect(inArena.byteLength).toBe(arena.buffer.byteLength);
    expect(openBlockFile(inArena, 'test').blocks.offset.length).toBe(sizes.length);
  });

  it('should fall back to a copy when a block is elsewhere or the tail does not fit', () => {
    for (const c of [both(undefined, true), both(sizes.reduce((a, b) => a + b, 0) + 10)]) {
      expect(Buffer.compare(Buffer.from(c.inArena), Buffer.from(c.plain))).toBe(0);
      expect(c.inArena.buffer).not.toBe(c.arena.buffer);
    }
  });
});
