/**
 * turbopuffer's documented limits, exactly at the limit and one above:
 *  - delete_by_filter changes at most 5M documents and patch_by_filter 50k per request (write docs, rows_remaining;
 *    limits page). Above the limit: a 400 that writes nothing, or with *_allow_partial exactly the limit and
 *    `rows_remaining: true`. Exercised with small injected limits (EngineOptions.writeLimits); the real defaults are
 *    checked in crates-ts/write/limits.test.ts.
 *  - top_k / limit.total up to 10,000 (limits page "Max limit.total: 10k"; the export recipe pages with 10,000).
 *  - request bodies up to 512 MiB (write docs: "payload size of up to 512 MB"), admitted by the in-flight budget.
 * Through the official client where the response shape matters.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startMemoryApp } from './helpers/memory-app.js';
import { rawConnect, postHead } from './helpers/raw-http.js';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';

const DELETE_LIMIT = 5;
const PATCH_LIMIT = 3;

let server: TestServer;
let tpuf: Turbopuffer;

beforeAll(async () => {
  server = await startTestServer({ indexer: false, writeLimits: { deleteByFilterRows: DELETE_LIMIT, patchByFilterRows: PATCH_LIMIT } });
  tpuf = server.client();
});
afterAll(async () => {
  await server.close();
});

type Ns = ReturnType<Turbopuffer['namespace']>;
type ApiError = { status: number; error: { code: string; error: string } };

/** A namespace of ids 0..n-1 with k = 'm' (matches) for the first `matching`, 'x' for the rest. */
async function seeded(name: string, n: number, matching: number): Promise<Ns> {
  const ns = tpuf.namespace(name);
  await ns.write({ upsert_columns: { id: Array.from({ length: n }, (_, i) => i), k: Array.from({ length: n }, (_, i) => (i < matching ? 'm' : 'x')) } });
  return ns;
}

async function state(ns: Ns): Promise<{ id: unknown; k?: unknown }[]> {
  return (await ns.query({ rank_by: ['id', 'asc'], include_attributes: ['k'], top_k: 1000 })).rows!;
}

const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as ApiError);

describe('patch_by_filter limit', () => {
  it('should patch exactly the limit without allow_partial (no rows_remaining)', async () => {
    const ns = await seeded('pbf-at', 6, PATCH_LIMIT);
    const res = await ns.write({ patch_by_filter: { filters: ['k', 'Eq', 'm'], patch: { k: 'p' } } });
    expect(res.rows_patched).toBe(PATCH_LIMIT);
    expect(res.rows_remaining).toBeUndefined();
    expect((await state(ns)).filter((r) => r.k === 'p').map((r) => r.id)).toEqual([0, 1, 2]);
  });

  it('should reject one above the limit without allow_partial and patch nothing', async () => {
    const ns = await seeded('pbf-over', 6, PATCH_LIMIT + 1);
    const before = await state(ns);
    const err = await failure(ns.write({ patch_by_filter: { filters: ['k', 'Eq', 'm'], patch: { k: 'p' } }, upsert_rows: [{ id: 100, k: 'new' }] }));
    expect(err?.status).toBe(400);
    expect(err?.error.code).toBe('ELAX_ERR_FILTER_WRITE_LIMIT');
    expect(err?.error.error).toBe(
      `patch_by_filter matches more than ${PATCH_LIMIT} documents, the most one request may patch; nothing was written. Set patch_by_filter_allow_partial to patch ${PATCH_LIMIT} per request and repeat while the response says rows_remaining: true`,
    );
    expect(await state(ns)).toEqual(before); // the upsert of the same request did not happen either
  });

  it('should patch exactly the limit with allow_partial and say rows_remaining: false at the limit', async () => {
    const ns = await seeded('pbf-partial-at', 6, PATCH_LIMIT);
    const res = await ns.write({ patch_by_filter: { filters: ['k', 'Eq', 'm'], patch: { k: 'p' } }, patch_by_filter_allow_partial: true });
    expect(res).toMatchObject({ rows_patched: PATCH_LIMIT, rows_remaining: false });
  });

  it('should patch the limit and say rows_remaining: true one above, then finish on the next request', async () => {
    const ns = await seeded('pbf-partial-over', 6, PATCH_LIMIT + 1);
    const body = { patch_by_filter: { filters: ['k', 'Eq', 'm'] as ['k', 'Eq', string], patch: { k: 'p' } }, patch_by_filter_allow_partial: true, return_affected_ids: true };
    const first = await ns.write(body);
    expect(first).toMatchObject({ rows_patched: PATCH_LIMIT, rows_remaining: true, patched_ids: [0, 1, 2] });
    const second = await ns.write(body);
    expect(second).toMatchObject({ rows_patched: 1, rows_remaining: false, patched_ids: [3] });
    expect((await state(ns)).map((r) => r.k)).toEqual(['p', 'p', 'p', 'p', 'x', 'x']);
  });
});

describe('delete_by_filter limit', () => {
  it('should delete exactly the limit without allow_partial', async () => {
    const ns = await seeded('dbf-at', 8, DELETE_LIMIT);
    const res = await ns.write({ delete_by_filter: ['k', 'Eq', 'm'] });
    expect(res.rows_deleted).toBe(DELETE_LIMIT);
    expect(res.rows_remaining).toBeUndefined();
    expect((await state(ns)).map((r) => r.id)).toEqual([5, 6, 7]);
  });

  it('should reject one above the limit without allow_partial and delete nothing', async () => {
    const ns = await seeded('dbf-over', 8, DELETE_LIMIT + 1);
    const before = await state(ns);
    const err = await failure(ns.write({ delete_by_filter: ['k', 'Eq', 'm'] }));
    expect(err?.status).toBe(400);
    expect(err?.error.code).toBe('ELAX_ERR_FILTER_WRITE_LIMIT');
    expect(err?.error.error).toMatch(new RegExp(`^delete_by_filter matches more than ${DELETE_LIMIT} documents.*delete_by_filter_allow_partial`));
    expect(await state(ns)).toEqual(before);
  });

  it('should delete exactly the limit with allow_partial: rows_remaining false at the limit, true one above', async () => {
    const at = await seeded('dbf-partial-at', 8, DELETE_LIMIT);
    expect(await at.write({ delete_by_filter: ['k', 'Eq', 'm'], delete_by_filter_allow_partial: true })).toMatchObject({ rows_deleted: DELETE_LIMIT, rows_remaining: false });
    const over = await seeded('dbf-partial-over', 8, DELETE_LIMIT + 1);
    const first = await over.write({ delete_by_filter: ['k', 'Eq', 'm'], delete_by_filter_allow_partial: true, return_affected_ids: true });
    expect(first).toMatchObject({ rows_deleted: DELETE_LIMIT, rows_remaining: true, deleted_ids: [0, 1, 2, 3, 4] });
    const second = await over.write({ delete_by_filter: ['k', 'Eq', 'm'], delete_by_filter_allow_partial: true });
    expect(second).toMatchObject({ rows_deleted: 1, rows_remaining: false });
    expect((await state(over)).map((r) => r.id)).toEqual([6, 7]);
  });

  it('should apply each limit to its own operation (the patch limit does not bound deletes)', async () => {
    const ns = await seeded('dbf-own', 8, DELETE_LIMIT);
    expect(DELETE_LIMIT).toBeGreaterThan(PATCH_LIMIT);
    expect((await ns.write({ delete_by_filter: ['k', 'Eq', 'm'] })).rows_deleted).toBe(DELETE_LIMIT);
  });

  it('should not patch rows the same request deletes by filter, also when the delete stops at its limit', async () => {
    // ids 0..7 match the delete; with allow_partial it takes 0..4, so 5..7 survive and are patched, as are 8, 9.
    const ns = tpuf.namespace('dbf-and-pbf');
    await ns.write({ upsert_columns: { id: Array.from({ length: 10 }, (_, i) => i), k: Array.from({ length: 10 }, (_, i) => (i < 8 ? 'd' : 'x')) } });
    const res = await ns.write({
      delete_by_filter: ['k', 'Eq', 'd'],
      delete_by_filter_allow_partial: true,
      patch_by_filter: { filters: ['id', 'Gte', 4], patch: { k: 'p' } },
      patch_by_filter_allow_partial: true,
      return_affected_ids: true,
    });
    // The patch matches 5..9 (4 is deleted): more than its limit of 3, so it takes 5, 6, 7.
    expect(res).toMatchObject({ rows_deleted: 5, deleted_ids: [0, 1, 2, 3, 4], rows_patched: 3, patched_ids: [5, 6, 7], rows_remaining: true });
    expect(await state(ns)).toEqual([
      { id: 5, k: 'p' },
      { id: 6, k: 'p' },
      { id: 7, k: 'p' },
      { id: 8, k: 'x' },
      { id: 9, k: 'x' },
    ]);
  });
});

describe('filter writes queued together', () => {
  it('should resolve each filter write on the state the requests before it left (never coalesced behind another)', async () => {
    const e = new Engine(new MemoryStore(), {
      clock: { now: () => Date.now() },
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: Math.random,
      groupCommitMs: 20,
      writeLimits: { deleteByFilterRows: DELETE_LIMIT },
    });
    try {
      await e.write('g', { upsert_columns: { id: Array.from({ length: 12 }, (_, i) => i), k: Array.from({ length: 12 }, () => 'm') } });
      // Queued in this order within one group-commit window.
      const body = { delete_by_filter: ['k', 'Eq', 'm'], delete_by_filter_allow_partial: true };
      const [a, b, c] = await Promise.all([e.write('g', body), e.write('g', { deletes: [11] }), e.write('g', body)]);
      expect(a).toMatchObject({ rows_deleted: 5, rows_remaining: true });
      expect(b).toMatchObject({ rows_deleted: 1 });
      // 12 - 5 - 1 = 6 left: the second delete takes 5 of them and there is one more.
      expect(c).toMatchObject({ rows_deleted: 5, rows_remaining: true });
      const left = await e.query('g', { rank_by: ['id', 'asc'] });
      expect(left.rows).toEqual([{ id: 10 }]);
    } finally {
      await e.close();
    }
  });
});

describe('top_k / limit.total', () => {
  it('should return 10,000 rows and page through a namespace 10,000 at a time, as the export recipe does', async () => {
    const n = 10_005;
    const ns = tpuf.namespace('topk');
    await ns.write({ upsert_columns: { id: Array.from({ length: n }, (_, i) => i * 2) } });
    const first = await ns.query({ rank_by: ['id', 'asc'], top_k: 10_000 });
    expect(first.rows).toHaveLength(10_000);
    expect(first.rows![9_999]!.id).toBe(9_999 * 2);
    const next = await ns.query({ rank_by: ['id', 'asc'], limit: { total: 10_000 }, filters: ['id', 'Gt', 9_999 * 2] });
    expect(next.rows!.map((r) => r.id)).toEqual([10_000, 10_001, 10_002, 10_003, 10_004].map((i) => i * 2));
  });

  it('should reject 10,001', async () => {
    const ns = tpuf.namespace('topk');
    for (const q of [{ top_k: 10_001 }, { limit: { total: 10_001 } }, { limit: 10_001 }]) {
      const err = await failure(ns.query({ rank_by: ['id', 'asc'], ...q }));
      expect(err?.status).toBe(400);
      expect(err?.error.code).toBe('ELAX_ERR_INVALID_QUERY');
      expect(err?.error.error).toMatch(/10001 exceeds the maximum of 10000/);
    }
  });
});

describe('request body size', () => {
  it('should take bodies up to 512 MiB by default: a larger declared body is a 413 naming that limit', async () => {
    const app = await startMemoryApp();
    try {
      const c = await rawConnect(app.port);
      c.sock.write(postHead('/v2/namespaces/big', 512 * 1024 * 1024 + 1));
      const r = await c.response();
      expect(r.status).toBe(413);
      expect(r.json()).toMatchObject({ code: 'ELAX_ERR_PAYLOAD_TOO_LARGE', error: `request body exceeds the limit of ${512 * 1024 * 1024} bytes` });
      c.sock.destroy();
    } finally {
      await app.close();
    }
  });

  it('should admit a body exactly at the limit when the in-flight budget is that size, and 413 one byte more', async () => {
    const limit = 64 * 1024;
    const app = await startMemoryApp({ bodyLimit: limit, maxInflightBytes: limit });
    try {
      const body = (n: number) => {
        const head = '{"upsert_rows":[{"id":1,"s":"';
        const tail = '"}]}';
        return head + 'x'.repeat(n - head.length - tail.length) + tail;
      };
      const post = (b: string) => fetch(`${app.url}/v2/namespaces/at`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
      const ok = await post(body(limit));
      expect(ok.status, await ok.clone().text()).toBe(200);
      expect(((await ok.json()) as { rows_upserted: number }).rows_upserted).toBe(1);
      const over = await post(body(limit + 1));
      expect(over.status).toBe(413);
      expect(await over.json()).toMatchObject({ code: 'ELAX_ERR_PAYLOAD_TOO_LARGE' });
    } finally {
      await app.close();
    }
  });
});
