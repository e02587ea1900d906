/**
 * branch_from_namespace and copy_from_namespace at the engine, GC and namespace-deletion level
 * (docs/rfcs/0011-copy-and-branch.md): a branch borrows its source's parts (clustered, with deletion vectors, BM25
 * postings and filter indexes) plus a copy of the unindexed tail; GC and deletion of the source keep what a branch
 * reads; deleting a branch leaves its source whole. Expectations come from a model map the test keeps, and BM25
 * scores from a reference namespace written with the model's documents (no parts, no branch).
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, type ObjectStore, branchRefsPrefix, codebookKey } from '../crates-ts/store/index.js';
import { RouterStore, type Router } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { gcNamespace } from '../indexer/gc.js';
import { ElaxError } from '../crates-ts/core/index.js';
import { makeTestS3Store } from './helpers/s3-env.js';

const MIN = 60_000;
const GRACE = 15 * MIN;

function testClock() {
  let t = Date.UTC(2026, 0, 1);
  return { now: () => t, advance: (ms: number) => (t += ms) };
}
type TestClock = ReturnType<typeof testClock>;

interface Doc {
  id: number;
  vector: number[];
  title: string;
  cat: string;
}

const WORDS = ['red', 'green', 'blue', 'apple', 'pear', 'plum', 'stone', 'river'];
function doc(id: number, gen = 0): Doc {
  const a = (id * 7 + gen * 3) % WORDS.length;
  const b = (id * 3 + gen) % WORDS.length;
  return { id, vector: [Math.cos(id + gen), Math.sin(id + gen), ((id * 13 + gen) % 17) / 17], title: `${WORDS[a]} ${WORDS[b]} ${id % 5 === 0 ? WORDS[a] : 'x'}`, cat: id % 3 === 0 ? 'a' : 'b' };
}

const SCHEMA = { title: { type: 'string', full_text_search: true }, cat: { type: 'string', filterable: true } };

function engineOn(store: ObjectStore, clock: TestClock) {
  return new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
}

let nonce = 0;
function indexerOn(store: ObjectStore, clock: TestClock) {
  return new Indexer(store, {
    clock,
    nonce: () => `n${nonce++}`,
    vectorIndex: { kind: 'ivf', minRows: 40, targetSize: 16, minSize: 8, maxSize: 32 },
    hnsw: { flatThreshold: 4 },
  });
}

class Model {
  docs = new Map<number, Doc>();
  async upsert(e: Engine, ns: string, docs: Doc[]) {
    await e.write(ns, { upsert_rows: docs, distance_metric: 'euclidean_squared', schema: SCHEMA });
    for (const d of docs) this.docs.set(d.id, d);
  }
  async delete(e: Engine, ns: string, ids: number[]) {
    await e.write(ns, { deletes: ids });
    for (const id of ids) this.docs.delete(id);
  }
  clone(): Model {
    const m = new Model();
    m.docs = new Map(this.docs);
    return m;
  }
}

async function contents(e: Engine, ns: string): Promise<Map<number, { title: string; cat: string }>> {
  const res = (await e.query(ns, { rank_by: ['id', 'asc'], top_k: 10_000, include_attributes: ['title', 'cat'] })) as unknown as { rows: { id: number; title: string; cat: string }[] };
  return new Map(res.rows.map((r) => [r.id, { title: r.title, cat: r.cat }]));
}

function expected(m: Model): Map<number, { title: string; cat: string }> {
  return new Map([...m.docs.values()].sort((a, b) => a.id - b.id).map((d) => [d.id, { title: d.title, cat: d.cat }]));
}

/** Same documents, same answers: rows, a filter (filter indexes), BM25 against a reference, ANN with exact distances. */
async function expectEquals(e: Engine, ns: string, m: Model, reference: string) {
  expect(await contents(e, ns)).toEqual(expected(m));
  const filtered = (await e.query(ns, { rank_by: ['id', 'asc'], top_k: 10_000, filters: ['cat', 'Eq', 'a'] })) as { rows: { id: number }[] };
  expect(filtered.rows.map((r) => r.id)).toEqual([...m.docs.values()].filter((d) => d.cat === 'a').map((d) => d.id).sort((a, b) => a - b));
  // BM25: the reference namespace holds exactly the model's documents in its WAL tail (no parts).
  await e.write(reference, { upsert_rows: [...m.docs.values()], distance_metric: 'euclidean_squared', schema: SCHEMA });
  const q = { rank_by: ['title', 'BM25', 'apple river'], top_k: 15 };
  const got = (await e.query(ns, q)) as { rows: { id: number; $dist: number }[] };
  const want = (await e.query(reference, q)) as { rows: { id: number; $dist: number }[] };
  expect(got.rows.map((r) => r.id)).toEqual(want.rows.map((r) => r.id));
  got.rows.forEach((r, i) => expect(r.$dist).toBeCloseTo(want.rows[i]!.$dist, 9));
  await e.deleteNamespace(reference);
  // ANN: every row returned is live, with its exact distance; most of the exact top 10 are found.
  const qv = [0.3, -0.2, 0.5];
  const ann = (await e.query(ns, { rank_by: ['vector', 'ANN', qv], top_k: 10 })) as { rows: { id: number; $dist: number }[] };
  const dist = (v: number[]) => v.reduce((s, x, i) => s + (x - qv[i]!) ** 2, 0);
  for (const r of ann.rows) {
    const d = m.docs.get(r.id);
    expect(d, `ANN returned ${r.id}, which is not live`).toBeDefined();
    expect(r.$dist).toBeCloseTo(dist(d!.vector), 4);
  }
  const exact = [...m.docs.values()].sort((a, b) => dist(a.vector) - dist(b.vector)).slice(0, 10).map((d) => d.id);
  expect(ann.rows.filter((r) => exact.includes(r.id)).length).toBeGreaterThanOrEqual(8);
}

const routerOf = async (store: ObjectStore, ns: string): Promise<Router> => (await new RouterStore(store).read(ns))!.router;

/** A source with two clustered parts (the first with a deletion vector) and a WAL tail with upserts and deletes. */
async function source(store: ObjectStore, clock: TestClock, ns: string): Promise<{ e: Engine; m: Model }> {
  const e = engineOn(store, clock);
  const m = new Model();
  const ix = indexerOn(store, clock);
  await m.upsert(e, ns, Array.from({ length: 60 }, (_, i) => doc(i)));
  await ix.indexNamespace(ns, true);
  await m.upsert(e, ns, Array.from({ length: 30 }, (_, i) => doc(40 + i, 1))); // 40..59 replaced: DVs in part 1
  await m.delete(e, ns, [1, 2, 3]);
  await ix.indexNamespace(ns, true);
  await m.upsert(e, ns, [doc(5, 2), doc(100), doc(101)]); // the tail
  await m.delete(e, ns, [7, 100]);
  const r = await routerOf(store, ns);
  expect(r.parts.length).toBe(2);
  expect(r.parts[0]!.deletes?.count).toBeGreaterThan(0);
  expect(r.parts.every((p) => p.index_kind === 'ivf')).toBe(true);
  expect(r.vindex).toBeDefined();
  // The branch's parts carry what queries use: filter indexes (RFC-0009) and BM25 postings.
  const files = (await store.list(`${ns}/parts/`)).objects.map((o) => o.key);
  expect(files.some((k) => /\/fidx-\d+\.blk$/.test(k))).toBe(true);
  expect(files.some((k) => k.endsWith('.postings'))).toBe(true);
  return { e, m };
}

describe('branch_from_namespace', () => {
  it('should borrow the source parts, copy the tail, isolate later writes both ways, and survive GC, compaction and deletion of the source', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock });
    const { e, m } = await source(store, clock, 'src');
    const srcRouter = await routerOf(store, 'src');
    const objectsBefore = (await store.list('')).objects.length;

    const res = (await e.write('br', { branch_from_namespace: 'src' })) as { status: string; rows_affected: number };
    expect(res.status).toBe('OK');
    expect(res.rows_affected).toBe(m.docs.size);
    const br = await routerOf(store, 'br');
    expect(br.format_version).toBe(3);
    expect(br.parts.map((p) => [p.id, p.home])).toEqual(srcRouter.parts.map((p) => [p.id, 'src']));
    expect(br.indexed_wal).toBe(srcRouter.indexed_wal);
    // O(1) in the data: the branch added its router, the tail entries (2), one deletion vector, the codebook and a reference.
    const added = (await store.list('')).objects.length - objectsBefore;
    expect(added).toBe(1 + 2 + srcRouter.parts.filter((p) => p.deletes).length + 1 + 1);
    expect((await store.list('br/parts/')).objects.every((o) => o.key.includes('/dv/'))).toBe(true);
    expect(await store.get(codebookKey('br', br.vindex!.codebook))).not.toBeNull();
    expect((await store.list(branchRefsPrefix('src'))).objects).toHaveLength(1);

    const bm = m.clone();
    await expectEquals(e, 'br', bm, 'ref1');
    // Later writes stay on their side.
    await m.upsert(e, 'src', [doc(200), doc(8, 5)]);
    await m.delete(e, 'src', [9]);
    await bm.upsert(e, 'br', [doc(300), doc(10, 6)]);
    await bm.delete(e, 'br', [11, 50]);
    expect(await contents(e, 'src')).toEqual(expected(m));
    expect(await contents(e, 'br')).toEqual(expected(bm));

    // The branch indexes its own tail: a part of its own, deletion vectors of borrowed parts under br/.
    const ix = indexerOn(store, clock);
    await ix.indexNamespace('br', true);
    const br2 = await routerOf(store, 'br');
    expect(br2.parts.filter((p) => p.home === undefined)).toHaveLength(1);
    expect((await store.list('src/parts/')).objects.filter((o) => o.lastModified > Date.parse(br.created_at))).toEqual([]);
    await expectEquals(e, 'br', bm, 'ref2');

    // The source compacts; past the grace, its GC keeps the parts the branch borrows.
    await ix.indexNamespace('src', true);
    clock.advance(MIN);
    const c = await compactNamespace(store, 'src', { clock, nonce: () => `c${nonce++}`, force: true, vectorIndex: { kind: 'ivf', minRows: 40, targetSize: 16, minSize: 8, maxSize: 32 } });
    expect(c.result).toBe('compacted');
    clock.advance(GRACE + MIN);
    const gc = await gcNamespace(store, 'src', { clock, partGraceMs: GRACE });
    expect(gc.borrowed.sort()).toEqual(srcRouter.parts.map((p) => p.id).sort());
    expect(gc.parts.filter((id) => srcRouter.parts.some((p) => p.id === id))).toEqual([]);
    expect(await contents(engineOn(store, clock), 'br')).toEqual(expected(bm));
    expect(await contents(e, 'src')).toEqual(expected(m));

    // Deleting the source leaves the branch answering (a fresh node: nothing cached).
    await e.deleteNamespace('src');
    clock.advance(GRACE + MIN);
    await gcNamespace(store, 'src', { clock, partGraceMs: GRACE });
    const fresh = engineOn(store, clock);
    await expectEquals(fresh, 'br', bm, 'ref3');
    await expect(fresh.query('src', { rank_by: ['id', 'asc'], top_k: 1 })).rejects.toMatchObject({ code: 'ELAX_ERR_NAMESPACE_NOT_FOUND' });

    // The branch compacts away what it borrowed: past the grace, the source's GC deletes the parts and the reference.
    const c2 = await compactNamespace(store, 'br', { clock, nonce: () => `c${nonce++}`, force: true, vectorIndex: { kind: 'ivf', minRows: 40, targetSize: 16, minSize: 8, maxSize: 32 } });
    expect(c2.result).toBe('compacted');
    expect((await routerOf(store, 'br')).parts.some((p) => p.home !== undefined)).toBe(false);
    clock.advance(MIN);
    const stillKept = await gcNamespace(store, 'src', { clock, partGraceMs: GRACE });
    expect(stillKept.borrowed.length).toBeGreaterThan(0); // retired by br a minute ago: a node may hold br's older router
    clock.advance(GRACE);
    expect((await gcNamespace(store, 'br', { clock, partGraceMs: GRACE })).homes).toEqual(['src']); // the loop visits deleted homes through this
    const last = await gcNamespace(store, 'src', { clock, partGraceMs: GRACE });
    expect(last.borrowed).toEqual([]);
    expect(last.refs).toHaveLength(1);
    expect((await store.list('src/parts/')).objects).toEqual([]);
    expect((await store.list(branchRefsPrefix('src'))).objects).toEqual([]);
    await expectEquals(engineOn(store, clock), 'br', bm, 'ref4');
  });

  it('should leave the source whole when the branch is deleted, and branch a branch (borrowing from the first home)', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock });
    const { e, m } = await source(store, clock, 's');
    await e.write('b1', { branch_from_namespace: { source_namespace: 's' } });
    const b1m = m.clone();
    await b1m.upsert(e, 'b1', [doc(400)]);
    await indexerOn(store, clock).indexNamespace('b1', true);
    await b1m.upsert(e, 'b1', [doc(401)]); // tail of b1
    await e.write('b2', { branch_from_namespace: 'b1' });
    const b2 = await routerOf(store, 'b2');
    expect([...new Set(b2.parts.map((p) => p.home))].sort()).toEqual(['b1', 's']);
    expect((await store.list(branchRefsPrefix('s'))).objects.map((o) => o.key.split('/')[2]).sort()).toEqual(['b1', 'b2']);
    await expectEquals(e, 'b2', b1m, 'r1');

    await e.deleteNamespace('b1');
    clock.advance(GRACE + MIN);
    await gcNamespace(store, 'b1', { clock, partGraceMs: GRACE });
    await gcNamespace(store, 's', { clock, partGraceMs: GRACE });
    const fresh = engineOn(store, clock);
    await expectEquals(fresh, 's', m, 'r2');
    await expectEquals(fresh, 'b2', b1m, 'r3');
  });
});

describe('copy_from_namespace', () => {
  it('should copy every part file and be independent of the source afterwards', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock });
    const { e, m } = await source(store, clock, 'src');
    const res = (await e.write('cp', { copy_from_namespace: 'src' })) as { rows_affected: number };
    expect(res.rows_affected).toBe(m.docs.size);
    const cp = await routerOf(store, 'cp');
    expect(cp.format_version).toBe(2);
    expect(cp.parts.every((p) => p.home === undefined)).toBe(true);
    expect((await store.list(branchRefsPrefix('src'))).objects).toEqual([]);
    const cm = m.clone();
    await m.upsert(e, 'src', [doc(500)]);
    await cm.upsert(e, 'cp', [doc(600)]);
    // The source is deleted and garbage-collected entirely: the copy still answers on a fresh node.
    await e.deleteNamespace('src');
    clock.advance(2 * GRACE);
    await gcNamespace(store, 'src', { clock, partGraceMs: GRACE, walRetentionMs: 0 });
    expect((await store.list('src/parts/')).objects).toEqual([]);
    expect((await store.list('src/wal/')).objects).toEqual([]);
    await expectEquals(engineOn(store, clock), 'cp', cm, 'r');
    await indexerOn(store, clock).indexNamespace('cp', true);
    await expectEquals(engineOn(store, clock), 'cp', cm, 'r2');
  });
});

describe('branch and copy while the source is written', () => {
  it.each(['branch', 'copy'] as const)('%s should equal the source at one WAL entry: every write acknowledged before it, none after', async (mode) => {
    const clock = testClock();
    const store = new MemoryStore({ clock });
    const { e, m } = await source(store, clock, 'src');
    const field = mode === 'branch' ? 'branch_from_namespace' : 'copy_from_namespace';
    // Writes acknowledged before the request: in. Writes landing between the branch point and its commit: out.
    await m.upsert(e, 'src', [doc(700)]);
    const before = m.clone();
    e.cloneHook = async () => {
      await e.write('src', { upsert_rows: [doc(701)], schema: SCHEMA });
      await e.write('src', { deletes: [0] });
    };
    await e.write('dst', { [field]: 'src' });
    e.cloneHook = undefined;
    expect(await contents(e, 'dst')).toEqual(expected(before));
    expect((await contents(e, 'src')).has(701)).toBe(true);

    // Concurrent writers (one id per write, in order): the destination holds a prefix of them that includes every
    // write acknowledged before the branch was asked for.
    const acked: number[] = [];
    let stop = false;
    const writer = (async () => {
      for (let id = 1000; !stop; id++) {
        await e.write('src', { upsert_rows: [doc(id)], schema: SCHEMA });
        acked.push(id);
        await new Promise((r) => setImmediate(r)); // the memory store never leaves the microtask queue otherwise
      }
    })();
    while (acked.length < 3) await new Promise((r) => setTimeout(r, 1));
    const ackedBefore = acked.length;
    await e.write('dst2', { [field]: 'src' });
    stop = true;
    await writer;
    const got = [...(await contents(e, 'dst2')).keys()].filter((id) => id >= 1000);
    expect(got.length).toBeGreaterThanOrEqual(ackedBefore);
    expect(got).toEqual(acked.slice(0, got.length));
  });
});

describe('errors', () => {
  it('should answer 404 for a missing or deleted source and 400 for bad requests, creating nothing', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock });
    const e = engineOn(store, clock);
    await e.write('src', { upsert_rows: [{ id: 1, x: 1 }] });
    await e.write('gone', { upsert_rows: [{ id: 1, x: 1 }] });
    await e.deleteNamespace('gone');
    const err = async (ns: string, body: unknown) => {
      try {
        await e.write(ns, body);
      } catch (x) {
        expect(x).toBeInstanceOf(ElaxError);
        return { code: (x as ElaxError).code, message: (x as ElaxError).message };
      }
      throw new Error('no error');
    };
    expect(await err('d', { branch_from_namespace: 'nope' })).toMatchObject({ code: 'ELAX_ERR_NAMESPACE_NOT_FOUND', message: expect.stringContaining("'nope'") });
    expect(await err('d', { copy_from_namespace: 'gone' })).toMatchObject({ code: 'ELAX_ERR_NAMESPACE_NOT_FOUND' });
    expect(await err('src', { branch_from_namespace: 'src' })).toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringContaining('destination itself') });
    expect(await err('d', { branch_from_namespace: 'bad/name' })).toMatchObject({ code: 'ELAX_ERR_INVALID_NAMESPACE' });
    expect(await err('d', { branch_from_namespace: 42 })).toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringContaining('branch_from_namespace must be') });
    expect(await err('d', { branch_from_namespace: { source: 'src' } })).toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringContaining("'source'") });
    expect(await err('d', { copy_from_namespace: { source_namespace: 'src', source_region: 'aws-us-east-1' } })).toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringContaining('source_region') });
    expect(await err('d', { branch_from_namespace: 'src', upsert_rows: [{ id: 2 }] })).toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringContaining('upsert_rows') });
    expect(await err('d', { branch_from_namespace: 'src', copy_from_namespace: 'src' })).toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST' });
    await e.write('d2', { upsert_rows: [{ id: 9, x: 9 }] });
    expect(await err('d2', { branch_from_namespace: 'src' })).toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringContaining('already exists') });
    expect(await err('gone', { copy_from_namespace: 'src' })).toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringContaining('deleted before') });
    expect((await store.list('d/')).objects).toEqual([]);
    expect((await store.list(branchRefsPrefix('src'))).objects).toEqual([]);

    // A branch that failed before its commit leaves objects but no namespace; the same request then succeeds.
    e.cloneHook = async () => {
      throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', 'injected failure before the commit');
    };
    expect(await err('retry', { branch_from_namespace: 'src' })).toMatchObject({ code: 'ELAX_ERR_STORE_UNAVAILABLE' });
    e.cloneHook = undefined;
    expect((await store.list('retry/wal/')).objects.length).toBeGreaterThan(0);
    await expect(e.query('retry', { rank_by: ['id', 'asc'], top_k: 10 })).rejects.toMatchObject({ code: 'ELAX_ERR_NAMESPACE_NOT_FOUND' });
    // Another source's objects under the same name are another request's: refused, not mixed.
    await e.write('other', { upsert_rows: [{ id: 5, x: 5 }] });
    expect(await err('retry', { copy_from_namespace: 'other' })).toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringContaining('another request') });
    await e.write('retry', { branch_from_namespace: 'src' });
    const everything = (ns: string) => e.query(ns, { rank_by: ['id', 'asc'], top_k: 100, include_attributes: true }).then((r) => r.rows);
    expect(await everything('retry')).toEqual([{ id: 1, x: 1 }]);
    expect(await everything('retry')).toEqual(await everything('src'));
  });
});

describe('golden branch store (test/fixtures/store-v3-branch, router format 3)', () => {
  it('should parse as format 3 with homes, keep its borrowed parts through GC of the deleted home, and answer', async () => {
    const { cpSync, mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { LocalDirStore } = await import('../crates-ts/store/index.js');
    const tmp = mkdtempSync(path.join(tmpdir(), 'elax-golden-branch-'));
    try {
      cpSync(path.join(import.meta.dirname, 'fixtures/store-v3-branch'), tmp, { recursive: true });
      const store = new LocalDirStore(tmp);
      const r = await routerOf(store, 'golden');
      expect(r.format_version).toBe(3);
      expect(r.parts.map((p) => p.home)).toEqual(['golden-home', 'golden-home']);
      expect((await routerOf(store, 'golden-home')).deleted).toBeDefined();
      expect((await store.list(branchRefsPrefix('golden-home'))).objects.map((o) => o.key)).toEqual(['golden-home/refs/golden/golden-ref0.json']);
      const clock = { now: () => Date.now() };
      const gc = await gcNamespace(store, 'golden-home', { clock, partGraceMs: 0 });
      expect(gc.borrowed.sort()).toEqual(r.parts.map((p) => p.id).sort());
      const e = engineOn(store, { now: () => Date.now(), advance: () => 0 });
      const res = await e.query('golden', { aggregate_by: { n: ['Count'] } });
      const { expectedRows } = await import('./fixtures/golden.js');
      expect(res.aggregations).toEqual({ n: expectedRows().length });
      await store.close();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('on S3 (radosgw)', () => {
  it('should branch and copy a namespace with clustered parts and a tail, and keep the branch answering after the source is deleted', async () => {
    const store = makeTestS3Store('branch');
    const clock = { now: () => Date.now(), advance: (ms: number) => ms };
    try {
      const { e, m } = await source(store, clock, 'src');
      await e.write('br', { branch_from_namespace: 'src' });
      await e.write('cp', { copy_from_namespace: { source_namespace: 'src' } });
      const bm = m.clone();
      await bm.upsert(e, 'br', [doc(900)]);
      await m.upsert(e, 'src', [doc(901)]);
      expect((await contents(e, 'src')).has(900)).toBe(false);
      await e.deleteNamespace('src');
      const fresh = engineOn(store, clock);
      await expectEquals(fresh, 'br', bm, 's3ref1');
      const cm = bm.clone();
      cm.docs.delete(900);
      await expectEquals(fresh, 'cp', cm, 's3ref2');
      expect((await store.list('src/parts/')).objects.length).toBeGreaterThan(0); // kept for the branch
    } finally {
      await store.close();
    }
  });
});
