import { describe, expect, it } from 'vitest';
import { Wasm } from '../core/wasm.js';
import { prefaultThread } from './prefault-thread.js';

describe('prefault thread', () => {
  it('touches every page of the queued ranges, in order, without changing what the memory holds', async () => {
    const t = prefaultThread();
    try {
      const memory = new Wasm.Memory({ initial: 4, maximum: 64, shared: true }); // 4 × 64 KiB
      const bytes = new Uint8Array(memory.buffer);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
      t.prefault(memory, 5000, 200_000); // pages 1 (4096..8191) through 48 (196608..200703): 48 pages
      t.prefault(memory, 10, 10); // empty: nothing
      expect(await t.drained()).toBe(48);
      (memory as unknown as { grow(pages: number): number }).grow(2); // the thread sees the grown memory on the next range
      t.prefault(memory, 6 * 65536 - 4096, 6 * 65536 + 100); // the last page; past the end is not touched
      expect(await t.drained()).toBe(49);
      const after = new Uint8Array(memory.buffer);
      for (let i = 0; i < 4 * 65536; i++) if (after[i] !== ((i * 31) & 0xff)) throw new Error(`byte ${i} changed`);
    } finally {
      await t.close();
    }
  });

  it('keeps a value the owner writes into a page while the thread touches it', async () => {
    const t = prefaultThread();
    try {
      const memory = new Wasm.Memory({ initial: 160, maximum: 160, shared: true }); // 10 MiB
      const words = new Int32Array(memory.buffer);
      t.prefault(memory, 0, words.length * 4);
      // Written meanwhile at the word the thread adds 0 to (each page's first): every write survives.
      for (let p = 0; p < words.length; p += 1024) words[p] = p + 1;
      await t.drained();
      for (let p = 0; p < words.length; p += 1024) expect(words[p]).toBe(p + 1);
    } finally {
      await t.close();
    }
  });
});
