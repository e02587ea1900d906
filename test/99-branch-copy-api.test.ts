/**
 * branchFrom / copyFrom and write({branch_from_namespace | copy_from_namespace}) through the official client
 * (@turbopuffer/turbopuffer 2.8.0) against a test server (docs/rfcs/0011-copy-and-branch.md). The source has indexed
 * parts (built by an indexer on the server's store) and a WAL tail; expectations come from a model the test keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Turbopuffer from '@turbopuffer/turbopuffer';
import { LocalDirStore, branchRefsPrefix } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { gcNamespace } from '../indexer/gc.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let tpuf: Turbopuffer;
let store: LocalDirStore;
let n = 0;
const clock = { now: () => Date.now() };
const index = (ns: string) => new Indexer(store, { clock, nonce: () => `api${n++}`, hnsw: { flatThreshold: 4 } }).indexNamespace(ns, true);

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
  store = new LocalDirStore(server.storeDir);
});
afterAll(async () => {
  await store?.close();
  await server?.close();
});

type Row = { id: number; color: string; v: number[] };
const row = (id: number, gen = 0): Row => ({ id, color: ['red', 'green', 'blue'][(id + gen) % 3]!, v: [id % 7, (id * 3 + gen) % 5] });

async function all(ns: string): Promise<Map<number, string>> {
  const res = await tpuf.namespace(ns).query({ rank_by: ['id', 'asc'], top_k: 10_000, include_attributes: ['color'] });
  return new Map((res.rows ?? []).map((r) => [r.id as number, r.color as string]));
}
const asMap = (m: Map<number, Row>) => new Map([...m.values()].sort((a, b) => a.id - b.id).map((r) => [r.id, r.color]));

async function sourceWithPartsAndTail(ns: string): Promise<Map<number, Row>> {
  const model = new Map<number, Row>();
  const src = tpuf.namespace(ns);
  const up = async (rows: Row[]) => {
    await src.write({ upsert_rows: rows.map((r) => ({ id: r.id, color: r.color, vector: r.v })), distance_metric: 'euclidean_squared' });
    for (const r of rows) model.set(r.id, r);
  };
  await up(Array.from({ length: 30 }, (_, i) => row(i)));
  await index(ns);
  await up(Array.from({ length: 10 }, (_, i) => row(20 + i, 1)));
  await src.write({ deletes: [0, 1] });
  model.delete(0);
  model.delete(1);
  await index(ns);
  await up([row(2, 2), row(100)]); // the tail
  await src.write({ deletes: [3] });
  model.delete(3);
  expect((await new RouterStore(store).read(ns))!.router.parts).toHaveLength(2);
  return model;
}

describe('branchFrom and copyFrom through the client', () => {
  it('should branch a namespace with parts and a tail, keep later writes apart, and answer after the source is compacted, collected and deleted', async () => {
    const model = await sourceWithPartsAndTail('api-src');
    const res = await tpuf.namespace('api-br').branchFrom({ source_namespace: 'api-src' });
    expect(res.status).toBe('OK');
    expect(res.rows_affected).toBe(model.size);
    expect(typeof res.message).toBe('string');
    expect(res.billing).toBeDefined();
    const bm = new Map(model);
    expect(await all('api-br')).toEqual(asMap(bm));
    const meta = await tpuf.namespace('api-br').metadata();
    expect(meta.approx_row_count).toBe(model.size);
    expect(Object.keys(meta.schema ?? {}).sort()).toEqual(Object.keys((await tpuf.namespace('api-src').metadata()).schema ?? {}).sort());

    await tpuf.namespace('api-src').write({ upsert_rows: [{ id: 500, color: 'red', vector: [1, 1] }], deletes: [4] });
    model.set(500, { id: 500, color: 'red', v: [1, 1] });
    model.delete(4);
    await tpuf.namespace('api-br').write({ upsert_rows: [{ id: 600, color: 'blue', vector: [50, 50] }], deletes: [5] });
    bm.set(600, { id: 600, color: 'blue', v: [50, 50] });
    bm.delete(5);
    expect(await all('api-src')).toEqual(asMap(model));
    expect(await all('api-br')).toEqual(asMap(bm));

    // Filters and ANN on the branch, over borrowed parts and its own tail.
    const blue = await tpuf.namespace('api-br').query({ rank_by: ['id', 'asc'], top_k: 1000, filters: ['color', 'Eq', 'blue'] });
    expect((blue.rows ?? []).map((r) => r.id)).toEqual([...bm.values()].filter((r) => r.color === 'blue').map((r) => r.id).sort((a, b) => a - b));
    const ann = await tpuf.namespace('api-br').query({ rank_by: ['vector', 'ANN', [50, 50]], top_k: 3 });
    expect(ann.rows?.[0]?.id).toBe(600); // distance 0
    for (const r of ann.rows ?? []) expect(bm.has(r.id as number)).toBe(true);

    // The source compacts and is collected (zero grace: only the branch's references keep its parts), then deleted.
    await index('api-src');
    expect((await compactNamespace(store, 'api-src', { clock, nonce: () => `c${n++}`, force: true, hnsw: { flatThreshold: 4 } })).result).toBe('compacted');
    const gc = await gcNamespace(store, 'api-src', { clock, partGraceMs: 0 });
    expect(gc.borrowed).toHaveLength(2);
    expect(await all('api-br')).toEqual(asMap(bm));
    await tpuf.namespace('api-src').deleteAll();
    await gcNamespace(store, 'api-src', { clock, partGraceMs: 0 });
    expect(await all('api-br')).toEqual(asMap(bm));
    await expect(tpuf.namespace('api-src').query({ rank_by: ['id', 'asc'], top_k: 1 })).rejects.toMatchObject({ status: 404 });

    // The branch itself deleted: the source's references stop protecting anything.
    await tpuf.namespace('api-br').deleteAll();
    const after = await gcNamespace(store, 'api-src', { clock, partGraceMs: 0 });
    expect(after.borrowed).toEqual([]);
    expect((await store.list('api-src/parts/')).objects).toEqual([]);
    expect((await store.list(branchRefsPrefix('api-src'))).objects).toEqual([]);
  });

  it('should copy with copyFrom and with write({copy_from_namespace}), independent of the source', async () => {
    const model = await sourceWithPartsAndTail('api-csrc');
    const res = await tpuf.namespace('api-cp').copyFrom({ source_namespace: 'api-csrc' });
    expect(res.rows_affected).toBe(model.size);
    const res2 = await tpuf.namespace('api-cp2').write({ copy_from_namespace: 'api-csrc' });
    expect(res2.rows_affected).toBe(model.size);
    const res3 = await tpuf.namespace('api-br2').write({ branch_from_namespace: 'api-csrc' });
    expect(res3.rows_affected).toBe(model.size);
    await tpuf.namespace('api-csrc').deleteAll();
    await gcNamespace(store, 'api-csrc', { clock, partGraceMs: 0, walRetentionMs: 0 });
    for (const ns of ['api-cp', 'api-cp2', 'api-br2']) expect(await all(ns)).toEqual(asMap(model));
  });

  it('should branch and copy while clients write to the source: a prefix of the writes, including every one acknowledged before', async () => {
    await sourceWithPartsAndTail('api-busy');
    // Each round writes ids of its own (base): the copy round's source also holds every id the branch round wrote.
    for (const [round, [dest, op]] of ([['api-busy-br', 'branchFrom'], ['api-busy-cp', 'copyFrom']] as const).entries()) {
      const base = 10_000 + round * 1_000_000;
      const acked: number[] = [];
      const startedAfter: number[] = [];
      let stop = false;
      let branched = false;
      const writers = [0, 1].map(async (w) => {
        for (let k = 0; !stop || startedAfter.length < 2; k++) {
          const id = base + w * 100_000 + k;
          if (branched) startedAfter.push(id);
          await tpuf.namespace('api-busy').write({ upsert_rows: [{ id, color: 'red', vector: [0, 0] }] });
          acked.push(id);
        }
      });
      while (acked.length < 4) await new Promise((r) => setTimeout(r, 2));
      const before = new Set(acked);
      await tpuf.namespace(dest)[op]({ source_namespace: 'api-busy' });
      branched = true;
      stop = true;
      await Promise.all(writers);
      const got = [...(await all(dest)).keys()].filter((id) => id >= base && id < base + 1_000_000);
      for (const id of before) expect(got).toContain(id);
      for (const id of startedAfter) expect(got).not.toContain(id);
      // Per writer, the ids in the destination are a prefix of what that writer wrote (writes are sequential per writer).
      for (const w of [0, 1]) {
        const mine = got.filter((id) => id >= base + w * 100_000 && id < base + (w + 1) * 100_000).sort((a, b) => a - b);
        expect(mine).toEqual(mine.map((_, i) => base + w * 100_000 + i));
      }
    }
  });

  it('should be seen by another server on the same store: the branch exists there at once, and each side stays apart', async () => {
    const other = await startTestServer({ storeDir: server.storeDir });
    try {
      const b = other.client();
      const model = await sourceWithPartsAndTail('api-two');
      // The other node caches a view of the source first.
      expect((await b.namespace('api-two').query({ rank_by: ['id', 'asc'], top_k: 1000 })).rows).toHaveLength(model.size);
      await tpuf.namespace('api-two-br').branchFrom({ source_namespace: 'api-two' });
      const res = await b.namespace('api-two-br').query({ rank_by: ['id', 'asc'], top_k: 1000, include_attributes: ['color'] });
      expect(new Map((res.rows ?? []).map((r) => [r.id as number, r.color as string]))).toEqual(asMap(model));
      await b.namespace('api-two').write({ upsert_rows: [{ id: 777, color: 'red', vector: [7, 7] }] });
      await b.namespace('api-two-br').write({ deletes: [2] });
      expect((await all('api-two')).has(777)).toBe(true);
      expect((await all('api-two')).has(2)).toBe(true);
      expect((await all('api-two-br')).has(777)).toBe(false);
      expect((await all('api-two-br')).has(2)).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('should answer 404 for a missing source and 400 naming the problem otherwise', async () => {
    await tpuf.namespace('api-e-src').write({ upsert_rows: [{ id: 1, x: 1 }] });
    const fail = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        return e as { status: number; message: string };
      }
      throw new Error('expected an error');
    };
    const missing = await fail(tpuf.namespace('api-e-dst').branchFrom({ source_namespace: 'api-e-none' }));
    expect(missing.status).toBe(404);
    expect(missing.message).toContain('api-e-none');
    expect((await fail(tpuf.namespace('api-e-dst').copyFrom({ source_namespace: 'api-e-none' }))).status).toBe(404);
    const self = await fail(tpuf.namespace('api-e-src').branchFrom({ source_namespace: 'api-e-src' }));
    expect(self.status).toBe(400);
    expect(self.message).toContain('destination itself');
    const bad = await fail(tpuf.namespace('api-e-dst').copyFrom({ source_namespace: 'no spaces' }));
    expect(bad.status).toBe(400);
    expect(bad.message).toContain('invalid namespace name');
    const exists = await fail(tpuf.namespace('api-e-src').copyFrom({ source_namespace: 'api-e-src2' }));
    expect(exists.status).toBe(404);
    await tpuf.namespace('api-e-src2').write({ upsert_rows: [{ id: 1, x: 1 }] });
    const nonEmpty = await fail(tpuf.namespace('api-e-src').copyFrom({ source_namespace: 'api-e-src2' }));
    expect(nonEmpty.status).toBe(400);
    expect(nonEmpty.message).toContain('already exists');
    await expect(tpuf.namespace('api-e-dst').metadata()).rejects.toMatchObject({ status: 404 });
  });
});
