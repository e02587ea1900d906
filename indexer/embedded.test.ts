import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startEmbeddedIndexer } from './embedded.js';

describe('embedded indexer supervision', () => {
  it('should restart a worker that crashes, with backoff, and stop cleanly', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'elax-embedded-'));
    try {
      // A worker that dies at once, like a native crash in an HNSW build would.
      const entry = path.join(dir, 'crashing-worker.mjs');
      writeFileSync(entry, "throw new Error('boom in worker');\n");
      const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
      const ix = startEmbeddedIndexer('memory://', {}, (msg, fields) => logs.push({ msg, fields }), {
        entry: pathToFileURL(entry),
        restartDelayMs: 10,
        maxRestartDelayMs: 40,
      });
      const deadline = Date.now() + 10_000;
      while (ix.restarts < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(ix.restarts).toBeGreaterThanOrEqual(3);
      const crashes = logs.filter((l) => l.msg === 'embedded indexer crashed; restarting');
      expect(crashes[0]!.fields!.error).toMatch(/boom in worker/);
      // Backoff doubles up to the cap.
      expect(crashes.slice(0, 4).map((c) => c.fields!.restart_in_ms)).toEqual([10, 20, 40, 40].slice(0, Math.min(4, crashes.length)));
      await ix.stop();
      const after = ix.restarts;
      await new Promise((r) => setTimeout(r, 100));
      expect(ix.restarts).toBe(after);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
