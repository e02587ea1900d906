import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareIds, type Doc, type Id } from '../core/index.js';
import { MemoryStore } from '../store/index.js';
import { BlockCache } from '../cache/index.js';
import { buildPartFiles, uploadPart, newPartId, readManifest, lookupIdsV2, encodeDeletionVector, decodeDeletionVector, deadOrdinals, type PartHeadV2 } from './index.js';

class CountingStore extends MemoryStore {
  ranged = 0;
  override async get(key: string, range?: { start: number; end: number }) {
    if (range) this.ranged++;
    return super.get(key, range);
  }
}

async function v2Part(store: MemoryStore, ids: Id[]): Promise<PartHeadV2> {
  const changes = new Map<Id, Doc | null>(ids.map((id) => [id, { id, vector: null, attrs: { x: String(id) } }]));
  const built = await buildPartFiles({ namespace: 'ns', partId: newPartId(1, 1, 'p'), walStart: 1, walEnd: 1, level: 0, changes, schema: {}, distanceMetric: null, createdAt: 'now', partFormat: 2 });
  await uploadPart(store, built);
  return (await readManifest(store, 'ns', built.manifest.part_id)) as PartHeadV2;
}

describe('id index lookups', () => {
  it('should find exactly the ids a part holds, at their ordinals, reading only the blocks that can hold them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.oneof(fc.nat({ max: 1e6 }), fc.string({ maxLength: 8 })), { minLength: 0, maxLength: 3000, selector: (x) => `${typeof x}${x}` }),
        fc.array(fc.oneof(fc.nat({ max: 1e6 }), fc.string({ maxLength: 8 })), { maxLength: 50 }),
        async (ids, probes) => {
          const store = new CountingStore();
          const head = await v2Part(store, ids);
          const sorted = [...ids].sort(compareIds);
          const asked = [...ids.slice(0, 20), ...probes];
          store.ranged = 0;
          const found = await lookupIdsV2(store, head, asked, new BlockCache(1 << 20));
          for (const id of asked) {
            const want = sorted.findIndex((x) => x === id);
            expect(found.get(id) ?? -1).toBe(want);
          }
          expect(store.ranged).toBeLessThanOrEqual(Math.min(head.idx.blocks.offset.length, asked.length));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('should serve repeated lookups from the block cache', async () => {
    const store = new CountingStore();
    const head = await v2Part(store, Array.from({ length: 5000 }, (_, i) => i * 2));
    const cache = new BlockCache(1 << 20);
    store.ranged = 0;
    await lookupIdsV2(store, head, [10, 4000, 9998], cache);
    const first = store.ranged;
    expect(first).toBe(3); // three different 1024-entry blocks
    expect(await lookupIdsV2(store, head, [10, 11, 9998], cache)).toEqual(new Map([[10, 5], [9998, 4999]]));
    expect(store.ranged).toBe(first);
  });
});

describe('deletion vectors', () => {
  it('should round-trip any dead set as a list or a bitmap, and refuse a DV for another row count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }).chain((rows) => fc.tuple(fc.constant(rows), fc.array(fc.nat({ max: rows - 1 }), { maxLength: 3000 }))), ([rows, dead]) => {
        const bytes = encodeDeletionVector(dead, rows);
        const { mask, count } = decodeDeletionVector(bytes, rows, 'dv');
        expect(deadOrdinals(mask)).toEqual([...new Set(dead)].sort((a, b) => a - b));
        expect(count).toBe(new Set(dead).size);
        expect(() => decodeDeletionVector(bytes, rows + 1, 'dv')).toThrow(/rows/);
      }),
    );
  });
});
