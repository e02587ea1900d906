/**
 * Namespace sharding (`sharding: {num_shards}` on the inaugural write, docs/rfcs/0013-sharding.md) through the
 * official client (@turbopuffer/turbopuffer 2.8.0): metadata, the 400s, and queries — vector kNN/ANN, BM25 (scores
 * included: statistics stay namespace-wide), filters, order-by, aggregations — equal to those of an unsharded twin
 * holding the same data, with rows in the WAL tail only, in per-shard parts, and in both (parts plus a tail with
 * patches and deletes), and after per-shard compaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Turbopuffer from '@turbopuffer/turbopuffer';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { loadPart } from '../crates-ts/part/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { execFile } from 'node:child_process';
import { ELAX_BIN, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let tpuf: Turbopuffer;
let store: LocalDirStore;
let n = 0;
const clock = { now: () => Date.now() };
/** Runs the elax CLI on the server's store; resolves with its exit code and output. */
function elax(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ELAX_BIN, ...args, '--store', server.storeDir], { timeout: 60_000 }, (err, stdout) => resolve({ code: err ? 1 : 0, stdout }));
  });
}
const index = (ns: string) => new Indexer(store, { clock, nonce: () => `sh${n++}`, hnsw: { flatThreshold: 16 } }).drain(ns);

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
  store = new LocalDirStore(server.storeDir);
});
afterAll(async () => {
  await store?.close();
  await server?.close();
});

type ClientError = { status: number; error: { code: string; error: string } };
async function rejected(p: Promise<unknown>): Promise<ClientError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as ClientError,
  );
  expect(err, 'the request was accepted').not.toBeNull();
  return err!;
}

const WORDS = ['puffer', 'fish', 'ocean', 'reef', 'spiny', 'blue', 'deep', 'swim', 'coral', 'tide'];
/** Deterministic documents: text from a small vocabulary (repeated words, varied lengths), a vector, attributes. */
function doc(id: number, gen = 0) {
  const len = 2 + ((id * 7 + gen) % 9);
  const text = Array.from({ length: len }, (_, i) => WORDS[(id * (i + 3) + gen + i * i) % WORDS.length]).join(' ');
  return { id, text, color: ['red', 'green', 'blue'][(id + gen) % 3]!, size: (id * 13 + gen) % 50, vector: [((id * 17) % 23) / 23 - 0.5, ((id * 5 + gen) % 11) / 11 - 0.5, ((id * 3) % 7) / 7] };
}
const schema = { text: { type: 'string', full_text_search: true }, color: { type: 'string' }, size: { type: 'uint' } } as const;

/** Every query shape the comparison runs, with what must be equal between the twins. */
const QUERIES: Record<string, unknown>[] = [
  { rank_by: ['id', 'asc'], top_k: 10_000, include_attributes: true },
  { rank_by: ['vector', 'kNN', [0.1, -0.2, 0.3]], top_k: 15, include_attributes: ['color'] },
  { rank_by: ['vector', 'ANN', [0.1, -0.2, 0.3]], top_k: 15, filters: ['color', 'Eq', 'red'] },
  { rank_by: ['text', 'BM25', 'puffer fish'], top_k: 20 },
  { rank_by: ['text', 'BM25', 'deep coral tide'], top_k: 30, filters: ['size', 'Lt', 30] },
  { rank_by: ['Sum', [['text', 'BM25', 'reef'], ['text', 'BM25', 'spiny blue']]], top_k: 25 },
  { rank_by: ['size', 'desc'], top_k: 12, filters: ['Or', [['color', 'In', ['green', 'blue']], ['text', 'ContainsAnyToken', 'ocean']]], include_attributes: ['size'] },
  { aggregate_by: { count: ['Count'], total: ['Sum', 'size'] }, filters: ['color', 'NotEq', 'blue'] },
  { aggregate_by: { count: ['Count'] }, group_by: ['color'] },
];

async function expectTwinsEqual(sharded: string, plain: string): Promise<void> {
  for (const q of QUERIES) {
    const a = await tpuf.namespace(sharded).query(q as never);
    const b = await tpuf.namespace(plain).query(q as never);
    expect(a.rows, JSON.stringify(q)).toEqual(b.rows);
    expect(a.aggregations, JSON.stringify(q)).toEqual(b.aggregations);
    expect(a.aggregation_groups, JSON.stringify(q)).toEqual(b.aggregation_groups);
  }
}

/** The same write to both twins (the sharded one got `sharding` on its first write). */
async function both(sharded: string, plain: string, body: Record<string, unknown>): Promise<void> {
  await tpuf.namespace(sharded).write(body as never);
  await tpuf.namespace(plain).write(body as never);
}

describe('namespace sharding through the client', () => {
  it('configures sharding on the inaugural write, reports it, and refuses to add or change it', async () => {
    const ns = tpuf.namespace('sh-meta');
    const res = await ns.write({ sharding: { num_shards: 4 }, upsert_rows: [{ id: 1, color: 'red' }] });
    expect(res.rows_affected).toBe(1);
    expect((await ns.metadata()).sharding).toEqual({ num_shards: 4 });
    // The same value again: a retried first write succeeds.
    await ns.write({ sharding: { num_shards: 4 }, upsert_rows: [{ id: 2, color: 'blue' }] });
    const changed = await rejected(ns.write({ sharding: { num_shards: 2 }, upsert_rows: [{ id: 3, color: 'green' }] }));
    expect(changed.status).toBe(400);
    expect(changed.error.code).toBe('ELAX_ERR_INVALID_REQUEST');
    expect(changed.error.error).toBe("sharding {num_shards: 2} differs from namespace 'sh-meta''s sharding {num_shards: 4}: sharding cannot be changed on an existing namespace");
    expect((await ns.query({ rank_by: ['id', 'asc'], top_k: 10 })).rows!.map((r) => r.id)).toEqual([1, 2]);

    const plain = tpuf.namespace('sh-plain');
    await plain.write({ upsert_rows: [{ id: 1, color: 'red' }] });
    expect((await plain.metadata()).sharding).toBeUndefined();
    const added = await rejected(plain.write({ sharding: { num_shards: 2 }, upsert_rows: [{ id: 2 }] }));
    expect(added.status).toBe(400);
    expect(added.error.error).toBe("sharding can only be configured on a namespace's inaugural write: namespace 'sh-plain' already exists and is not sharded");

    for (const [bad, msg] of [
      [{ num_shards: 0 }, 'sharding.num_shards must be an integer from 1 to 256, got 0'],
      [{ num_shards: 257 }, 'sharding.num_shards must be an integer from 1 to 256, got 257'],
      [{ num_shards: 1.5 }, 'sharding.num_shards must be an integer from 1 to 256, got 1.5'],
      [{}, 'sharding.num_shards is required'],
      [{ num_shards: 2, replicas: 3 }, "sharding: unknown key 'replicas'; valid keys: num_shards"],
    ] as const) {
      const err = await rejected(tpuf.namespace('sh-bad').write({ sharding: bad as never, upsert_rows: [{ id: 1 }] }));
      expect(err.status).toBe(400);
      expect(err.error.code).toBe('ELAX_ERR_INVALID_REQUEST');
      expect(err.error.error).toBe(msg);
    }
    // Nothing was created by the refused writes.
    expect((await rejected(tpuf.namespace('sh-bad').metadata())).status).toBe(404);

    // A write with only `sharding` creates the (empty) namespace, sharded; the next incarnation may choose again.
    const empty = tpuf.namespace('sh-empty');
    await empty.write({ sharding: { num_shards: 3 } });
    expect((await empty.metadata()).sharding).toEqual({ num_shards: 3 });
    expect((await empty.metadata()).approx_row_count).toBe(0);
    await empty.deleteAll();
    await empty.write({ sharding: { num_shards: 5 }, upsert_rows: [{ id: 9 }] });
    expect((await empty.metadata()).sharding).toEqual({ num_shards: 5 });
    await index('sh-empty');
    const r = (await new RouterStore(store).read('sh-empty'))!.router;
    expect(r.sharding).toEqual({ num_shards: 5 });
    expect(r.parts.map((p) => p.shard)).toHaveLength(1);
  });

  it('answers every query like an unsharded twin: tail only, per-shard parts, parts plus tail, after compaction', async () => {
    const S = 'sh-twin-4';
    const P = 'sh-twin-plain';
    await tpuf.namespace(S).write({ sharding: { num_shards: 4 }, distance_metric: 'cosine_distance', schema: schema as never });
    await tpuf.namespace(P).write({ distance_metric: 'cosine_distance', schema: schema as never });
    await both(S, P, { upsert_rows: Array.from({ length: 120 }, (_, i) => doc(i)) });
    await expectTwinsEqual(S, P); // WAL tail only

    await index(S);
    await index(P);
    const r1 = (await new RouterStore(store).read(S))!.router;
    expect(r1.format_version).toBe(4);
    expect(r1.sharding).toEqual({ num_shards: 4 });
    // One indexing pass built one part per shard, over the same WAL range, published together.
    expect(r1.parts.map((p) => p.shard)).toEqual([0, 1, 2, 3]);
    expect(new Set(r1.parts.map((p) => `${p.wal_start}..${p.wal_end}`)).size).toBe(1);
    expect(r1.parts.reduce((s, p) => s + p.rows, 0)).toBe(120);
    const manifest = (await loadPart(store, S, r1.parts[2]!.id, undefined, { lazy: true })).manifest;
    expect(manifest.shard).toBe(2);
    await expectTwinsEqual(S, P); // parts only

    // More writes: new rows, replacements, patches, deletes, a filter delete — partly indexed, partly in the tail.
    await both(S, P, { upsert_rows: Array.from({ length: 40 }, (_, i) => doc(100 + i, 1)) });
    await both(S, P, { patch_rows: [{ id: 5, color: 'blue' }, { id: 6, size: 49 }], deletes: [7, 8, 9] });
    await index(S);
    await index(P);
    await both(S, P, { delete_by_filter: ['size', 'Eq', 0] });
    await both(S, P, { upsert_rows: [doc(7, 2), doc(300, 2), doc(301, 3)], patch_by_filter: { filters: ['color', 'Eq', 'green'], patch: { size: 1 } } });
    await expectTwinsEqual(S, P); // parts and a tail

    // Per-shard compaction (forced merges one shard at a time) keeps every answer.
    for (let i = 0; i < 4; i++) await compactNamespace(store, S, { clock, nonce: () => `c${n++}`, force: true });
    await index(S);
    await index(P);
    const r2 = (await new RouterStore(store).read(S))!.router;
    expect(r2.parts.filter((p) => p.level > 0).length).toBeGreaterThanOrEqual(4);
    await expectTwinsEqual(S, P);

    const plan = await tpuf.namespace(S).explainQuery({ rank_by: ['id', 'asc'], top_k: 5, filters: ['color', 'Eq', 'red'] } as never);
    for (const s of [0, 1, 2, 3]) expect(plan.plan_text).toContain(`(shard ${s})`);
    const [ms, mp] = [await tpuf.namespace(S).metadata(), await tpuf.namespace(P).metadata()];
    expect(ms.approx_row_count).toBe(mp.approx_row_count);
    expect(ms.sharding).toEqual({ num_shards: 4 });
  });

  it('scores BM25 with namespace-wide statistics: the same scores as unsharded, whatever the split', async () => {
    const docs = Array.from({ length: 60 }, (_, i) => ({ id: `d${i}`, text: doc(i).text }));
    const names = ['sh-bm25-1', 'sh-bm25-7', 'sh-bm25-plain'];
    await tpuf.namespace(names[0]!).write({ sharding: { num_shards: 1 }, schema: { text: schema.text } as never, upsert_rows: docs });
    await tpuf.namespace(names[1]!).write({ sharding: { num_shards: 7 }, schema: { text: schema.text } as never, upsert_rows: docs });
    await tpuf.namespace(names[2]!).write({ schema: { text: schema.text } as never, upsert_rows: docs });
    for (const ns of names) await index(ns);
    // A few in the tail of each: statistics mix parts and tail.
    for (const ns of names) await tpuf.namespace(ns).write({ upsert_rows: [{ id: 'd3', text: 'puffer puffer reef' }, { id: 'x1', text: 'fish' }], deletes: ['d4'] });
    for (const q of ['puffer', 'reef fish', 'spiny blue deep tide']) {
      const [a, b, c] = await Promise.all(names.map((ns) => tpuf.namespace(ns).query({ rank_by: ['text', 'BM25', q], top_k: 100 })));
      expect(a!.rows!.length).toBeGreaterThan(0);
      expect(a!.rows).toEqual(c!.rows);
      expect(b!.rows).toEqual(c!.rows);
    }
    const parts = (await new RouterStore(store).read(names[1]!))!.router.parts;
    expect(new Set(parts.map((p) => p.shard)).size).toBeGreaterThan(3); // 60 ids really spread over the 7 shards
  });

  it('shows shards in `elax parts list`, `router show` and `status`, and `elax compact --all` merges every shard', async () => {
    const ns = 'sh-cli';
    await tpuf.namespace(ns).write({ sharding: { num_shards: 3 }, upsert_rows: Array.from({ length: 30 }, (_, i) => ({ id: i, color: 'red' })) });
    await index(ns);
    await tpuf.namespace(ns).write({ upsert_rows: Array.from({ length: 30 }, (_, i) => ({ id: i, color: 'blue' })) });
    await index(ns);
    const listed = await elax(['parts', 'list', '--ns', ns, '--json']);
    expect(listed.code).toBe(0);
    const parts = JSON.parse(listed.stdout) as { shard: number; wal_start: number }[];
    expect(parts.map((p) => [p.wal_start, p.shard])).toEqual([[1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2]]);
    const shown = await elax(['router', 'show', '--ns', ns]);
    expect(shown.stdout).toMatch(/sharding\s+3 shards/);
    expect(shown.stdout).toMatch(/\bshard\b/);
    const status = JSON.parse((await elax(['status', '--ns', ns, '--json'])).stdout) as { shards?: unknown }[];
    expect(status[0]!.shards).toEqual({ num_shards: 3, parts_per_shard: [2, 2, 2] });
    const compacted = await elax(['compact', '--ns', ns, '--all', '--json']);
    expect(compacted.code).toBe(0);
    const outs = JSON.parse(compacted.stdout) as { result: string; part?: { shard: number } }[];
    expect(outs.filter((o) => o.result === 'compacted').map((o) => o.part!.shard)).toEqual([0, 1, 2]);
    const after = (await new RouterStore(store).read(ns))!.router;
    expect(after.parts.map((p) => [p.wal_start, p.wal_end, p.shard, p.level])).toEqual([[1, 2, 0, 1], [1, 2, 1, 1], [1, 2, 2, 1]]);
    const rows = await tpuf.namespace(ns).query({ rank_by: ['id', 'asc'], top_k: 100, include_attributes: ['color'] });
    expect(rows.rows!.map((r) => [r.id, r.color])).toEqual(Array.from({ length: 30 }, (_, i) => [i, 'blue']));
  });
});
