import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ElaxError } from '../crates-ts/core/index.js';
import type { Engine } from '../crates-ts/engine/index.js';
import { parseWriteRequest } from '../crates-ts/schema/write-request.js';
import { parseSchemaUpdate } from '../crates-ts/schema/schema-update.js';
import { parseCloneRequest } from '../crates-ts/engine/branch.js';
import { evaluateRecall } from '../crates-ts/engine/recall.js';
import { parseQuery, parseMultiQuery } from '../crates-ts/query/index.js';
import { SCHEMA } from '../crates-ts/query/test-helpers.js';
import type { NamespaceView } from '../crates-ts/namespace/index.js';
import { buildApp } from './app.js';
import { enginePath, MESSAGE_KEYWORD } from './edge-errors.js';
import { metadataPatchBody, queryBody, recallBody, RECALL_KEYS, schemaBody, WRITE_KEYS, writeBody } from './route-schemas.js';
import { parseMetadataPatch } from '../crates-ts/engine/pinning.js';

/** An engine every body-taking method of which records the body: a request that reaches it passed the edge. */
function recordingEngine(seen: unknown[]): Engine {
  const take = async (_ns: string, body: unknown) => {
    seen.push(body);
    return { status: 'OK' };
  };
  return { write: take, query: take, multiQuery: take, explainQuery: take, updateSchema: take, recall: take, updateMetadata: take, store: { description: 'none' }, writer: { alone: null } } as unknown as Engine;
}

/** What the engine's own parser says about a body (null: it accepts it). */
function engineVerdict(fn: () => unknown): { code: string; message: string } | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (!(e instanceof ElaxError)) throw e;
    return { code: e.code, message: e.message };
  }
}
async function engineVerdictAsync(fn: () => Promise<unknown>): Promise<{ code: string; message: string } | null> {
  try {
    await fn();
    return null;
  } catch (e) {
    if ((e as Error).message === PAST) return null;
    if (!(e instanceof ElaxError)) throw e;
    return { code: e.code, message: e.message };
  }
}

const writeParse = (b: unknown) => parseCloneRequest(b, 'dest') ?? parseWriteRequest(b, { schema: {}, distanceMetric: null });
const queryParse = (b: unknown) => parseQuery(b, { schema: SCHEMA, distanceMetric: 'cosine_distance' });
const multiParse = (b: unknown) => parseMultiQuery(b, { schema: SCHEMA, distanceMetric: 'cosine_distance' });
/** A view that stops evaluateRecall as soon as its validation is over (it reads the view only after). */
const PAST = 'past validation';
const pastValidation = new Proxy({}, { get: () => { throw new Error(PAST); } }) as NamespaceView;
const recallParse = (b: unknown) => evaluateRecall(pastValidation, (b ?? {}) as never, Math.random, { clusters: async () => 4 });

describe('route schemas at the edge', () => {
  const seen: unknown[] = [];
  let app: FastifyInstance;
  beforeAll(async () => {
    app = buildApp({ engine: recordingEngine(seen) });
    await app.ready();
  });
  afterAll(() => app.close());

  const post = async (url: string, body: unknown, method: 'POST' | 'PATCH' = 'POST') => {
    seen.length = 0;
    const r = await app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    return { status: r.statusCode, body: r.json() as { code?: string; error?: string }, reached: seen.length > 0 };
  };

  /** The edge refuses `body` itself (the engine is never called) with exactly what the engine's parser would say. */
  const refusedLikeEngine = async (url: string, body: unknown, expected: { code: string; message: string } | null, method: 'POST' | 'PATCH' = 'POST') => {
    expect(expected, `the engine accepts ${JSON.stringify(body)}`).not.toBeNull();
    const r = await post(url, body, method);
    expect(r.reached, `${JSON.stringify(body)} reached the engine`).toBe(false);
    expect(r.status).toBe(400);
    expect({ code: r.body.code, message: r.body.error }).toEqual(expected);
  };

  const badWrites: unknown[] = [
    [1],
    'x',
    { foo: 1 },
    { upsert_rows: 5 },
    { patch_rows: {} },
    { upsert_columns: [1] },
    { upsert_columns: { a: [1] } },
    { upsert_columns: { id: 5 } },
    { patch_columns: { id: [1], a: 'x' } },
    { upsert_columns: { id: [1], a: null } },
    { upsert_columns: { id: [1], vector: 5 } },
    { deletes: 'x' },
    { delete_by_filter: ['a', 'Eq', 1], delete_by_filter_allow_partial: 'yes' },
    { patch_by_filter: { filters: ['a', 'Eq', 1], patch: {} }, patch_by_filter_allow_partial: [true] },
    { return_affected_ids: 1 },
    { disable_backpressure: {} },
    { patch_by_filter: [] },
    { patch_by_filter: { filters: ['a', 'Eq', 1], patch: {}, extra: 1 } },
    { patch_by_filter: { patch: { a: 1 } } },
    { patch_by_filter: { filters: ['a', 'Eq', 1], patch: 3 } },
    { patch_by_filter: { filters: ['a', 'Eq', 1], patch: null } },
    { distance_metric: 'dot' },
    { distance_metric: 3 },
    { schema: 'x' },
    { schema: { a: 5 } },
    { schema: { a: null } },
    { schema: { a: [] } },
    { encryption: 'default' },
    { branch_from_namespace: 5 },
    { copy_from_namespace: null },
    { copy_from_namespace: ['src'] },
    { branch_from_namespace: { source_namespace: 5 } },
    { copy_from_namespace: { source_namespace: 'src', source_api_key: 1 } },
  ];
  it.each(badWrites.map((b) => [JSON.stringify(b), b]))('write %s: refused at the edge with the engine message', async (_s, body) => {
    await refusedLikeEngine('/v2/namespaces/ns', body, engineVerdict(() => writeParse(body)));
  });

  const badQueries: unknown[] = [
    [1],
    7,
    { top_k: 0 },
    { top_k: 1.5 },
    { top_k: '5' },
    { top_k: 10_001 },
    { limit: 'x' },
    { limit: [5] },
    { limit: { total: 0 } },
    { limit: { total: 2.5 } },
    { limit: { total: 20_000 } },
    { rank_by: 'id' },
    { rank_by: [] },
    { include_attributes: 'a' },
    { exclude_attributes: true },
    { aggregate_by: [] },
    { aggregate_by: { c: ['Count'] }, group_by: [] },
    { aggregate_by: { c: ['Count'] }, group_by: 'color' },
    { distance_metric: 'dot' },
    { vector_encoding: 'hex' },
    { consistency: 'strong' },
    { consistency: { level: 'weak' } },
    { consistency: { level: 'strong', x: 1 } },
    { rank_by: ['vector', 'ANN', [1, 2, 3, 4]], ef_search: 0 },
    { rank_by: ['vector', 'ANN', [1, 2, 3, 4]], ef_search: 2.5 },
    { rank_by: ['vector', 'ANN', [1, 2, 3, 4]], ef_search: 10_001 },
  ];
  it.each(badQueries.map((b) => [JSON.stringify(b), b]))('query %s: refused at the edge with the engine message', async (_s, body) => {
    const expected = engineVerdict(() => queryParse(body));
    await refusedLikeEngine('/v2/namespaces/ns/query', body, expected);
    await refusedLikeEngine('/v2/namespaces/ns/explain_query', body, expected);
  });

  const badMultiQueries: unknown[] = [
    { queries: 'x' },
    { queries: [] },
    { queries: Array.from({ length: 17 }, () => ({})) },
    { queries: [{}, null] },
    { queries: [{}], rerank_by: 'RRF' },
    { queries: [{}], rerank_by: [] },
    { queries: [{}], rerank_by: ['RRF', {}, 1] },
    { queries: [{}], vector_encoding: 'hex' },
    { queries: [{}], consistency: { level: 'x' } },
  ];
  it.each(badMultiQueries.map((b) => [JSON.stringify(b), b]))('multi-query %s: refused at the edge with the engine message', async (_s, body) => {
    await refusedLikeEngine('/v2/namespaces/ns/query', body, engineVerdict(() => multiParse(body)));
  });

  const badSchemas: unknown[] = [[], 'x', { a: 1 }, { a: null }, { a: true }];
  it.each(badSchemas.map((b) => [JSON.stringify(b), b]))('schema update %s: refused at the edge with the engine message', async (_s, body) => {
    await refusedLikeEngine('/v1/namespaces/ns/schema', body, engineVerdict(() => parseSchemaUpdate(body)));
  });

  const badRecalls: unknown[] = [
    [],
    { foo: 1 },
    { num: 0 },
    { num: 1001 },
    { num: 'x' },
    { top_k: 0 },
    { top_k: 1201 },
    { top_k: 2.5 },
    { probes: 0 },
    { probes: 1_000_001 },
    { eps0: 0 },
    { eps0: 10.5 },
    { eps0: 'x' },
    { seed: -1 },
    { seed: 2 ** 32 },
    { exclude_self: 1 },
  ];
  it.each(badRecalls.map((b) => [JSON.stringify(b), b]))('recall %s: refused at the edge with the engine message', async (_s, body) => {
    await refusedLikeEngine('/v1/namespaces/ns/_debug/recall', body, await engineVerdictAsync(() => recallParse(body)));
  });

  const badPatches: unknown[] = [[], 'x', 3, { zzz: 1 }, { pinning: 'yes' }, { pinning: [] }, { pinning: 2 }, { pinning: { replicas: 0 } }, { pinning: { replicas: 1.5 } }, { pinning: { replicas: '2' } }, { pinning: { zone: 'a' } }];
  it.each(badPatches.map((b) => [JSON.stringify(b), b]))('metadata patch %s: refused at the edge with the engine message', async (_s, body) => {
    await refusedLikeEngine('/v1/namespaces/ns/metadata', body, engineVerdict(() => parseMetadataPatch(body)), 'PATCH');
  });

  it('should pass metadata patches the engine accepts through unchanged', async () => {
    for (const b of [{}, { pinning: true }, { pinning: false }, { pinning: null }, { pinning: {} }, { pinning: { replicas: 3 } }, { pinning: { replicas: null } }]) {
      expect(engineVerdict(() => parseMetadataPatch(b))).toBeNull();
      const r = await post('/v1/namespaces/ns/metadata', b, 'PATCH');
      expect(r.status, JSON.stringify(b)).toBe(200);
      expect(seen).toEqual([b]);
    }
  });

  it('should pass bodies the engine accepts through unchanged (no coercion, no defaults, no removed keys)', async () => {
    const writes: unknown[] = [
      {},
      { upsert_rows: [{ id: 1, vector: [0.1, 0.2], a: 'x' }], distance_metric: 'cosine_distance', return_affected_ids: null },
      { upsert_columns: { id: ['1'], vector: 'AACAPwAAAEA=', n: [5] }, distance_metric: 'euclidean_squared' },
      { upsert_columns: { id: [1], vector: null }, deletes: null, schema: { a: 'string', b: { type: 'int' } }, sharding: null },
      { patch_by_filter: { filters: ['a', 'Eq', 1], patch: { a: 2 } }, patch_by_filter_allow_partial: true, encryption: { mode: 'default' } },
      { branch_from_namespace: 'src' },
      { copy_from_namespace: { source_namespace: 'src', source_api_key: 'k' } },
    ];
    for (const b of writes) {
      const r = await post('/v2/namespaces/ns', b);
      expect(r.reached, JSON.stringify(b)).toBe(true);
      expect(seen[0]).toEqual(b);
      expect(engineVerdict(() => writeParse(b))).toBeNull();
    }
    const queries: unknown[] = [
      {},
      { rank_by: ['vector', 'ANN', [1, 2, 3, 4]], top_k: 5, ef_search: 64, include_attributes: true, consistency: { level: 'eventual' } },
      { rank_by: ['n', 'asc'], limit: { total: 3, per: { attributes: ['color'], limit: 1 } }, filters: ['n', 'Gt', 1], vector_encoding: 'base64' },
      { top_k: null, limit: 7, distance_metric: 'euclidean_squared', exclude_attributes: ['color'] },
      { aggregate_by: { c: ['Count'] }, group_by: ['color'] },
      { queries: [{ top_k: 1 }, { rank_by: ['n', 'desc'] }], rerank_by: ['RRF', { rank_constant: 10 }] },
    ];
    for (const b of queries) {
      const r = await post('/v2/namespaces/ns/query', b);
      expect(r.reached, JSON.stringify(b)).toBe(true);
      expect(seen[0]).toEqual(b);
      expect(engineVerdict(() => ('queries' in (b as object) ? multiParse(b) : queryParse(b)))).toBeNull();
    }
    for (const b of [{}, { num: 3, top_k: 5, probes: 2, eps0: 1.5, seed: 7, exclude_self: true, include_ground_truth: true }]) {
      const r = await post('/v1/namespaces/ns/_debug/recall', b);
      expect(r.reached, JSON.stringify(b)).toBe(true);
      expect(seen[0]).toEqual(b);
    }
  });

  it('should leave a bodiless POST and the engine-only checks to the engine', async () => {
    seen.length = 0;
    const r = await app.inject({ method: 'POST', url: '/v1/namespaces/ns/_debug/recall' });
    expect(r.statusCode).toBe(200);
    expect(seen).toEqual([undefined]);
    // Unknown query keys: the engine names them (with the v2 spelling of v1 keys).
    expect((await post('/v2/namespaces/ns/query', { vector: [1] })).reached).toBe(true);
    // Rows are not walked twice: a bad value inside a row is the engine's to name.
    expect((await post('/v2/namespaces/ns', { upsert_rows: [{ id: {} }] })).reached).toBe(true);
    expect((await post('/v2/namespaces/ns', { upsert_rows: [{ id: 1 }, 7] })).reached).toBe(true);
    // So are unknown fields of a branch source (the engine names all of them).
    expect((await post('/v2/namespaces/ns', { branch_from_namespace: { source_namespace: 'src', source_api_key: 'k' } })).reached).toBe(true);
  });

  it('should refuse a non-boolean *_allow_partial even without its filter (the engine ignores it then)', async () => {
    for (const k of ['delete_by_filter_allow_partial', 'patch_by_filter_allow_partial']) {
      const r = await post('/v2/namespaces/ns', { [k]: 'yes' });
      expect(r.reached).toBe(false);
      expect(r.body).toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', error: `${k} must be a boolean, got string` });
      expect(engineVerdict(() => writeParse({ [k]: 'yes' }))).toBeNull();
    }
  });

  it('should know every key the engine parsers know (a new engine field needs its schema property)', async () => {
    for (const k of WRITE_KEYS) {
      const v = engineVerdict(() => writeParse({ [k]: null }));
      expect(v?.message ?? '', k).not.toMatch(/unknown write parameter/);
    }
    expect(engineVerdict(() => writeParse({ zzz: null }))?.message).toBe("unknown write parameter 'zzz'");
    for (const k of Object.keys(queryBody.properties as object)) {
      if (k === 'queries' || k === 'rerank_by') continue;
      expect(engineVerdict(() => queryParse({ [k]: null })), k).toBeNull();
    }
    for (const k of RECALL_KEYS) expect(await engineVerdictAsync(() => recallParse({ [k]: null })), k).toBeNull();
    expect(await engineVerdictAsync(() => recallParse({ zzz: 1 }))).toMatchObject({ message: "unknown recall parameter 'zzz'" });
  });

  it('should give every constraint of a body schema its message', () => {
    const constraints = ['type', 'enum', 'minimum', 'maximum', 'exclusiveMinimum', 'minItems', 'maxItems', 'required'];
    const missing: string[] = [];
    const walk = (s: unknown, where: string) => {
      if (typeof s !== 'object' || s === null) return;
      const o = s as Record<string, unknown>;
      if ((constraints.some((c) => c in o) || o.additionalProperties === false) && !(MESSAGE_KEYWORD in o)) missing.push(where);
      for (const [k, v] of Object.entries(o.properties ?? {})) walk(v, `${where}.${k}`);
      for (const k of ['items', 'additionalProperties', 'propertyNames'] as const) if (typeof o[k] === 'object') walk(o[k], `${where}[${k}]`);
    };
    for (const [name, s] of Object.entries({ writeBody, queryBody, schemaBody, recallBody, metadataPatchBody })) walk(s, name);
    expect(missing).toEqual([]);
  });
});

describe('enginePath', () => {
  it('should spell JSON pointers as the engine names places', () => {
    expect(enginePath('')).toBe('');
    expect(enginePath('/upsert_rows/3')).toBe('upsert_rows[3]');
    expect(enginePath('/consistency/level')).toBe('consistency.level');
    expect(enginePath('/schema/a~1b')).toBe('schema.a/b');
  });
});
