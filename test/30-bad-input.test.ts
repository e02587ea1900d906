/**
 * Bad input: each request gets a 4xx whose message names the problem, and NOTHING changes: every file under the
 * store dir keeps its path, size and mtime, query results are the same, and no namespace appears or disappears.
 * Also: one bad request among concurrent good ones (sharing a group commit) fails alone.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from './helpers/server.js';

const BODY_LIMIT = 1024 * 1024;
let server: TestServer;

/** Every file under `dir`: relative path, size, mtime (ns). */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p, { bigint: true });
        out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeNs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

interface Answer {
  status: number;
  body: { status?: string; error?: string; code?: string; [k: string]: unknown };
}

async function send(method: string, p: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${server.url}${p}`, { method, headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: r.status, body: (await r.json()) as Answer['body'] };
}
const post = (p: string, body: string | Buffer, headers?: Record<string, string>) => send('POST', p, body, headers);

/** What a client can observe: rows (with everything) of the seeded namespaces, schemas, and the namespace list. */
async function observable(): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const ns of ['bad', 'strs']) {
    out[ns] = (await post(`/v2/namespaces/${ns}/query`, JSON.stringify({ rank_by: ['id', 'asc'], top_k: 1200, include_attributes: true }))).body.rows;
    out[`${ns}-schema`] = (await send('GET', `/v1/namespaces/${ns}/schema`)).body;
  }
  out.namespaces = (await send('GET', '/v1/namespaces')).body.namespaces;
  return out;
}

beforeAll(async () => {
  server = await startTestServer({ bodyLimit: BODY_LIMIT });
  const seed = await post(
    '/v2/namespaces/bad',
    JSON.stringify({
      upsert_rows: [
        { id: 1, vector: [1, 2, 3], name: 'a', n: 1, tags: ['x'] },
        { id: 2, vector: [0, 1, 0], name: 'b', n: 2, tags: [] },
      ],
      distance_metric: 'cosine_distance',
    }),
  );
  expect(seed.status).toBe(200);
  expect((await post('/v2/namespaces/strs', JSON.stringify({ upsert_rows: [{ id: 'a', v: 1 }] }))).status).toBe(200);
});
afterAll(async () => {
  await server.close();
});

const W = '/v2/namespaces/bad';
const Q = '/v2/namespaces/bad/query';
const j = JSON.stringify;
const b64 = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer).toString('base64');
/** A filter nested `depth` levels deep: ["Not", ["Not", ... ["n", "Eq", 1]]]. Built as text (JSON.stringify recurses). */
const deepNot = (depth: number) => '["Not",'.repeat(depth) + '["n","Eq",1]' + ']'.repeat(depth);
const deepSum = (depth: number) => '["Sum",['.repeat(depth) + '["name","BM25","a"]' + ']]'.repeat(depth);

type Case = {
  name: string;
  method?: string;
  path: string;
  body: string | Buffer;
  status: number;
  code: string;
  /** Every pattern must match the error message. */
  message: RegExp[];
  headers?: Record<string, string>;
};

const cases: Case[] = [
  // vectors
  { name: 'wrong vector dimensions (rows)', path: W, body: j({ upsert_rows: [{ id: 3, vector: [1, 2] }] }), status: 400, code: 'ELAX_ERR_INVALID_VECTOR', message: [/2 dimensions/, /3/] },
  { name: 'wrong vector dimensions (columns)', path: W, body: j({ upsert_columns: { id: [3, 4], vector: [[1, 2, 3], [1, 2, 3, 4]] } }), status: 400, code: 'ELAX_ERR_INVALID_VECTOR', message: [/dimension/] },
  { name: 'wrong vector dimensions (patch)', path: W, body: j({ patch_rows: [{ id: 1, vector: [1, 2] }] }), status: 400, code: 'ELAX_ERR_INVALID_VECTOR', message: [/patch_rows\[0\]/, /dimension/] },
  { name: 'Infinity in a vector (1e999)', path: W, body: '{"upsert_rows":[{"id":3,"vector":[1,1e999,3]}]}', status: 400, code: 'ELAX_ERR_INVALID_VECTOR', message: [/element 1/, /Infinity/] },
  { name: '-Infinity in a vector', path: W, body: '{"upsert_rows":[{"id":3,"vector":[1,2,-1e999]}]}', status: 400, code: 'ELAX_ERR_INVALID_VECTOR', message: [/element 2/, /Infinity/] },
  { name: 'NaN literal in a vector (not JSON)', path: W, body: '{"upsert_rows":[{"id":3,"vector":[1,NaN,3]}]}', status: 400, code: 'ELAX_ERR_INVALID_REQUEST', message: [/JSON/] },
  { name: 'NaN in a base64 vector', path: W, body: j({ upsert_rows: [{ id: 3, vector: b64([1, NaN, 3]) }] }), status: 400, code: 'ELAX_ERR_INVALID_VECTOR', message: [/NaN/] },
  { name: 'base64 vector of the wrong length', path: W, body: j({ upsert_rows: [{ id: 3, vector: b64([1, 2]) }] }), status: 400, code: 'ELAX_ERR_INVALID_VECTOR', message: [/dimension|bytes|length/] },
  { name: 'base64 vector not a multiple of 4 bytes', path: W, body: j({ upsert_rows: [{ id: 3, vector: Buffer.alloc(13).toString('base64') }] }), status: 400, code: 'ELAX_ERR_INVALID_VECTOR', message: [/base64|bytes|length/] },
  { name: 'strings in a vector', path: W, body: j({ upsert_rows: [{ id: 3, vector: ['1', '2', '3'] }] }), status: 400, code: 'ELAX_ERR_INVALID_VECTOR', message: [/element 0/] },
  { name: 'query vector of the wrong dimensions', path: Q, body: j({ rank_by: ['vector', 'ANN', [1, 2]] }), status: 400, code: 'ELAX_ERR_INVALID_QUERY', message: [/2 dimensions/] },
  { name: 'Infinity in a query vector', path: Q, body: '{"rank_by":["vector","kNN",[1,1e999,0]]}', status: 400, code: 'ELAX_ERR_INVALID_QUERY', message: [/element 1/] },
  { name: 'changing the distance metric', path: W, body: j({ upsert_rows: [{ id: 3, vector: [1, 1, 1] }], distance_metric: 'euclidean_squared' }), status: 400, code: 'ELAX_ERR_INVALID_REQUEST', message: [/euclidean_squared/, /cosine_distance/] },
  // attribute types
  { name: 'wrong attribute type (rows)', path: W, body: j({ upsert_rows: [{ id: 3, n: 'five' }] }), status: 400, code: 'ELAX_ERR_SCHEMA_CONFLICT', message: [/'n'/, /int/] },
  { name: 'wrong attribute type (columns)', path: W, body: j({ upsert_columns: { id: [3, 4], name: ['ok', 7] } }), status: 400, code: 'ELAX_ERR_SCHEMA_CONFLICT', message: [/'name'/, /\[1\]/] },
  { name: 'wrong attribute type (patch)', path: W, body: j({ patch_rows: [{ id: 1, n: true }] }), status: 400, code: 'ELAX_ERR_SCHEMA_CONFLICT', message: [/'n'/] },
  { name: 'wrong attribute type (patch_by_filter)', path: W, body: j({ patch_by_filter: { filters: ['n', 'Eq', 1], patch: { name: 5 } } }), status: 400, code: 'ELAX_ERR_SCHEMA_CONFLICT', message: [/'name'/] },
  { name: 'wrong array element type', path: W, body: j({ upsert_rows: [{ id: 3, tags: ['ok', 1] }] }), status: 400, code: 'ELAX_ERR_SCHEMA_CONFLICT', message: [/'tags'/, /\[1\]/] },
  { name: 'reserved attribute name', path: W, body: j({ upsert_rows: [{ id: 3, $dist: 1 }] }), status: 400, code: 'ELAX_ERR_INVALID_REQUEST', message: [/\$dist/] },
  { name: 'columns of different lengths', path: W, body: j({ upsert_columns: { id: [3, 4], n: [1] } }), status: 400, code: 'ELAX_ERR_INVALID_REQUEST', message: [/upsert_columns\.n/, /same length/] },
  // filters
  { name: 'unknown filter operator in query', path: Q, body: j({ rank_by: ['id', 'asc'], filters: ['n', 'Near', 1] }), status: 400, code: 'ELAX_ERR_INVALID_FILTER', message: [/Near/] },
  { name: 'unknown filter attribute in query', path: Q, body: j({ filters: ['nope', 'Eq', 1] }), status: 400, code: 'ELAX_ERR_INVALID_FILTER', message: [/'nope'/] },
  { name: 'filter value of the wrong type', path: Q, body: j({ filters: ['n', 'Eq', 'five'] }), status: 400, code: 'ELAX_ERR_INVALID_FILTER', message: [/'n'/] },
  { name: 'invalid regex', path: Q, body: j({ filters: ['name', 'Regex', '(('] }), status: 400, code: 'ELAX_ERR_INVALID_FILTER', message: [/Regex/, /\(\(/] },
  { name: 'filter nested 10,000 deep', path: Q, body: `{"filters":${deepNot(10_000)}}`, status: 400, code: 'ELAX_ERR_INVALID_FILTER', message: [/deeper than/] },
  { name: 'unknown filter operator in delete_by_filter', path: W, body: j({ delete_by_filter: ['n', 'Bogus', 1] }), status: 400, code: 'ELAX_ERR_INVALID_FILTER', message: [/Bogus/, /delete_by_filter/] },
  { name: 'unknown filter operator in delete_by_filter on a new namespace', path: '/v2/namespaces/fresh-dbf', body: j({ delete_by_filter: ['n', 'Bogus', 1] }), status: 400, code: 'ELAX_ERR_INVALID_FILTER', message: [/Bogus/] },
  { name: 'unknown attribute in upsert_condition on a new namespace', path: '/v2/namespaces/fresh-cond', body: j({ upsert_rows: [{ id: 1 }], upsert_condition: ['version', 'Lt', 3] }), status: 400, code: 'ELAX_ERR_INVALID_FILTER', message: [/'version'/] },
  { name: 'unknown filter operator in patch_condition', path: W, body: j({ patch_rows: [{ id: 1, n: 3 }], patch_condition: ['n', 'Bogus', 1] }), status: 400, code: 'ELAX_ERR_INVALID_FILTER', message: [/Bogus/, /patch_condition/] },
  // request shape
  { name: 'unknown top-level write key', path: W, body: j({ upsert_rowz: [{ id: 3 }] }), status: 400, code: 'ELAX_ERR_INVALID_REQUEST', message: [/upsert_rowz/] },
  { name: 'unknown query key', path: Q, body: j({ rank_by: ['id', 'asc'], topk: 3 }), status: 400, code: 'ELAX_ERR_INVALID_QUERY', message: [/topk/] },
  { name: 'malformed JSON', path: W, body: '{"upsert_rows": [', status: 400, code: 'ELAX_ERR_INVALID_REQUEST', message: [/malformed JSON/] },
  { name: 'oversized body', path: W, body: j({ upsert_rows: [{ id: 3, name: 'x'.repeat(2 * BODY_LIMIT) }] }), status: 413, code: 'ELAX_ERR_PAYLOAD_TOO_LARGE', message: [/limit/, new RegExp(String(BODY_LIMIT))] },
  { name: 'gzip body that inflates beyond the limit', path: W, body: gzipSync(j({ upsert_rows: [{ id: 3, name: 'x'.repeat(4 * BODY_LIMIT) }] })), headers: { 'content-encoding': 'gzip' }, status: 413, code: 'ELAX_ERR_PAYLOAD_TOO_LARGE', message: [/limit/] },
  { name: 'invalid gzip body', path: W, body: Buffer.from('not gzip at all'), headers: { 'content-encoding': 'gzip' }, status: 400, code: 'ELAX_ERR_INVALID_REQUEST', message: [/gzip/] },
  { name: 'rank_by nested 10,000 deep', path: Q, body: `{"rank_by":${deepSum(10_000)}}`, status: 400, code: 'ELAX_ERR_INVALID_QUERY', message: [/rank_by/] },
  // namespace names
  { name: 'namespace name too long (129)', path: `/v2/namespaces/${'a'.repeat(129)}`, body: j({ upsert_rows: [{ id: 1 }] }), status: 400, code: 'ELAX_ERR_INVALID_NAMESPACE', message: [/namespace/, /128/] },
  { name: 'namespace name with bad characters', path: '/v2/namespaces/bad%20name%21', body: j({ upsert_rows: [{ id: 1 }] }), status: 400, code: 'ELAX_ERR_INVALID_NAMESPACE', message: [/'bad name!'/] },
  { name: 'namespace name escaping the store (..%2F)', path: '/v2/namespaces/..%2F..%2Fescape', body: j({ upsert_rows: [{ id: 1 }] }), status: 400, code: 'ELAX_ERR_INVALID_NAMESPACE', message: [/namespace/] },
  { name: 'reserved namespace name', path: '/v2/namespaces/.elax-x', body: j({ upsert_rows: [{ id: 1 }] }), status: 400, code: 'ELAX_ERR_INVALID_NAMESPACE', message: [/reserved/] },
  { name: 'bad namespace name on a query', path: '/v2/namespaces/bad%2Fq/query', body: j({}), status: 400, code: 'ELAX_ERR_INVALID_NAMESPACE', message: [/namespace/] },
  // limits
  { name: 'top_k above 10,000', path: Q, body: j({ rank_by: ['id', 'asc'], top_k: 10_001 }), status: 400, code: 'ELAX_ERR_INVALID_QUERY', message: [/10000/] },
  { name: 'top_k 0', path: Q, body: j({ rank_by: ['id', 'asc'], top_k: 0 }), status: 400, code: 'ELAX_ERR_INVALID_QUERY', message: [/top_k/] },
  { name: '17 multi-queries', path: `${Q}?stainless_overload=multiQuery`, body: j({ queries: Array.from({ length: 17 }, () => ({ rank_by: ['id', 'asc'] })) }), status: 400, code: 'ELAX_ERR_INVALID_QUERY', message: [/17/, /16/] },
  // ids
  { name: '65-byte string id', path: '/v2/namespaces/strs', body: j({ upsert_rows: [{ id: 'x'.repeat(65) }] }), status: 400, code: 'ELAX_ERR_INVALID_ID', message: [/65 bytes/, /64/] },
  { name: '66-byte string id of 33 characters', path: '/v2/namespaces/strs', body: j({ upsert_rows: [{ id: 'é'.repeat(33) }] }), status: 400, code: 'ELAX_ERR_INVALID_ID', message: [/66 bytes/] },
  { name: 'negative id', path: W, body: j({ upsert_rows: [{ id: -1 }] }), status: 400, code: 'ELAX_ERR_INVALID_ID', message: [/upsert_rows\[0\]/, /-1/] },
  { name: 'fractional id', path: W, body: j({ upsert_rows: [{ id: 1.5 }] }), status: 400, code: 'ELAX_ERR_INVALID_ID', message: [/1\.5/] },
  { name: 'id above 2^53-1', path: W, body: '{"upsert_rows":[{"id":9007199254740993}]}', status: 400, code: 'ELAX_ERR_INVALID_ID', message: [/2\^53/] },
  { name: 'string id in a uint-id namespace', path: W, body: j({ deletes: [3, 'abc'] }), status: 400, code: 'ELAX_ERR_INVALID_ID', message: [/deletes\[1\]/] },
  // schema endpoint
  { name: 'schema update changing a type', path: '/v1/namespaces/bad/schema', body: j({ n: 'string' }), status: 400, code: 'ELAX_ERR_SCHEMA_CONFLICT', message: [/'n'/, /int/, /string/] },
  { name: 'schema update changing vector dimensions', path: '/v1/namespaces/bad/schema', body: j({ vector: { type: '[4]f32' } }), status: 400, code: 'ELAX_ERR_SCHEMA_CONFLICT', message: [/\[3\]f32/, /\[4\]f32/] },
  { name: 'schema update with an unknown type', path: '/v1/namespaces/bad/schema', body: j({ z: 'complex' }), status: 400, code: 'ELAX_ERR_INVALID_REQUEST', message: [/'z'/, /complex/] },
  { name: 'schema in a write changing a type', path: W, body: j({ upsert_rows: [{ id: 3 }], schema: { name: 'int' } }), status: 400, code: 'ELAX_ERR_SCHEMA_CONFLICT', message: [/'name'/] },
];

describe('bad input', () => {
  it.each(cases.map((c) => [c.name, c] as const))('should reject %s with a clear error and change nothing', async (_name, c) => {
    const files = snapshot(server.storeDir);
    const seen = await observable();
    const res = await send(c.method ?? 'POST', c.path, c.body, c.headers);
    expect({ status: res.status, code: res.body.code, status_field: res.body.status }, res.body.error).toEqual({ status: c.status, code: c.code, status_field: 'error' });
    for (const m of c.message) expect(res.body.error).toMatch(m);
    expect(snapshot(server.storeDir)).toEqual(files);
    expect(await observable()).toEqual(seen);
  });

  it('should still serve after all of the above', async () => {
    const q = await post(Q, j({ rank_by: ['vector', 'kNN', [1, 2, 3]], top_k: 1 }));
    expect(q.status).toBe(200);
    expect(q.body.rows).toEqual([{ id: 1, $dist: expect.closeTo(0, 6) }]);
  });
});

describe('one bad request among concurrent good ones', () => {
  it('should fail only the bad requests, whether caught while parsing or while resolving against the state', async () => {
    // A wide group-commit window so the concurrent requests share WAL entries.
    const s = await startTestServer({ groupCommitMs: 30 });
    try {
      const url = `${s.url}/v2/namespaces/mix`;
      const postTo = async (body: unknown) => {
        const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: j(body) });
        return { status: r.status, body: (await r.json()) as { error?: string } };
      };
      expect((await postTo({ upsert_rows: [{ id: 0, n: 0, vector: [0, 1] }], distance_metric: 'euclidean_squared' })).status).toBe(200);
      const bad = [
        { upsert_rows: [{ id: 900, n: 'not an int' }] }, // parse time
        { delete_by_filter: ['n', 'Bogus', 1] }, // resolve time (filters compile against the newest schema)
        { upsert_rows: [{ id: 901, n: 1 }], upsert_condition: ['nope', 'Eq', 1] }, // resolve time
        { upsert_rows: [{ id: 902, vector: [1, 2, 3] }] }, // wrong dims
      ];
      for (let round = 0; round < 3; round++) {
        const good = Array.from({ length: 12 }, (_, i) => ({ upsert_rows: [{ id: round * 100 + i + 1, n: i, vector: [i, round] }] }));
        const all = [...good.slice(0, 6), ...bad, ...good.slice(6)];
        const answers = await Promise.all(all.map(postTo));
        const expected = all.map((b) => (bad.includes(b) ? 400 : 200));
        expect(answers.map((a) => a.status), JSON.stringify(answers.filter((a) => a.status !== 200))).toEqual(expected);
      }
      const q = await fetch(`${url}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: j({ rank_by: ['id', 'asc'], top_k: 1200 }) });
      const got = ((await q.json()) as { rows: { id: number }[] }).rows.map((r) => r.id);
      const want = [0, ...[0, 1, 2].flatMap((round) => Array.from({ length: 12 }, (_, i) => round * 100 + i + 1))];
      expect(got).toEqual(want);
    } finally {
      await s.close();
    }
  });
});
