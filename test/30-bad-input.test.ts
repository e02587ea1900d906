/**
 * Bad input: each request gets a 4xx whose message names the problem, and the store is unchanged afterwards
 * (every file's path, size and mtime, and the query results).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;

function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

async function post(p: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const r = await fetch(`${server.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: r.status, body: (await r.json()) as { status: string; error: string; code?: string } };
}

beforeAll(async () => {
  server = await startTestServer({ bodyLimit: 1024 * 1024 });
  const ok = await post(
    '/v2/namespaces/bad',
    JSON.stringify({ upsert_rows: [{ id: 1, vector: [1, 2, 3], name: 'a', n: 1 }], distance_metric: 'cosine_distance' }),
  );
  expect(ok.status).toBe(200);
});
afterAll(async () => {
  await server.close();
});

const cases: [string, string, string | Buffer, number, RegExp, Record<string, string>?][] = [
  ['wrong vector dimensions', '/v2/namespaces/bad', JSON.stringify({ upsert_rows: [{ id: 2, vector: [1, 2] }] }), 400, /dimension/i],
  ['Infinity in a vector', '/v2/namespaces/bad', '{"upsert_rows":[{"id":2,"vector":[1,1e999,3]}]}', 400, /finite|infinit|nan/i],
  ['NaN in a vector (not JSON)', '/v2/namespaces/bad', '{"upsert_rows":[{"id":2,"vector":[1,NaN,3]}]}', 400, /JSON/i],
  ['wrong attribute type', '/v2/namespaces/bad', JSON.stringify({ upsert_rows: [{ id: 2, n: 'five' }] }), 400, /'n'|"n"| n\b/],
  ['unknown filter operator in query', '/v2/namespaces/bad/query', JSON.stringify({ rank_by: ['id', 'asc'], filters: ['n', 'Near', 1] }), 400, /Near/],
  ['unknown filter operator in delete_by_filter', '/v2/namespaces/bad', JSON.stringify({ delete_by_filter: ['n', 'Bogus', 1] }), 400, /Bogus/],
  ['unknown write key', '/v2/namespaces/bad', JSON.stringify({ upsert_rowz: [] }), 400, /upsert_rowz/],
  ['malformed JSON', '/v2/namespaces/bad', '{"upsert_rows": [', 400, /JSON/],
  ['oversized body', '/v2/namespaces/bad', JSON.stringify({ upsert_rows: [{ id: 3, name: 'x'.repeat(2 * 1024 * 1024) }] }), 413, /limit/],
  ['namespace name too long', `/v2/namespaces/${'a'.repeat(129)}`, JSON.stringify({ upsert_rows: [{ id: 1 }] }), 400, /namespace/],
  ['namespace name with bad characters', '/v2/namespaces/bad%20name%21', JSON.stringify({ upsert_rows: [{ id: 1 }] }), 400, /namespace/],
  ['top_k above 1200', '/v2/namespaces/bad/query', JSON.stringify({ rank_by: ['id', 'asc'], top_k: 5000 }), 400, /1200/],
  ['17 multi-queries', '/v2/namespaces/bad/query?stainless_overload=multiQuery', JSON.stringify({ queries: Array.from({ length: 17 }, () => ({ rank_by: ['id', 'asc'] })) }), 400, /16/],
  ['65-byte string id', '/v2/namespaces/string-ids', JSON.stringify({ upsert_rows: [{ id: 'x'.repeat(65) }] }), 400, /64/],
  ['negative id', '/v2/namespaces/bad', JSON.stringify({ upsert_rows: [{ id: -1 }] }), 400, /id/],
  ['fractional id', '/v2/namespaces/bad', JSON.stringify({ upsert_rows: [{ id: 1.5 }] }), 400, /id/],
  ['base64 vector of the wrong length', '/v2/namespaces/bad', JSON.stringify({ upsert_rows: [{ id: 2, vector: Buffer.from(new Float32Array([1, 2]).buffer).toString('base64') }] }), 400, /dimension|bytes|length/i],
  ['schema update changing a type', '/v1/namespaces/bad/schema', JSON.stringify({ n: 'string' }), 400, /'n'|"n"|\bn\b/],
  ['query on a missing namespace', '/v2/namespaces/missing-ns/query', JSON.stringify({ rank_by: ['id', 'asc'] }), 404, /not found/],
  ['invalid gzip body', '/v2/namespaces/bad', Buffer.from('not gzip at all'), 400, /gzip/, { 'content-encoding': 'gzip' }],
];

describe('bad input', () => {
  it.each(cases)('should reject %s with a clear error and change nothing', async (_name, p, body, status, message, headers) => {
    const before = snapshot(server.storeDir);
    const rowsBefore = await post('/v2/namespaces/bad/query', JSON.stringify({ rank_by: ['id', 'asc'], include_attributes: true }));
    const res = await post(p, body, headers);
    expect(res.status).toBe(status);
    expect(res.body.status).toBe('error');
    expect(res.body.error).toMatch(message);
    expect(snapshot(server.storeDir)).toEqual(before);
    const rowsAfter = await post('/v2/namespaces/bad/query', JSON.stringify({ rank_by: ['id', 'asc'], include_attributes: true }));
    expect(rowsAfter.body).toMatchObject({ rows: (rowsBefore.body as unknown as { rows: unknown[] }).rows });
  });

  it('should accept a valid gzip body', async () => {
    const res = await post('/v2/namespaces/gz', gzipSync(JSON.stringify({ upsert_rows: [{ id: 7, a: 'z' }] })), { 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
  });

  it('should reject only the bad request among concurrent ones', async () => {
    const bodies = [
      JSON.stringify({ upsert_rows: [{ id: 10, n: 10 }] }),
      JSON.stringify({ upsert_rows: [{ id: 11, n: 'eleven' }] }),
      JSON.stringify({ upsert_rows: [{ id: 12, n: 12 }] }),
    ];
    const res = await Promise.all(bodies.map((b) => post('/v2/namespaces/bad', b)));
    expect(res.map((r) => r.status)).toEqual([200, 400, 200]);
    const q = await post('/v2/namespaces/bad/query', JSON.stringify({ rank_by: ['id', 'asc'], filters: ['id', 'Gte', 10] }));
    expect((q.body as unknown as { rows: { id: number }[] }).rows.map((r) => r.id)).toEqual([10, 12]);
  });
});

describe('API keys', () => {
  it('should answer 401 without or with a wrong key, 200 with a right one', async () => {
    const s = await startTestServer({ apiKeys: ['s3cret'] });
    try {
      const body = JSON.stringify({ upsert_rows: [{ id: 1 }] });
      const none = await fetch(`${s.url}/v2/namespaces/k`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: string }).error).toMatch(/API key/);
      const wrong = await fetch(`${s.url}/v2/namespaces/k`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer nope' }, body });
      expect(wrong.status).toBe(401);
      const right = await s.client({ apiKey: 's3cret' }).namespace('k').write({ upsert_rows: [{ id: 1 }] });
      expect(right.status).toBe('OK');
      expect((await fetch(`${s.url}/health`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('should answer 404 JSON for unknown routes and report readiness', async () => {
    const r = await fetch(`${server.url}/v9/nothing`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { status: string }).status).toBe('error');
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});
