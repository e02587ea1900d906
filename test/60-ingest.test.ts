/**
 * `elax writes ingest` end to end against a real server:
 *  - a large NDJSON file ingested by CLI processes SIGKILLed at random points and resumed until one finishes: the
 *    namespace ends with exactly the source rows, every chunk's idempotency key is in exactly one WAL entry, and
 *    the errors report lists each bad row exactly once across all the runs;
 *  - --dry-run reports every bad row by line number with the server's own messages and writes nothing;
 *  - a real run of the same file lands the good rows, rejects the same rows, and exits non-zero;
 *  - JSON arrays, Parquet and stdin load the same documents as NDJSON.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../bench/lib.js';
import { runIngest, type IngestSummary } from '../cli/ingest/index.js';
import { expectNamespaceHolds, makeRows, toNdjson, walKeys, type TestRow } from '../cli/ingest/testing.js';
import { ELAX_BIN, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(path.join(tmpdir(), 'elax-ingest-'));
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `elax writes ingest ...`; `killAfter(child)` may kill it. */
function ingestCli(args: string[], killer?: (pid: number, exited: () => boolean) => Promise<void>): Promise<Run> {
  const child = spawn(process.execPath, [ELAX_BIN, 'writes', 'ingest', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ELAX_API_KEY: '', ELAX_URL: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  const done = new Promise<Run>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal, stdout, stderr });
    }),
  );
  if (killer) void killer(child.pid!, () => exited);
  return done;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every file under `root` with its sha256 (the store must not change at all). */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(root, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}

function readErrors(file: string): { line?: number; row: number; id?: unknown; error: string; code?: string }[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('writes ingest: killed and resumed', () => {
  it('should end with exactly the source rows, each chunk applied once, each bad row reported once', async () => {
    // Enough chunks (≈ 210) that three kills, each up to 25 chunks and 150 ms past the previous one, land before the
    // end however fast the server ingests (the eighth session's write path made a 20k-row file finish first).
    const rows = makeRows(40_000, 16, 60);
    const lines = rows.map((r) => JSON.stringify(r));
    // A few bad rows the client catches (bad JSON, no id) and a few the server rejects (wrong dimensions, wrong type).
    const bad = new Map<number, string>([
      [1500, 'this is not JSON'],
      [7001, JSON.stringify({ vector: rows[0]!.vector })],
      // The server's rejections near the end: the final, resumed run meets them (and exits 1).
      [36_000, JSON.stringify({ id: 900_001, vector: [1, 2, 3] })],
      [39_500, JSON.stringify({ ...rows[0]!, id: 900_002, year: 'nineteen' })],
    ]);
    const all: string[] = [];
    lines.forEach((l, i) => {
      if (bad.has(i)) all.push(bad.get(i)!);
      all.push(l);
    });
    const badLines = [...bad.keys()].map((i) => i + [...bad.keys()].filter((j) => j < i).length + 1).sort((a, b) => a - b);
    const file = path.join(dir, 'big.ndjson');
    writeFileSync(file, all.join('\n') + '\n');
    const cp = path.join(dir, 'big.cp');
    const errors = path.join(dir, 'big.errors.jsonl');
    const args = [file, '--ns', 'killed', '--url', server.url, '--distance-metric', 'cosine_distance', '--batch-bytes', '48KiB', '--concurrency', '4', '--checkpoint', cp, '--errors', errors, '--resume', '--json', '--quiet'];

    const random = rng(60);
    const settled = () => (existsSync(cp) ? (JSON.parse(readFileSync(cp, 'utf8')) as { files: { prefix: { chunks: number } }[] }).files[0]!.prefix.chunks : 0);
    const progress: number[] = [];
    let final: Run | null = null;
    for (let attempt = 0; attempt < 8 && !final; attempt++) {
      // Kill each of the first runs at a random point: once its checkpoint has moved on by a random number of
      // chunks, after a further random delay (in-flight requests, unflushed checkpoint updates and all).
      const target = settled() + 5 + Math.floor(random() * 20);
      const delay = Math.floor(random() * 150);
      const run = await ingestCli(args, attempt < 3 ? async (pid, exited) => {
        while (!exited() && settled() < target) await sleep(15);
        await sleep(delay);
        if (!exited()) process.kill(pid, 'SIGKILL');
      } : undefined);
      if (run.signal === 'SIGKILL') {
        progress.push(settled());
        continue;
      }
      final = run;
    }
    expect(final, 'a run finished').not.toBeNull();
    expect(final!.code, final!.stderr).toBe(1); // rows were rejected
    // Three runs were killed, each after more progress than the one before, and the final run resumed.
    expect(progress).toHaveLength(3);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThan(progress[i - 1]!);
    const summary = JSON.parse(final!.stdout) as IngestSummary;
    expect(summary.rows_skipped).toBeGreaterThan(0);
    expect(summary.rows_skipped + summary.rows_ok + summary.rows_failed).toBe(all.length);
    expect(summary.aborted).toBeUndefined();

    await expectNamespaceHolds(server.url, 'killed', rows);
    const wal = await walKeys(server.storeDir, 'killed');
    expect(wal.keys.size).toBe(summary.chunks);
    const twice = [...wal.keys].filter(([, n]) => n !== 1);
    expect(twice).toEqual([]);

    const reported = readErrors(errors);
    expect(reported.map((e) => e.line)).toEqual(badLines);
    expect(reported.map((e) => e.code ?? null)).toEqual([null, null, 'ELAX_ERR_INVALID_VECTOR', 'ELAX_ERR_SCHEMA_CONFLICT']);
  }, 120_000);
});

describe('writes ingest --dry-run', () => {
  const vec = (d: number) => JSON.stringify(Array.from({ length: d }, (_, i) => i / 10));
  const badFile = () => {
    const f = path.join(dir, 'bad.ndjson');
    writeFileSync(
      f,
      [
        `{"id": 1, "vector": ${vec(16)}, "title": "ok", "year": 2001}`,
        `{"id": 2, "vector": ${vec(3)}, "title": "short vector"}`,
        '',
        `{"id": 3, "vector": ${vec(16)}, "title": 42}`,
        `{"id": 4, "vector": ${vec(16)}, "year": "two thousand"}`,
        'not json',
        `{"vector": ${vec(16)}}`,
        `{"id": "a-string-id", "title": "id of another type"}`,
        `{"id": 5, "title": "fine", "tags": ["x"]}`,
        `{"id": 6, "vector": [0.1, "x"]}`,
        `{"id": -7, "title": "negative id"}`,
      ].join('\n') + '\n',
    );
    return f;
  };
  const expectedLines = [2, 4, 5, 6, 7, 8, 10, 11];

  it('should report each bad row by line number and leave an existing namespace byte-identical', async () => {
    const rows = makeRows(50, 16, 601);
    const seed = path.join(dir, 'seed.ndjson');
    writeFileSync(seed, toNdjson(rows));
    const loaded = await runIngest({ url: server.url, ns: 'dry', files: [seed], distanceMetric: 'cosine_distance', quiet: true, checkpoint: path.join(dir, 'seed.cp') });
    expect(loaded.ok).toBe(true);
    const before = snapshot(server.storeDir);

    const errors = path.join(dir, 'dry.errors.jsonl');
    const run = await ingestCli([badFile(), '--ns', 'dry', '--url', server.url, '--dry-run', '--errors', errors, '--json']);
    expect(run.code, run.stderr).toBe(1);
    const summary = JSON.parse(run.stdout) as IngestSummary;
    expect(summary).toMatchObject({ dry_run: true, rows_ok: 2, rows_failed: 8, ok: false });
    const reported = readErrors(errors);
    expect(reported.map((e) => e.line)).toEqual(expectedLines);
    expect(reported[0]).toMatchObject({ id: 2, code: 'ELAX_ERR_INVALID_VECTOR' });
    expect(reported[0]!.error).toMatch(/3 dimensions.*16/);
    expect(reported[1]).toMatchObject({ id: 3, code: 'ELAX_ERR_SCHEMA_CONFLICT' });
    expect(reported[3]!.error).toMatch(/invalid JSON/);
    expect(reported[4]!.error).toMatch(/no id/);
    expect(reported[5]).toMatchObject({ id: 'a-string-id', code: 'ELAX_ERR_INVALID_ID' });
    expect(run.stderr).toMatch(/dry run of dry finished/);
    expect(snapshot(server.storeDir)).toEqual(before);

    // The real run of the same file rejects exactly the same rows with the same messages, and lands the rest.
    const realErrors = path.join(dir, 'real.errors.jsonl');
    const real = await runIngest({ url: server.url, ns: 'dry', files: [badFile()], errorsFile: realErrors, quiet: true, checkpoint: false });
    expect(real).toMatchObject({ ok: false, rows_ok: 2, rows_failed: 8 });
    expect(readErrors(realErrors)).toEqual(reported);
    const got = await fetch(`${server.url}/v2/namespaces/dry/query`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ top_k: 100, filters: ['id', 'In', [1, 5]] }),
    });
    expect(((await got.json()) as { rows: { id: number }[] }).rows.map((r) => r.id)).toEqual([1, 5]);
  }, 60_000);

  it('should validate against an absent namespace without creating it', async () => {
    const errors = path.join(dir, 'absent.errors.jsonl');
    const run = await runIngest({ url: server.url, ns: 'never-created', files: [badFile()], dryRun: true, errorsFile: errors, distanceMetric: 'euclidean_squared', quiet: true });
    expect(run).toMatchObject({ ok: false, dry_run: true, rows_ok: 2, rows_failed: 8 });
    // The first good row fixes id type, dimensions and attribute types; the rest are judged against them.
    expect(readErrors(errors).map((e) => e.line)).toEqual(expectedLines);
    // Without a metric, the first vectors could not be written at all: one request-level answer, not 10 row errors.
    const noMetric = await runIngest({ url: server.url, ns: 'never-created', files: [badFile()], dryRun: true, quiet: true });
    expect(noMetric.aborted).toMatch(/distance_metric is required/);
    expect(noMetric.rows_failed).toBe(0);
    expect((await fetch(`${server.url}/v1/namespaces/never-created/metadata`)).status).toBe(404);
    expect(existsSync(path.join(server.storeDir, 'never-created'))).toBe(false);
  }, 30_000);
});

describe('writes ingest: input formats', () => {
  let rows: TestRow[];
  beforeAll(() => {
    rows = makeRows(3000, 8, 602);
  });

  it('should load a JSON array, a Parquet file and stdin into the same documents', async () => {
    const jsonFile = path.join(dir, 'rows.json');
    writeFileSync(jsonFile, JSON.stringify(rows, null, 2));
    const pqFile = path.join(dir, 'rows.parquet');
    const vals = new Float32Array(rows.flatMap((r) => r.vector));
    const vecType = new arrow.FixedSizeList(8, new arrow.Field('item', new arrow.Float32(), false));
    const table = new arrow.Table({
      id: arrow.vectorFromArray(rows.map((r) => BigInt(r.id)), new arrow.Uint64()),
      vector: arrow.makeVector(arrow.makeData({ type: vecType, length: rows.length, nullCount: 0, child: arrow.makeData({ type: new arrow.Float32(), length: vals.length, data: vals }) })),
      title: arrow.vectorFromArray(rows.map((r) => r.title), new arrow.Utf8()),
      category: arrow.vectorFromArray(rows.map((r) => r.category), new arrow.Utf8()),
      year: arrow.vectorFromArray(rows.map((r) => r.year), new arrow.Int32()),
      score: arrow.vectorFromArray(rows.map((r) => r.score), new arrow.Float64()),
      tags: arrow.vectorFromArray(rows.map((r) => r.tags), new arrow.List(new arrow.Field('item', new arrow.Utf8(), true))),
    });
    writeFileSync(pqFile, pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), new pq.WriterPropertiesBuilder().setMaxRowGroupSize(1000).build()));

    const common = { url: server.url, distanceMetric: 'cosine_distance', batchBytes: 64 * 1024, quiet: true };
    const outs: IngestSummary[] = [];
    outs.push(await runIngest({ ...common, ns: 'fmt-json', files: [jsonFile], checkpoint: path.join(dir, 'json.cp') }));
    outs.push(await runIngest({ ...common, ns: 'fmt-parquet', files: [pqFile], checkpoint: path.join(dir, 'pq.cp') }));
    outs.push(await runIngest({ ...common, ns: 'fmt-stdin', files: ['-'], stdin: Readable.from([Buffer.from(toNdjson(rows))]), checkpoint: path.join(dir, 'stdin.cp') }));
    for (const s of outs) expect(s).toMatchObject({ ok: true, rows_ok: rows.length, rows_failed: 0 });
    for (const ns of ['fmt-json', 'fmt-parquet', 'fmt-stdin']) await expectNamespaceHolds(server.url, ns, rows);
  }, 60_000);
});

describe('writes ingest: checkpoint rules', () => {
  it('should resume with the checkpoint\'s chunking, skip a finished input, and refuse an input that changed', async () => {
    const rows = makeRows(2000, 8, 603);
    const file = path.join(dir, 'cp-rules.ndjson');
    writeFileSync(file, toNdjson(rows));
    const checkpoint = path.join(dir, 'cp-rules.cp');
    const notices: string[] = [];
    const stderr = Object.assign(new (await import('node:stream')).Writable({ write(c, _e, cb) { notices.push(String(c)); cb(); } }), { isTTY: false });
    const common = { url: server.url, ns: 'cp-rules', files: [file], distanceMetric: 'cosine_distance', checkpoint, stderr, progress: 'none' as const };
    const first = await runIngest({ ...common, batchBytes: 16 * 1024 });
    expect(first.ok).toBe(true);

    // Same file again from scratch (no --resume) with the same options: every chunk is acknowledged as already applied.
    const again = await runIngest({ ...common, batchBytes: 16 * 1024 });
    expect(notices.join('')).toMatch(/is from an earlier run; starting over/);
    expect(again.requests_deduplicated).toBe(first.chunks);

    // --resume of a finished run: nothing to send; other chunking options are ignored with a notice.
    const resumed = await runIngest({ ...common, batchBytes: 64 * 1024, resume: true });
    expect(resumed).toMatchObject({ ok: true, rows_ok: 0, rows_skipped: rows.length, requests: 0, chunks: first.chunks });
    expect(notices.join('')).toMatch(/--batch-bytes 65536 ignored: resuming with the checkpoint's 16384/);

    // A changed input cannot be resumed.
    writeFileSync(file, toNdjson(rows.slice(1)));
    await expect(runIngest({ ...common, resume: true })).rejects.toThrow(/changed since checkpoint .* run without --resume to start over/);
    await expect(runIngest({ ...common, checkpoint: false, resume: true })).rejects.toThrow(/--resume needs a checkpoint/);
  }, 30_000);
});

