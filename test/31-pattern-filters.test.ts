/**
 * Pattern filters (Regex, Glob) against a real `elax serve` process: patterns that make a backtracking engine run
 * for hours (`^(a+)+$` on 31 characters, `^(.*x){12}y` and a dozen-`*` glob on 5,000) must neither freeze the
 * node (/health answers while they run) nor give wrong answers; delete_by_filter with one deletes exactly the
 * matching rows; an oversized pattern is a 400.
 *
 * A child process, not an in-process server: a frozen event loop in this process would freeze the test itself.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, tempStoreDir, type ServerProcess } from './helpers/server.js';

const NS = 'patterns';
const A30B = `${'a'.repeat(30)}b`; // 31 characters, no match for ^(a+)+$
const A31 = 'a'.repeat(31);
const X5000 = 'x'.repeat(5000); // no 'y': ^(.*x){12}y fails only after trying every split
const XMATCH = `${'x'.repeat(4988)}y`; // 12 x's then y: matches
const G5000 = 'a'.repeat(5000); // no 'b' at the end: the glob below fails
const GLOB12 = `${'*a'.repeat(12)}*b`;

let server: ServerProcess;
let store: string;

interface Answer {
  status: number;
  body: { rows?: Array<{ id: number }>; code?: string; error?: string; [k: string]: unknown };
}

async function post(path: string, body: unknown, timeoutMs = 20_000): Promise<Answer> {
  const r = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: r.status, body: (await r.json()) as Answer['body'] };
}

const query = (filters: unknown) => post(`/v2/namespaces/${NS}/query`, { filters, rank_by: ['id', 'asc'], top_k: 100 });
const ids = (a: Answer) => (a.body.rows ?? []).map((r) => r.id);

/** A query running concurrently with /health probes: every probe must answer within a second. */
async function queryWhileProbing(filters: unknown): Promise<Answer> {
  const pending = query(filters);
  pending.catch(() => undefined); // reported by the await below, not as an unhandled rejection if a probe fails
  for (let i = 0; i < 3; i++) {
    const h = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(1_000) });
    expect(h.status).toBe(200);
  }
  return pending;
}

beforeAll(async () => {
  store = tempStoreDir('patterns');
  server = await startServerProcess({ store, args: ['--no-indexer'] });
  const rows = [
    { id: 1, label: A30B, text: X5000 },
    { id: 2, label: A31, text: XMATCH },
    { id: 3, label: 'apple', text: G5000 },
    { id: 4, label: 'date', text: `${G5000}b` },
    { id: 5, label: 'banana', text: 'short' },
  ];
  const w = await post(`/v2/namespaces/${NS}`, { upsert_rows: rows });
  expect(w.status).toBe(200);
}, 60_000);

afterAll(async () => {
  if (server) {
    // A frozen server does not run its SIGTERM handler: kill it if it has not exited in 2 s.
    const killer = setTimeout(() => server.child.kill('SIGKILL'), 2_000);
    await server.stop();
    clearTimeout(killer);
  }
  if (store) rmSync(store, { recursive: true, force: true });
});

describe('pattern filters on a live server', () => {
  it('should answer ^(a+)+$ on a 31-character value correctly while /health keeps answering', async () => {
    const a = await queryWhileProbing(['label', 'Regex', '^(a+)+$']);
    expect(a.status).toBe(200);
    expect(ids(a)).toEqual([2]);
  });

  it('should answer ^(.*x){12}y on a 5,000-character value correctly while /health keeps answering', async () => {
    const a = await queryWhileProbing(['text', 'Regex', '^(.*x){12}y']);
    expect(a.status).toBe(200);
    expect(ids(a)).toEqual([2]);
  });

  it('should answer a glob with a dozen * on a 5,000-character value while /health keeps answering', async () => {
    const a = await queryWhileProbing(['text', 'Glob', GLOB12]);
    expect(a.status).toBe(200);
    expect(ids(a)).toEqual([4]);
  });

  it('should match {a,b} glob alternation', async () => {
    const a = await query(['label', 'Glob', '{apple,date}']);
    expect(a.status).toBe(200);
    expect(ids(a)).toEqual([3, 4]);
  });

  it('should reject a 1 MB pattern with 400 ELAX_ERR_INVALID_FILTER', async () => {
    for (const op of ['Regex', 'Glob']) {
      const a = await query(['label', op, 'a'.repeat(1 << 20)]);
      expect(a.status).toBe(400);
      expect(a.body.code).toBe('ELAX_ERR_INVALID_FILTER');
      expect(a.body.error).toMatch(/4096 bytes/);
    }
  });

  it('should reject $ref_new in a query filter and in delete_by_filter with 400', async () => {
    const a = await query(['label', 'Eq', { $ref_new: 'label' }]);
    expect(a.status).toBe(400);
    expect(a.body.code).toBe('ELAX_ERR_INVALID_FILTER');
    expect(a.body.error).toMatch(/\{"\$ref_new": "label"\} refers to the document being written/);
    // Read as null, the reference would make this delete every document that has a text: all five here.
    const d = await post(`/v2/namespaces/${NS}`, { delete_by_filter: ['Not', ['text', 'Eq', { $ref_new: 'text' }]] });
    expect(d.status).toBe(400);
    expect(d.body.error).toMatch(/^invalid filter at delete_by_filter\[1\]: Eq on attribute 'text'/);
    expect(ids(await query(null))).toEqual([1, 2, 3, 4, 5]);
  });

  it('should delete exactly the matching rows with delete_by_filter and an adversarial Regex', async () => {
    const d = await post(`/v2/namespaces/${NS}`, { delete_by_filter: ['label', 'Regex', '^(a+)+$'], return_affected_ids: true });
    expect(d.status).toBe(200);
    expect(d.body.deleted_ids).toEqual([2]);
    const d2 = await post(`/v2/namespaces/${NS}`, { delete_by_filter: ['text', 'Regex', '^(.*x){12}y'] });
    expect(d2.status).toBe(200);
    expect(d2.body.rows_deleted).toBe(0); // its only match (2) is gone already
    const left = await query(null);
    expect(ids(left)).toEqual([1, 3, 4, 5]);
  });
});
