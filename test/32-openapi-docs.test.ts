/**
 * The published contract covers the documented API: every route (method + path) docs/api.md names is in the OpenAPI
 * document served at GET /openapi.json, and so is every request field its tables list.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { startMemoryApp, type MemoryApp } from './helpers/memory-app.js';

const METHODS = 'GET|POST|DELETE|PATCH|PUT';
const ROUTE = new RegExp(`\`(${METHODS}) (/[^\`\\s?]*)`, 'g');
const HEADING_ROUTE = new RegExp(`(?:^|\`)(${METHODS}) (/[^\`\\s?]*)`);

interface Route {
  method: string;
  path: string;
}
const key = (r: Route) => `${r.method} ${r.path}`;
/** A path with its parameters unnamed, in either spelling (`/v2/namespaces/:dest`, `/v2/namespaces/{ns}`). */
const shape = (p: string) => p.replace(/:\w+|\{\w+\}/g, '{}');

/** Backticked identifiers of a table cell or heading (`top_k` / `limit` → both). */
const names = (text: string) => [...text.matchAll(/`([a-z_][a-z0-9_]*)`/g)].map((m) => m[1]!);

/**
 * Routes docs/api.md names, and the request fields of each: rows of `| field | ... |` tables (only `request` rows when
 * the table has a `where` column), names in the sub-headings of a route's section, and `{a?, b?}` bodies written
 * next to a route in a table.
 */
export function documentedApi(md: string): { routes: Route[]; fields: Map<string, Set<string>>; queryParams: Map<string, Set<string>> } {
  const routes = new Map<string, Route>();
  const queryParams = new Map<string, Set<string>>();
  const fields = new Map<string, Set<string>>();
  const addField = (r: Route | null, f: string) => {
    if (!r) return;
    let s = fields.get(key(r));
    if (!s) fields.set(key(r), (s = new Set()));
    s.add(f);
  };
  let section: Route | null = null; // the route of the current `##` heading, inherited by its `###` headings
  let sub: Route | null = null;
  let columns: string[] | null = null;
  for (const line of md.split('\n')) {
    for (const m of line.matchAll(ROUTE)) {
      const r = { method: m[1]!, path: m[2]! };
      routes.set(key(r), r);
      // `GET /v1/namespaces?prefix=&cursor=`: the query string's parameters.
      const qs = /^\?([^`\s]*)/.exec(line.slice(m.index! + m[0].length));
      if (qs) {
        let s = queryParams.get(key(r));
        if (!s) queryParams.set(key(r), (s = new Set()));
        for (const p of qs[1]!.split('&')) if (p.split('=')[0]) s.add(p.split('=')[0]!);
      }
    }
    const h = /^(#{2,3}) (.*)$/.exec(line);
    if (h) {
      const m = HEADING_ROUTE.exec(h[2]!);
      const r = m ? { method: m[1]!, path: m[2]! } : null;
      if (r) routes.set(key(r), r);
      if (h[1] === '##') {
        section = r;
        sub = r;
      } else {
        sub = r ?? section;
        if (!r) for (const f of names(h[2]!)) addField(section, f);
      }
      columns = null;
      continue;
    }
    if (!line.startsWith('|')) {
      columns = null;
      continue;
    }
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (columns === null) {
      columns = cells.map((c) => c.toLowerCase());
      continue;
    }
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    if (columns[0] === 'field') {
      const where = columns.indexOf('where');
      if (where >= 0 && cells[where] !== 'request') continue;
      for (const f of names(cells[0]!)) addField(sub, f);
    } else {
      // `| \`POST /path\` | \`{a?: 1, b?}\` → ... |`: the body's fields.
      const m = new RegExp(`^\`(${METHODS}) (/[^\`\\s?]*)`).exec(cells[0] ?? '');
      const body = /^`\{([^}]*)\}`/.exec(cells[1] ?? '');
      if (m && body && m[1] !== 'GET' && m[1] !== 'DELETE') for (const f of body[1]!.matchAll(/([a-z_][a-z0-9_]*)\??:?/g)) addField({ method: m[1]!, path: m[2]! }, f[1]!);
    }
  }
  return { routes: [...routes.values()], fields, queryParams };
}

describe('docs/api.md against GET /openapi.json', () => {
  let app: MemoryApp;
  let doc: { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }; parameters?: { in: string; name: string }[] }>> };
  const md = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
  const api = documentedApi(md);

  /** The operation of a documented route. */
  const op = (method: string, path: string) => {
    const p = Object.keys(doc.paths).find((k) => shape(k) === shape(path));
    return p === undefined ? undefined : doc.paths[p]![method.toLowerCase()];
  };

  beforeAll(async () => {
    app = await startMemoryApp();
    const r = await fetch(`${app.url}/openapi.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    doc = (await r.json()) as typeof doc;
  });
  afterAll(() => app.close());

  it('should parse the routes and fields docs/api.md documents (the test is not vacuous)', () => {
    const routes = api.routes.map(key);
    for (const r of ['POST /v2/namespaces/:ns', 'POST /v2/namespaces/:ns/query', 'GET /v1/namespaces', 'DELETE /v2/namespaces/:ns', 'GET /openapi.json']) {
      expect(routes).toContain(r);
    }
    expect(api.fields.get('POST /v2/namespaces/:ns')).toEqual(expect.objectContaining({ size: expect.any(Number) }));
    expect([...api.fields.get('POST /v2/namespaces/:ns')!]).toEqual(expect.arrayContaining(['upsert_rows', 'patch_by_filter', 'branch_from_namespace']));
    expect([...api.fields.get('POST /v2/namespaces/:ns/query')!]).toEqual(expect.arrayContaining(['rank_by', 'top_k', 'limit', 'ef_search']));
    expect([...api.fields.get('POST /v1/namespaces/:ns/_debug/recall')!]).toEqual(expect.arrayContaining(['num', 'probes', 'exclude_self']));
    expect([...api.fields.values()].reduce((n, s) => n + s.size, 0)).toBeGreaterThan(35);
  });

  it('should be OpenAPI 3.1 with every documented route', () => {
    expect(doc.openapi).toBe('3.1.0');
    const missing = api.routes.filter((r) => op(r.method, r.path) === undefined).map(key);
    expect(missing).toEqual([]);
  });

  it('should have every documented request field in its route\'s body schema', () => {
    const missing: string[] = [];
    for (const [route, fs] of api.fields) {
      const [method, path] = route.split(' ') as [string, string];
      const props = op(method, path)?.requestBody?.content['application/json']?.schema.properties ?? {};
      for (const f of fs) if (!Object.hasOwn(props, f)) missing.push(`${route}: ${f}`);
    }
    expect(missing).toEqual([]);
  });

  it('should have every documented query-string parameter', () => {
    expect([...api.queryParams.get('GET /v1/namespaces')!]).toEqual(['prefix', 'cursor', 'page_size']);
    const missing: string[] = [];
    for (const [route, ps] of api.queryParams) {
      const [method, path] = route.split(' ') as [string, string];
      const params = op(method, path)?.parameters ?? [];
      for (const p of ps) if (!params.some((x) => x.in === 'query' && x.name === p)) missing.push(`${route}: ${p}`);
    }
    expect(missing).toEqual([]);
  });

  it('should document the path parameter and the headers the docs name', () => {
    const write = doc.paths['/v2/namespaces/{ns}']!.post!;
    expect(write.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'path', name: 'ns' }), expect.objectContaining({ in: 'header', name: 'idempotency-key' })]));
    expect(md).toMatch(/Idempotency-Key/);
    const query = doc.paths['/v2/namespaces/{ns}/query']!.post!;
    expect(query.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'x-elax-query-timeout-ms' })]));
    expect(md).toMatch(/X-Elax-Query-Timeout-Ms/);
  });

  it('should describe the error answer on every operation, and the optional recall body', () => {
    for (const ops of Object.values(doc.paths)) {
      for (const o of Object.values(ops) as { responses?: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }[]) {
        expect(o.responses?.default?.content?.['application/json']?.schema.$ref).toBe('#/components/schemas/Error');
      }
    }
    expect((doc.paths['/v1/namespaces/{ns}/_debug/recall']!.post!.requestBody as { required?: boolean }).required).toBe(false);
    expect((doc.paths['/v2/namespaces/{ns}']!.post!.requestBody as { required?: boolean }).required).toBe(true);
  });

  it('should not leak the server-side message annotations into the document', () => {
    expect(JSON.stringify(doc)).not.toContain('x-elax-error');
  });
});

describe('documentedApi', () => {
  it('should read routes, field tables, request-only rows, sub-headings and inline bodies', () => {
    const md = [
      '## POST /v2/x/:ns — write',
      '| field | meaning |',
      '|---|---|',
      '| `a` / `b` | ... |',
      '### More: `c`',
      '## Other',
      '| method and path | answer |',
      '|---|---|',
      '| `POST /v1/y/:ns` | `{n?: 25, m?}` → `{out}` |',
      '| `GET /v1/z?a=&b=1` | `{q}` |',
      '### Tuning: `POST /v1/y/:ns`',
      '| field | where | meaning |',
      '|---|---|---|',
      '| `p` | request | |',
      '| `r` | response | |',
    ].join('\n');
    const api = documentedApi(md);
    expect(api.routes.map(key).sort()).toEqual(['GET /v1/z', 'POST /v1/y/:ns', 'POST /v2/x/:ns']);
    expect([...api.fields.get('POST /v2/x/:ns')!].sort()).toEqual(['a', 'b', 'c']);
    expect([...api.fields.get('POST /v1/y/:ns')!].sort()).toEqual(['m', 'n', 'p']);
    expect(api.fields.has('GET /v1/z')).toBe(false);
    expect([...api.queryParams.get('GET /v1/z')!]).toEqual(['a', 'b']);
  });
});
