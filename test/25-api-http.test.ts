/**
 * The HTTP layer itself, over raw fetch: gzip request bodies (by hand and from the official client's
 * `compression: true`), /health and /readyz, API keys, JSON 404s for unknown routes, the error body shape,
 * content types and the Idempotency-Key header.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { gzipSync } from 'node:zlib';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(base: string, method: string, p: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await r.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${method} ${p} answered ${r.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  return { status: r.status, headers: r.headers, body: parsed };
}

/** Every error answer: JSON, exactly {status: "error", error: <message>, code: ELAX_ERR_*}. */
function expectErrorBody(a: Answer, status: number, code: string, message: RegExp) {
  expect(a.status).toBe(status);
  expect(a.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(a.body).sort()).toEqual(['code', 'error', 'status']);
  expect(a.body.status).toBe('error');
  expect(a.body.code).toBe(code);
  expect(a.body.error).toMatch(message);
}

const queryIds = async (base: string, ns: string, headers: Record<string, string> = {}) => {
  const a = await call(base, 'POST', `/v2/namespaces/${ns}/query`, JSON.stringify({ rank_by: ['id', 'asc'], top_k: 1200, include_attributes: true }), headers);
  expect(a.status).toBe(200);
  return a.body.rows as Record<string, unknown>[];
};

describe('health and readiness', () => {
  it('should answer /health and /readyz with 200 JSON', async () => {
    const h = await call(server.url, 'GET', '/health');
    expect(h.status).toBe(200);
    expect(h.body).toEqual({ status: 'ok' });
    const r = await call(server.url, 'GET', '/readyz');
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ok');
    expect(String(r.body.store)).toContain(server.storeDir);
  });
});

describe('gzip request bodies', () => {
  it('should accept a gzip-compressed write and query', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ id: i, text: `row ${i} `.repeat(20) }));
    const w = await call(server.url, 'POST', '/v2/namespaces/gz', gzipSync(JSON.stringify({ upsert_rows: rows })), { 'content-encoding': 'gzip' });
    expect(w.status).toBe(200);
    expect(w.body.rows_upserted).toBe(50);
    const q = await call(server.url, 'POST', '/v2/namespaces/gz/query', gzipSync(JSON.stringify({ rank_by: ['id', 'desc'], top_k: 2, include_attributes: ['text'] })), {
      'content-encoding': 'gzip',
    });
    expect(q.status).toBe(200);
    expect(q.body.rows).toEqual([rows[49], rows[48]]);
  });

  it('should accept the official client with compression: true (and the body really is gzip)', async () => {
    const seen: { encoding: string | null; bytes: number }[] = [];
    const tpuf = new Turbopuffer({
      apiKey: 'k',
      baseURL: server.url,
      maxRetries: 0,
      compression: true,
      logLevel: 'off',
      fetch: async (url, init) => {
        const h = new Headers(init?.headers);
        const body = init?.body;
        seen.push({ encoding: h.get('content-encoding'), bytes: body instanceof Uint8Array || Buffer.isBuffer(body) ? body.byteLength : -1 });
        return fetch(url, init);
      },
    });
    const ns = tpuf.namespace('gz-client');
    // The client compresses only bodies above 1 KiB.
    const rows = Array.from({ length: 40 }, (_, i) => ({ id: i, vector: [i, 1, 2, 3], note: 'compressible text '.repeat(5) }));
    const res = await ns.write({ upsert_rows: rows, distance_metric: 'euclidean_squared' });
    expect(res.rows_upserted).toBe(40);
    expect(seen[0]!.encoding).toBe('gzip');
    const q = await ns.query({ rank_by: ['vector', 'kNN', [7, 1, 2, 3]], top_k: 1, include_attributes: ['note'], filters: ['Not', ['note', 'Eq', 'x'.repeat(1100)]] });
    expect(seen[1]!.encoding).toBe('gzip');
    expect(q.rows).toEqual([{ id: 7, $dist: 0, note: rows[7]!.note }]);
  });

  it('should refuse an unsupported Content-Encoding by name', async () => {
    const a = await call(server.url, 'POST', '/v2/namespaces/gz', '{}', { 'content-encoding': 'br' });
    expectErrorBody(a, 400, 'ELAX_ERR_INVALID_REQUEST', /br/);
  });
});

describe('API keys', () => {
  let secured: TestServer;
  beforeAll(async () => {
    secured = await startTestServer({ apiKeys: ['key-one', 'key-two'] });
  });
  afterAll(async () => {
    await secured.close();
  });
  const body = JSON.stringify({ upsert_rows: [{ id: 1, v: 'x' }] });

  it('should answer 401 without a key and with a wrong key, and write nothing', async () => {
    const none = await call(secured.url, 'POST', '/v2/namespaces/k', body);
    expectErrorBody(none, 401, 'ELAX_ERR_UNAUTHORIZED', /missing API key/);
    const wrong = await call(secured.url, 'POST', '/v2/namespaces/k', body, { authorization: 'Bearer key-three' });
    expectErrorBody(wrong, 401, 'ELAX_ERR_UNAUTHORIZED', /invalid API key/);
    const notBearer = await call(secured.url, 'POST', '/v2/namespaces/k', body, { authorization: 'Basic key-one' });
    expect(notBearer.status).toBe(401);
    for (const [m, p] of [
      ['POST', '/v2/namespaces/k/query'],
      ['GET', '/v1/namespaces'],
      ['GET', '/v2/namespaces/k/metadata'],
      ['GET', '/v1/namespaces/k/schema'],
      ['DELETE', '/v2/namespaces/k'],
    ] as const) {
      expect((await call(secured.url, m, p, m === 'POST' ? '{}' : undefined)).status, `${m} ${p}`).toBe(401);
    }
    // Nothing was written by the refused requests.
    const ok = await call(secured.url, 'GET', '/v1/namespaces', undefined, { authorization: 'Bearer key-one' });
    expect(ok.body.namespaces).toEqual([]);
  });

  it('should answer 200 with either configured key as a Bearer token', async () => {
    const one = await call(secured.url, 'POST', '/v2/namespaces/k', body, { authorization: 'Bearer key-one' });
    expect(one.status).toBe(200);
    const rows = await queryIds(secured.url, 'k', { authorization: 'Bearer key-two' });
    expect(rows).toEqual([{ id: 1, v: 'x' }]);
  });

  it('should work through the official client with the right key and fail with 401 on a wrong one', async () => {
    const good = secured.client({ apiKey: 'key-two' });
    expect((await good.namespace('k2').write({ upsert_rows: [{ id: 5 }] })).rows_upserted).toBe(1);
    const bad = secured.client({ apiKey: 'nope' });
    await expect(bad.namespace('k2').query({})).rejects.toMatchObject({ status: 401, error: { code: 'ELAX_ERR_UNAUTHORIZED' } });
  });

  it('should keep /health and /readyz open', async () => {
    expect((await call(secured.url, 'GET', '/health')).status).toBe(200);
    expect((await call(secured.url, 'GET', '/readyz')).status).toBe(200);
  });
});

describe('routes, content types and error bodies', () => {
  it('should answer unknown routes with a JSON 404 naming the route', async () => {
    expectErrorBody(await call(server.url, 'GET', '/v9/nothing'), 404, 'ELAX_ERR_NOT_FOUND', /GET \/v9\/nothing/);
    expectErrorBody(await call(server.url, 'POST', '/v2/namespaces/x/nope', '{}'), 404, 'ELAX_ERR_NOT_FOUND', /\/v2\/namespaces\/x\/nope/);
    // A known path with the wrong method.
    expectErrorBody(await call(server.url, 'GET', '/v2/namespaces/x/query?top_k=1'), 404, 'ELAX_ERR_NOT_FOUND', /GET \/v2\/namespaces\/x\/query$/);
  });

  it('should answer 404 with the error shape for a missing namespace', async () => {
    const a = await call(server.url, 'POST', '/v2/namespaces/absent/query', JSON.stringify({ rank_by: ['id', 'asc'] }));
    expectErrorBody(a, 404, 'ELAX_ERR_NAMESPACE_NOT_FOUND', /absent/);
    expectErrorBody(await call(server.url, 'GET', '/v2/namespaces/absent/metadata'), 404, 'ELAX_ERR_NAMESPACE_NOT_FOUND', /absent/);
    expectErrorBody(await call(server.url, 'DELETE', '/v2/namespaces/absent'), 404, 'ELAX_ERR_NAMESPACE_NOT_FOUND', /absent/);
  });

  it('should answer 400 with the error shape for a bad body', async () => {
    expectErrorBody(await call(server.url, 'POST', '/v2/namespaces/shape', '{"upsert_rows": 5}'), 400, 'ELAX_ERR_INVALID_REQUEST', /upsert_rows/);
    expectErrorBody(await call(server.url, 'POST', '/v2/namespaces/shape', '[1,2]'), 400, 'ELAX_ERR_INVALID_REQUEST', /object/);
  });

  it('should answer 415 JSON for a non-JSON content type', async () => {
    const r = await fetch(`${server.url}/v2/namespaces/ct`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"upsert_rows":[{"id":1}]}' });
    const a = { status: r.status, headers: r.headers, body: (await r.json()) as Record<string, unknown> };
    expectErrorBody(a, 415, 'ELAX_ERR_INVALID_REQUEST', /text\/plain/);
    expect((await call(server.url, 'GET', '/v1/namespaces?prefix=ct')).body.namespaces).toEqual([]);
  });

  it('should accept an empty POST body where every field is optional (recall)', async () => {
    await call(server.url, 'POST', '/v2/namespaces/rec', JSON.stringify({ upsert_rows: [{ id: 1, vector: [1, 0] }, { id: 2, vector: [0, 1] }], distance_metric: 'cosine_distance' }));
    const r = await fetch(`${server.url}/v1/namespaces/rec/_debug/recall`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { avg_recall: number }).avg_recall).toBe(1);
  });

  it('should validate page_size on the namespace listing', async () => {
    expectErrorBody(await call(server.url, 'GET', '/v1/namespaces?page_size=abc'), 400, 'ELAX_ERR_INVALID_REQUEST', /page_size/);
    expectErrorBody(await call(server.url, 'GET', '/v1/namespaces?page_size=0'), 400, 'ELAX_ERR_INVALID_REQUEST', /page_size/);
    expectErrorBody(await call(server.url, 'GET', '/v1/namespaces?page_size=1001'), 400, 'ELAX_ERR_INVALID_REQUEST', /page_size/);
  });
});

describe('Idempotency-Key', () => {
  it('should apply a request once per key, acknowledging the repeat without writing', async () => {
    const h = { 'idempotency-key': 'req-42' };
    const first = await call(server.url, 'POST', '/v2/namespaces/idem', JSON.stringify({ upsert_rows: [{ id: 1, v: 1 }] }), h);
    expect(first.status).toBe(200);
    expect(first.body.rows_upserted).toBe(1);
    const again = await call(server.url, 'POST', '/v2/namespaces/idem', JSON.stringify({ upsert_rows: [{ id: 1, v: 2 }, { id: 2, v: 2 }] }), h);
    expect(again.status).toBe(200);
    expect(again.body.rows_affected).toBe(0);
    expect(again.body.message).toMatch(/already applied/);
    expect(await queryIds(server.url, 'idem')).toEqual([{ id: 1, v: 1 }]);
    const other = await call(server.url, 'POST', '/v2/namespaces/idem', JSON.stringify({ upsert_rows: [{ id: 2, v: 3 }] }), { 'idempotency-key': 'req-43' });
    expect(other.body.rows_upserted).toBe(1);
    expect(await queryIds(server.url, 'idem')).toEqual([{ id: 1, v: 1 }, { id: 2, v: 3 }]);
  });

  it('should apply concurrent repeats of one key exactly once', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => JSON.stringify({ upsert_rows: [{ id: 100 + i, v: i }] }));
    const answers = await Promise.all(bodies.map((b) => call(server.url, 'POST', '/v2/namespaces/idem2', b, { 'idempotency-key': 'same' })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(answers.filter((a) => a.body.rows_upserted === 1)).toHaveLength(1);
    expect(await queryIds(server.url, 'idem2')).toHaveLength(1);
  });
});
