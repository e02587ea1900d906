/**
 * Old data keeps reading (RFC-0004 goal 4): every committed golden store (test/fixtures/store-v*, one per part
 * format, written by test/fixtures/make-fixtures.ts and never regenerated) is opened by the current build and must
 * hold exactly the documents its history defines; then the current indexer and compaction take it over (v1 parts
 * are merged into current-format parts) and it must still read the same.
 */
import { describe, it, expect } from 'vitest';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { GOLDEN_NS, expectedRows } from './fixtures/golden.js';

const fixturesDir = path.join(import.meta.dirname, 'fixtures');
const stores = readdirSync(fixturesDir).filter((d) => d.startsWith('store-')).sort();

async function readAll(e: Engine) {
  const res = await e.query(GOLDEN_NS, { rank_by: ['id', 'asc'], top_k: 1000, include_attributes: true });
  return res.rows as Record<string, unknown>[];
}

async function checkReads(e: Engine) {
  // Vectors are stored as f32 and rendered with the shortest decimal that round-trips: the written 3-decimal values.
  const want = expectedRows();
  expect(await readAll(e)).toEqual(want);
  const count = await e.query(GOLDEN_NS, { aggregate_by: { n: ['Count'] } });
  expect(count.aggregations).toEqual({ n: want.length });
  const q = want[10]!.vector as number[];
  const ann = await e.query(GOLDEN_NS, { rank_by: ['vector', 'ANN', q], top_k: 5 });
  const knn = await e.query(GOLDEN_NS, { rank_by: ['vector', 'kNN', q], top_k: 5 });
  expect(ann.rows!.map((r) => r.id)).toEqual(knn.rows!.map((r) => r.id));
  expect(ann.rows![0]!.id).toBe(want[10]!.id);
  const fox = await e.query(GOLDEN_NS, { rank_by: ['title', 'BM25', 'fox'], top_k: 100 });
  const withFox = want.filter((r) => (r.title as string).split(' ').includes('fox')).map((r) => r.id).sort((a, b) => (a as number) - (b as number));
  expect(fox.rows!.map((r) => r.id).sort((a, b) => (a as number) - (b as number))).toEqual(withFox);
  const filtered = await e.query(GOLDEN_NS, { rank_by: ['id', 'asc'], top_k: 1000, filters: ['And', [['active', 'Eq', true], ['price', 'Gte', 20]]] });
  expect(filtered.rows!.map((r) => r.id)).toEqual(want.filter((r) => r.active === true && (r.price as number) >= 20).map((r) => r.id));
}

describe('golden fixtures of every part format', () => {
  it('should have at least the v1 store', () => {
    expect(stores).toContain('store-v1');
  });

  for (const dir of stores) {
    it(`should read ${dir} exactly, and after the current indexer and compaction take it over`, async () => {
      const tmp = mkdtempSync(path.join(tmpdir(), `elax-golden-${dir}-`));
      try {
        cpSync(path.join(fixturesDir, dir), tmp, { recursive: true });
        const store = new LocalDirStore(tmp);
        let t = Date.now();
        const clock = { now: () => (t += 1) };
        const e = new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
        const before = (await new RouterStore(store).read(GOLDEN_NS))!.router;
        expect(before.parts.length).toBeGreaterThanOrEqual(2);
        await checkReads(e);
        await new Indexer(store, { clock, nonce: () => 'now', hnsw: { flatThreshold: 8 } }).indexNamespace(GOLDEN_NS, true);
        await checkReads(new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 }));
        expect((await compactNamespace(store, GOLDEN_NS, { clock, nonce: () => 'cmp', force: true, hnsw: { flatThreshold: 8 } })).result).toBe('compacted');
        await checkReads(new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 }));
        await store.close();
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
});
