/**
 * A write that changes nothing creates nothing: `{}`, empty row lists, deletes and patches of ids that do not
 * exist, and filter writes that match nothing answer 200 with rows_affected 0, and leave no router.json and no WAL
 * entry behind (the namespace stays 404). A write that sets a schema or a distance metric does create the
 * namespace (as POST /v1/namespaces/:ns/schema does), and an empty write to an existing namespace appends nothing
 * (a write that names rows and changes none appends an entry without rows: test/116).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startMemoryApp, type MemoryApp } from './helpers/memory-app.js';

let app: MemoryApp;
beforeAll(async () => {
  app = await startMemoryApp();
});
afterAll(async () => {
  await app.close();
});

async function post(path: string, body: unknown) {
  const r = await fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

const keys = async (ns: string) => (await app.store.list(`${ns}/`)).objects.map((o) => o.key);

describe('empty writes', () => {
  const empties: [string, unknown][] = [
    ['{}', {}],
    ['empty upsert_rows', { upsert_rows: [] }],
    ['empty upsert_columns', { upsert_columns: { id: [] } }],
    ['empty patch_rows and deletes', { patch_rows: [], deletes: [] }],
    ['deletes of ids that do not exist', { deletes: [1, 2, 3] }],
    ['patches of ids that do not exist', { patch_rows: [{ id: 1, a: 'x' }] }],
    ['delete_by_filter matching nothing', { delete_by_filter: ['id', 'Eq', 1] }],
    ['only flags', { return_affected_ids: true, disable_backpressure: true }],
  ];

  for (const [name, body] of empties) {
    it(`should answer 200 with rows_affected 0 and create nothing: ${name}`, async () => {
      const ns = `empty-${name.replace(/[^a-z]+/gi, '-')}`;
      const w = await post(`/v2/namespaces/${ns}`, body);
      expect(w.status, JSON.stringify(w.body)).toBe(200);
      expect(w.body).toMatchObject({ status: 'OK', rows_affected: 0, rows_upserted: 0, rows_patched: 0, rows_deleted: 0 });
      const meta = await fetch(`${app.url}/v2/namespaces/${ns}/metadata`);
      expect(meta.status).toBe(404);
      expect(await keys(ns)).toEqual([]);
      const list = (await (await fetch(`${app.url}/v1/namespaces?prefix=${ns}`)).json()) as { namespaces: unknown[] };
      expect(list.namespaces).toEqual([]);
    });
  }

  it('should create the namespace for a write that only sets a schema or a distance metric', async () => {
    expect((await post('/v2/namespaces/schema-only', { schema: { title: { type: 'string', full_text_search: true } } })).status).toBe(200);
    const meta = await fetch(`${app.url}/v2/namespaces/schema-only/metadata`);
    expect(meta.status).toBe(200);
    expect(((await meta.json()) as { schema: Record<string, unknown> }).schema.title).toMatchObject({ type: 'string' });
    expect((await post('/v2/namespaces/metric-only', { distance_metric: 'cosine_distance' })).status).toBe(200);
    expect((await fetch(`${app.url}/v2/namespaces/metric-only/metadata`)).status).toBe(200);
  });

  it('should append no WAL entry for an empty write to an existing namespace', async () => {
    expect((await post('/v2/namespaces/existing', { upsert_rows: [{ id: 1, a: 'x' }] })).status).toBe(200);
    const before = await keys('existing');
    expect(before.filter((k) => k.includes('/wal/'))).toHaveLength(1);
    for (const body of [{}, { upsert_rows: [] }, { schema: { a: 'string' } }]) {
      const w = await post('/v2/namespaces/existing', body);
      expect(w.status).toBe(200);
      expect(w.body.rows_affected).toBe(0);
    }
    expect(await keys('existing')).toEqual(before);
    // A delete of an absent id changes nothing either, but its answer read the state: it appends an entry without
    // rows, which orders it after any write still in flight (test/116).
    const d = await post('/v2/namespaces/existing', { deletes: [42] });
    expect([d.status, d.body.rows_affected]).toEqual([200, 0]);
    expect((await keys('existing')).filter((k) => k.includes('/wal/'))).toHaveLength(2);
    expect(((await (await fetch(`${app.url}/v2/namespaces/existing/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ aggregate_by: { n: ['Count'] } }) })).json()) as { aggregations: unknown }).aggregations).toEqual({ n: 1 });
  });

  it('should not bring a deleted namespace back', async () => {
    expect((await post('/v2/namespaces/gone', { upsert_rows: [{ id: 1 }] })).status).toBe(200);
    expect((await fetch(`${app.url}/v2/namespaces/gone`, { method: 'DELETE' })).status).toBe(200);
    const after = await keys('gone');
    expect((await post('/v2/namespaces/gone', { upsert_rows: [] })).status).toBe(200);
    expect((await fetch(`${app.url}/v2/namespaces/gone/metadata`)).status).toBe(404);
    expect(await keys('gone')).toEqual(after);
  });

  it('should still create the namespace when an empty request shares a group commit with a real one', async () => {
    const [a, b] = await Promise.all([post('/v2/namespaces/mixed', {}), post('/v2/namespaces/mixed', { upsert_rows: [{ id: 7 }] })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.rows_affected).toBe(0);
    expect(b.body.rows_affected).toBe(1);
    expect((await fetch(`${app.url}/v2/namespaces/mixed/metadata`)).status).toBe(200);
  });
});
