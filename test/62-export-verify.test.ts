/**
 * `elax export` and `elax verify` end to end (CLI processes against a server): export is ordered by id, pages past
 * 1,200 rows and round-trips through `elax writes ingest` in NDJSON and Parquet; verify finds planted missing,
 * extra and stale rows (an attribute and a vector), and --repair writes exactly those rows, nothing else.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore } from '../crates-ts/store/index.js';
import { WalLog, decodeWalEntry } from '../crates-ts/wal/index.js';
import { ELAX_BIN, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(path.join(tmpdir(), 'elax-export-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ELAX_BIN, ...args], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const source = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: i, vector: [i % 7, (i * 3) % 11, 1], kind: ['a', 'b', 'c'][i % 3], n: i, tags: [`t${i % 4}`], when: `2026-01-0${1 + (i % 9)}T00:00:00Z` }));

async function write(ns: string, rows: object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const r = await fetch(`${server.url}/v2/namespaces/${ns}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ distance_metric: 'euclidean_squared', schema: { when: 'datetime' }, upsert_rows: rows.slice(i, i + 500) }),
    });
    expect(r.status).toBe(200);
  }
}

/** Ids written by each WAL entry after `after`, per entry. */
async function walIdsAfter(ns: string, after: number): Promise<unknown[][]> {
  const store = await openStore(server.storeDir);
  const log = new WalLog(store, ns);
  const out: unknown[][] = [];
  for (const o of await log.listAfter(after)) out.push(decodeWalEntry(o.seq, (await log.readBytes(o.seq))!).ops.map((op) => (op.kind === 'upsert' ? op.doc.id : op.id)));
  await store.close();
  return out;
}

async function walHead(ns: string): Promise<number> {
  const store = await openStore(server.storeDir);
  const list = await new WalLog(store, ns).listAfter(0);
  await store.close();
  return list.length ? list[list.length - 1]!.seq : 0;
}

describe('elax export', () => {
  it('should export every row in id order across pages and round-trip through ingest as NDJSON and Parquet', async () => {
    const rows = source(2600);
    await write('exp', [...rows].reverse());
    const nd = path.join(dir, 'exp.ndjson');
    const res = await cli(['export', '--ns', 'exp', '--url', server.url, '--out', nd, '--page-size', '1000', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout);
    expect(summary).toMatchObject({ rows: 2600, consistent: true, passes: 1 });
    const exported = readFileSync(nd, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(exported.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    expect(exported[5]).toEqual({ ...rows[5], when: '2026-01-06T00:00:00.000Z' });

    const pq = path.join(dir, 'exp.parquet');
    expect((await cli(['export', '--ns', 'exp', '--url', server.url, '--format', 'parquet', '--out', pq])).code).toBe(0);
    for (const [file, ns] of [[nd, 'exp-nd'], [pq, 'exp-pq']] as const) {
      const ing = await cli(['writes', 'ingest', '--ns', ns, '--url', server.url, '--distance-metric', 'euclidean_squared', '--no-checkpoint', '--quiet', '--json', file]);
      expect(ing.code, ing.stderr).toBe(0);
      // The copy verifies clean against the original export.
      const v = await cli(['verify', '--ns', ns, '--url', server.url, '--json', nd]);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      expect(JSON.parse(v.stdout)).toMatchObject({ source_rows: 2600, namespace_rows: 2600, missing: 0, extra: 0, stale: 0, invalid: 0 });
    }
    // Straight from the store: the same rows.
    const fromStore = path.join(dir, 'store.ndjson');
    expect((await cli(['export', '--ns', 'exp', '--store', server.storeDir, '--out', fromStore])).code).toBe(0);
    expect(readFileSync(fromStore, 'utf8')).toBe(readFileSync(nd, 'utf8'));
  }, 180_000);
});

describe('elax verify', () => {
  it('should find planted missing, extra and stale rows, and --repair should write exactly those', async () => {
    const rows = source(300);
    const file = path.join(dir, 'src.ndjson');
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    // The namespace: rows 0..299 minus 10..14 (missing), plus 1000..1002 (extra), with 20 stale in an attribute
    // and 21 stale in its vector.
    const inNs: object[] = rows.filter((r) => r.id < 10 || r.id > 14).map((r) => (r.id === 20 ? { ...r, kind: 'zzz' } : r.id === 21 ? { ...r, vector: [9, 9, 9] } : r));
    await write('ver', [...inNs, ...[1000, 1001, 1002].map((id) => ({ ...rows[0], id }))]);
    const report = path.join(dir, 'drift.jsonl');
    const v = await cli(['verify', '--ns', 'ver', '--url', server.url, '--report', report, '--json', file]);
    expect(v.code).toBe(1);
    expect(JSON.parse(v.stdout)).toMatchObject({ source_rows: 300, namespace_rows: 298, missing: 5, extra: 3, stale: 2, invalid: 0 });
    const findings = readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(findings.filter((f) => f.kind === 'missing').map((f) => f.id)).toEqual([10, 11, 12, 13, 14]);
    expect(findings.filter((f) => f.kind === 'extra').map((f) => f.id)).toEqual([1000, 1001, 1002]);
    expect(findings.filter((f) => f.kind === 'stale')).toEqual([{ kind: 'stale', id: 20, fields: ['kind'] }, { kind: 'stale', id: 21, fields: ['vector'] }]);

    const head = await walHead('ver');
    const repair = await cli(['verify', '--ns', 'ver', '--url', server.url, '--repair', '--json', file]);
    expect(repair.code, repair.stderr).toBe(0);
    expect(JSON.parse(repair.stdout).repaired).toEqual({ rows_written: 7, ok: true });
    // Exactly the missing and stale ids were written, nothing else.
    expect((await walIdsAfter('ver', head)).flat().sort((a, b) => (a as number) - (b as number))).toEqual([10, 11, 12, 13, 14, 20, 21]);
    const after = await cli(['verify', '--ns', 'ver', '--url', server.url, '--json', file]);
    expect(JSON.parse(after.stdout)).toMatchObject({ missing: 0, stale: 0, extra: 3 });
    const del = await cli(['verify', '--ns', 'ver', '--url', server.url, '--repair', '--delete-extra', '--json', file]);
    expect(JSON.parse(del.stdout)).toMatchObject({ deleted_extra: 3 });
    const clean = await cli(['verify', '--ns', 'ver', '--store', server.storeDir, '--json', file]);
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ missing: 0, extra: 0, stale: 0 });
  }, 180_000);
});
