/**
 * `elax recall` end to end: a table or JSON per namespace, through a server or straight from the store, --all over
 * several namespaces (one without vectors is listed as skipped), and exit code 3 below --min-recall.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { ELAX_BIN, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  const post = (ns: string, body: object) =>
    fetch(`${server.url}/v2/namespaces/${ns}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const rows = Array.from({ length: 300 }, (_, i) => ({ id: i, vector: [Math.cos(i), Math.sin(i), i % 3], kind: i % 2 ? 'odd' : 'even' }));
  expect((await post('r1', { distance_metric: 'cosine_distance', upsert_rows: rows })).status).toBe(200);
  expect((await post('r2', { distance_metric: 'euclidean_squared', upsert_rows: rows.slice(0, 50) })).status).toBe(200);
  expect((await post('text-only', { upsert_rows: [{ id: 1, title: 'no vectors here' }] })).status).toBe(200);
});
afterAll(async () => {
  await server.close();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ELAX_BIN, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('elax recall', () => {
  it('should report one namespace as JSON and as a table, and exit 0 at or above --min-recall', async () => {
    const json = await cli(['recall', '--ns', 'r1', '--url', server.url, '--num', '5', '--json', '--min-recall', '0.9']);
    expect(json.code, json.stderr).toBe(0);
    const [row] = JSON.parse(json.stdout);
    expect(row).toMatchObject({ namespace: 'r1', avg_recall: 1, avg_ann_count: 10, avg_exhaustive_count: 10, below_min: false });
    const table = await cli(['recall', '--ns', 'r1', '--url', server.url, '--num', '3', '--filters', '["kind","Eq","odd"]']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^namespace\s+avg_recall\s+avg_ann_count\s+avg_exhaustive_count\s+latency_ms$/);
    expect(table.stdout).toMatch(/^r1\s+1\.0000\s+10\s+10\s+\d+/m);
  }, 60_000);

  it('should cover every namespace with --all, skip those without vectors, and exit 3 below --min-recall', async () => {
    const res = await cli(['recall', '--all', '--url', server.url, '--num', '3', '--top-k', '5', '--json', '--min-recall', '1.01']);
    expect(res.code).toBe(3);
    const rows = JSON.parse(res.stdout) as Array<{ namespace: string; skipped?: string; below_min?: boolean }>;
    expect(rows.map((r) => r.namespace)).toEqual(['r1', 'r2', 'text-only']);
    expect(rows.find((r) => r.namespace === 'text-only')).toMatchObject({ skipped: 'no vectors' });
    expect(rows.filter((r) => r.below_min).map((r) => r.namespace)).toEqual(['r1', 'r2']);
    expect(res.stderr).toMatch(/recall below 1.01: r1 \(1.0000\), r2 \(1.0000\)/);
  }, 60_000);

  it('should evaluate straight from the store, and name a bad flag', async () => {
    const res = await cli(['recall', '--ns', 'r2', '--store', server.storeDir, '--num', '2', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)[0]).toMatchObject({ namespace: 'r2', avg_recall: 1 });
    const bad = await cli(['recall', '--ns', 'r2', '--all', '--url', server.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/exactly one of --ns NS or --all/);
  }, 60_000);
});
