/**
 * The cost of validating request bodies at the edge (server/route-schemas.ts, compiled by ajv with the server's
 * options), in isolation, next to what the request costs anyway: JSON.parse of its text and the engine's own parser
 * (parseWriteRequest / parseQuery, which validate everything again). CPU only, one thread: measures the same on a
 * busy machine, give or take the noise of sharing a core.
 *
 * Then the whole fastify validation path (ajv plus fastify's wrapper, path parameters and headers): two in-process
 * apps with the same routes, handlers that answer at once, one with the route schemas and one without; requests by
 * `inject` (no sockets), the two apps alternating round by round so that a busy machine slows both alike.
 *
 *   node bin/run-ts.mjs bench/edge-validation.ts [--rounds 200]
 */
import { parseArgs } from 'node:util';
import { Ajv } from 'ajv';
import Fastify from 'fastify';
import { EDGE_AJV } from '../server/edge-errors.js';
import { jsonBody, nsParams, queryBody, writeBody } from '../server/route-schemas.js';
import { parseWriteRequest } from '../crates-ts/schema/write-request.js';
import { parseQuery, parseMultiQuery } from '../crates-ts/query/index.js';
import type { Schema } from '../crates-ts/core/index.js';
import { machine, rng } from './lib.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '200' } } });
const rounds = Number(values.rounds);

const ajv = new Ajv({ ...EDGE_AJV.customOptions, addUsedSchema: false });
for (const p of EDGE_AJV.plugins) p(ajv);
const validateWrite = ajv.compile(writeBody);
const validateQuery = ajv.compile(queryBody);

const rand = rng(7);
const vec = (dims: number) => Array.from({ length: dims }, () => Math.round((rand() * 2 - 1) * 1e6) / 1e6);
const writeText = (rows: number, dims: number) =>
  JSON.stringify({
    upsert_rows: Array.from({ length: rows }, (_, i) => ({ id: i, vector: vec(dims), category: `c${i % 10}`, n: i })),
    distance_metric: 'cosine_distance',
  });

const schema: Schema = {
  id: { type: 'uint' },
  vector: { type: '[128]f32', ann: { distance_metric: 'cosine_distance' } },
  category: { type: 'string', filterable: true },
  n: { type: 'int', filterable: true },
};
const ctx = { schema, distanceMetric: 'cosine_distance' as const };

/** Median ms of `fn` over `n` runs (after 3 warm-up runs). */
function median(n: number, fn: () => unknown): number {
  for (let i = 0; i < 3; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

const cases: { name: string; text: string; n: number; validate: (b: unknown) => boolean; engine: (b: unknown) => unknown }[] = [
  { name: 'write 1k rows x 128-d', text: writeText(1000, 128), n: rounds, validate: validateWrite, engine: (b) => parseWriteRequest(b, { schema: {}, distanceMetric: null }) },
  { name: 'write 100k rows x 128-d', text: writeText(100_000, 128), n: Math.max(5, Math.round(rounds / 40)), validate: validateWrite, engine: (b) => parseWriteRequest(b, { schema: {}, distanceMetric: null }) },
  {
    name: 'query ANN 128-d + filter',
    text: JSON.stringify({ rank_by: ['vector', 'ANN', vec(128)], top_k: 10, filters: ['And', [['category', 'Eq', 'c1'], ['n', 'Lt', 500]]], include_attributes: ['category'] }),
    n: rounds * 50,
    validate: validateQuery,
    engine: (b) => parseQuery(b, ctx),
  },
  { name: 'query order by + top_k', text: JSON.stringify({ rank_by: ['n', 'desc'], top_k: 100, consistency: { level: 'strong' } }), n: rounds * 50, validate: validateQuery, engine: (b) => parseQuery(b, ctx) },
  {
    name: 'multi-query 4 x ANN 128-d',
    text: JSON.stringify({ queries: Array.from({ length: 4 }, () => ({ rank_by: ['vector', 'ANN', vec(128)], top_k: 10 })), rerank_by: ['RRF'] }),
    n: rounds * 50,
    validate: validateQuery,
    engine: (b) => parseMultiQuery(b, ctx),
  },
];

console.log(`machine: ${machine()}`);
console.log(`rounds=${rounds} (medians; 100k-row write: ${cases[1]!.n} runs)`);
const out = [];
for (const c of cases) {
  const body = JSON.parse(c.text) as unknown;
  if (!c.validate(body)) throw new Error(`${c.name}: the edge refuses the bench body: ${JSON.stringify(ajv.errors)}`);
  const parse = median(c.n, () => JSON.parse(c.text));
  const validate = median(c.n, () => c.validate(body));
  const engine = median(c.n, () => c.engine(body));
  out.push({
    body: c.name,
    bytes: c.text.length,
    json_parse_ms: +parse.toFixed(4),
    engine_parse_ms: +engine.toFixed(4),
    edge_validate_ms: +validate.toFixed(5),
    edge_share_pct: +((100 * validate) / (parse + engine)).toFixed(3),
  });
}
console.table(out);

/** Two apps, with and without the route schemas, and the median µs of one request to each (alternating rounds). */
async function injectOverhead(texts: { name: string; url: string; text: string }[], perRound: number, roundsN: number) {
  const build = (withSchemas: boolean) => {
    const app = Fastify({ ajv: EDGE_AJV, bodyLimit: 64 * 2 ** 20 });
    const opts = (body: Record<string, unknown>) =>
      withSchemas ? { schema: { params: nsParams, headers: { type: 'object', properties: { 'idempotency-key': { type: 'string' } } }, body: jsonBody(body) } } : {};
    app.post('/v2/namespaces/:ns', opts(writeBody), async () => ({ status: 'OK' }));
    app.post('/v2/namespaces/:ns/query', opts(queryBody), async () => ({ rows: [] }));
    return app;
  };
  const apps = { without: build(false), with: build(true) };
  await Promise.all(Object.values(apps).map((a) => a.ready()));
  const rows = [];
  for (const t of texts) {
    const times: Record<'with' | 'without', number[]> = { with: [], without: [] };
    for (let r = 0; r < roundsN; r++) {
      for (const k of r % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
        const s = performance.now();
        for (let i = 0; i < perRound; i++) {
          const res = await apps[k].inject({ method: 'POST', url: t.url, headers: { 'content-type': 'application/json' }, payload: t.text });
          if (res.statusCode !== 200) throw new Error(`${t.name}: ${res.statusCode} ${res.body}`);
        }
        times[k].push(((performance.now() - s) * 1000) / perRound);
      }
    }
    const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    rows.push({ request: t.name, without_schemas_us: +med(times.without).toFixed(1), with_schemas_us: +med(times.with).toFixed(1), delta_us: +(med(times.with) - med(times.without)).toFixed(1) });
  }
  await Promise.all(Object.values(apps).map((a) => a.close()));
  return rows;
}

console.log('fastify inject, median µs per request over alternating rounds:');
console.table(
  await injectOverhead(
    [
      { name: 'write 1k rows x 128-d', url: '/v2/namespaces/ns', text: cases[0]!.text },
      { name: 'query ANN 128-d + filter', url: '/v2/namespaces/ns/query', text: cases[2]!.text },
      { name: 'query order by + top_k', url: '/v2/namespaces/ns/query', text: cases[3]!.text },
    ],
    20,
    Math.max(10, Math.round(rounds / 4)),
  ),
);
