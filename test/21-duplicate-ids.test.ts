/**
 * A write request that names the same document id twice is a 400 naming the id, and writes nothing (turbopuffer
 * write docs: "If the same document ID appears multiple times in the request, the request will fail with an HTTP
 * 400 error"). Through the official client, within and across upsert_rows / upsert_columns, patch_rows /
 * patch_columns and deletes; ids compared in their stored form (UUIDs case-insensitively); the filter-based writes
 * are not ids and may overlap the explicit ones (the docs' own example deletes by filter, then upserts those ids).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let tpuf: Turbopuffer;

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
});
afterAll(async () => {
  await server.close();
});

type Ns = ReturnType<Turbopuffer['namespace']>;
type WriteParams = Parameters<Ns['write']>[0];

const seed = [
  { id: 1, v: 'one' },
  { id: 2, v: 'two' },
  { id: 3, v: 'three' },
];

async function rows(ns: Ns) {
  return (await ns.query({ rank_by: ['id', 'asc'], include_attributes: ['v'], top_k: 100 })).rows;
}

/** The request is a 400 ELAX_ERR_DUPLICATE_ID whose message names the id and both places; nothing changes. */
async function rejectsDuplicate(name: string, body: WriteParams, id: string, first: string, second: string) {
  const ns = tpuf.namespace(name);
  await ns.write({ upsert_rows: seed });
  const before = await rows(ns);
  const err = await ns.write(body).then(
    () => null,
    (e: unknown) => e as { status: number; error: { code: string; error: string } },
  );
  expect(err, `${name} was accepted`).not.toBeNull();
  expect(err!.status).toBe(400);
  expect(err!.error.code).toBe('ELAX_ERR_DUPLICATE_ID');
  expect(err!.error.error).toBe(`${second}: id ${id} appears more than once in this request (first at ${first}); a write request may name each id once`);
  expect(await rows(ns)).toEqual(before);
}

describe('a write naming the same id twice', () => {
  it('should reject twice in upsert_rows', () =>
    rejectsDuplicate('dup-ur', { upsert_rows: [{ id: 7, v: 'a' }, { id: 1, v: 'b' }, { id: 7, v: 'c' }] }, '7', 'upsert_rows[0]', 'upsert_rows[2]'));

  it('should reject twice in upsert_columns', () =>
    rejectsDuplicate('dup-uc', { upsert_columns: { id: [4, 5, 4], v: ['a', 'b', 'c'] } }, '4', 'upsert_columns.id[0]', 'upsert_columns.id[2]'));

  it('should reject twice in patch_rows (the second patch would silently win)', () =>
    rejectsDuplicate('dup-pr', { patch_rows: [{ id: 2, v: 'x' }, { id: 2, v: 'y' }] }, '2', 'patch_rows[0]', 'patch_rows[1]'));

  it('should reject twice in patch_columns', () =>
    rejectsDuplicate('dup-pc', { patch_columns: { id: [3, 1, 3], v: ['x', 'y', 'z'] } }, '3', 'patch_columns.id[0]', 'patch_columns.id[2]'));

  it('should reject twice in deletes', () => rejectsDuplicate('dup-del', { deletes: [1, 2, 1] }, '1', 'deletes[0]', 'deletes[2]'));

  it('should reject an id in upsert_rows and in upsert_columns', () =>
    rejectsDuplicate('dup-ur-uc', { upsert_rows: [{ id: 9, v: 'a' }], upsert_columns: { id: [8, 9], v: ['b', 'c'] } }, '9', 'upsert_rows[0]', 'upsert_columns.id[1]'));

  it('should reject an id upserted and patched', () =>
    rejectsDuplicate('dup-u-p', { upsert_rows: [{ id: 1, v: 'a' }], patch_rows: [{ id: 1, v: 'b' }] }, '1', 'upsert_rows[0]', 'patch_rows[0]'));

  it('should reject an id upserted and deleted', () =>
    rejectsDuplicate('dup-u-d', { upsert_columns: { id: [2], v: ['a'] }, deletes: [2] }, '2', 'upsert_columns.id[0]', 'deletes[0]'));

  it('should reject an id patched and deleted', () =>
    rejectsDuplicate('dup-p-d', { patch_columns: { id: [3], v: ['a'] }, deletes: [3] }, '3', 'patch_columns.id[0]', 'deletes[0]'));

  it('should compare UUIDs in their stored (lowercase) form', async () => {
    const ns = tpuf.namespace('dup-uuid');
    const lower = '769c134d-07b8-4225-954a-b6cc5ffc320c';
    await ns.write({ upsert_rows: [{ id: lower, v: 'a' }], schema: { id: 'uuid' } });
    const err = await ns.write({ upsert_rows: [{ id: lower.toUpperCase(), v: 'b' }], deletes: [lower] }).catch((e: unknown) => e as { status: number; error: { code: string; error: string } });
    expect(err).toMatchObject({ status: 400, error: { code: 'ELAX_ERR_DUPLICATE_ID' } });
    expect((err as { error: { error: string } }).error.error).toContain(`id "${lower}" appears more than once`);
    expect((await ns.query({ rank_by: ['id', 'asc'], include_attributes: ['v'] })).rows).toEqual([{ id: lower, v: 'a' }]);
  });

  it('should name string ids as JSON strings and tell 5 from "5" by the namespace id type', async () => {
    const s = tpuf.namespace('dup-str');
    await expect(s.write({ upsert_rows: [{ id: '5', v: 'a' }, { id: '5', v: 'b' }] })).rejects.toMatchObject({
      status: 400,
      error: { code: 'ELAX_ERR_DUPLICATE_ID', error: expect.stringContaining('id "5" appears more than once') },
    });
    // In a numeric namespace "5" is not the id 5 but a type error (ids of one namespace have one type).
    const n = tpuf.namespace('dup-num');
    await n.write({ upsert_rows: [{ id: 5, v: 'a' }] });
    await expect(n.write({ upsert_rows: [{ id: 5, v: 'b' }], deletes: ['5' as unknown as number] })).rejects.toMatchObject({
      status: 400,
      error: { code: 'ELAX_ERR_INVALID_ID' },
    });
  });

  it('should allow one id per request in each list, and filter writes overlapping explicit ids', async () => {
    const ns = tpuf.namespace('dup-ok');
    await ns.write({ upsert_rows: seed });
    // delete_by_filter runs first; then id 1 is written again, id 2 patched, id 3 deleted: all distinct ids.
    const res = await ns.write({
      delete_by_filter: ['v', 'In', ['one', 'two']],
      upsert_rows: [{ id: 1, v: 'uno' }],
      patch_rows: [{ id: 2, v: 'dos' }],
      deletes: [3],
      patch_by_filter: { filters: ['v', 'Eq', 'three'], patch: { v: 'tres' } },
    });
    // 2 was deleted by the filter, so its patch is ignored; 3 was patched by filter and then deleted by id; 1 was
    // deleted by the filter and upserted again (counted as upserted).
    expect(res).toMatchObject({ rows_upserted: 1, rows_patched: 0, rows_deleted: 2 });
    expect(await rows(ns)).toEqual([{ id: 1, v: 'uno' }]);
  });

  it('should not count two requests coalesced into one WAL entry as one request', async () => {
    const slow = await startTestServer({ indexer: false, groupCommitMs: 50 });
    try {
      const ns = slow.client().namespace('dup-group');
      await Promise.all([ns.write({ upsert_rows: [{ id: 1, v: 'a' }] }), ns.write({ upsert_rows: [{ id: 1, v: 'b' }] })]);
      const v = (await ns.query({ rank_by: ['id', 'asc'], include_attributes: ['v'] })).rows!;
      expect(v).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });
});
