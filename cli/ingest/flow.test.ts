import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, retryDelay } from './backoff.js';
import { Aimd, Gate, ThrottleMeter } from './throttle.js';
import { Checkpoint, FileTracker, loadCheckpoint, CHECKPOINT_VERSION, type CheckpointData, type FileProgress } from './checkpoint.js';
import { isRequestLevel } from './http.js';

describe('backoff', () => {
  const o = { baseDelayMs: 200, maxDelayMs: 30_000 };

  it('should stay within [0, min(cap, base·2^attempt)] and use the whole range (full jitter)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 60 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, () => r, o);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** attempt));
      }),
    );
    expect(backoffDelay(3, () => 0, o)).toBe(0);
    expect(backoffDelay(3, () => 0.999999, o)).toBe(1599);
    expect(backoffDelay(40, () => 0.999999, o)).toBe(29_999);
  });

  it('should wait at least what Retry-After asks, plus at most a little jitter', () => {
    fc.assert(
      fc.property(fc.nat({ max: 20 }), fc.nat({ max: 120_000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, ra, r) => {
        const d = retryDelay(attempt, ra, () => r, o);
        expect(d).toBeGreaterThanOrEqual(ra);
        expect(d).toBeLessThan(ra + o.baseDelayMs);
      }),
    );
  });

  it('should parse Retry-After as seconds or an HTTP date, and ignore junk', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
    for (const junk of [null, undefined, '', 'soon', '-3', '5s', 'in 5 minutes']) expect(parseRetryAfter(junk, now)).toBeUndefined();
  });
});

describe('isRequestLevel', () => {
  it('should stop the run on answers no subset of rows could fix, and bisect the rest', () => {
    expect(isRequestLevel(401, 'missing API key')).toBe(true);
    expect(isRequestLevel(404, 'no route')).toBe(true);
    expect(isRequestLevel(400, 'bad name', 'ELAX_ERR_INVALID_NAMESPACE')).toBe(true);
    expect(isRequestLevel(400, 'distance_metric is required when writing vectors to a namespace that has none yet')).toBe(true);
    expect(isRequestLevel(400, "upsert_rows[3].vector: vector has 2 dimensions but the namespace's vectors have 16")).toBe(false);
    expect(isRequestLevel(413, 'request body exceeds the limit')).toBe(false);
  });
});

describe('Aimd', () => {
  it('should halve on 429 at most once per cooldown, never below 1, and grow back by one per window of successes', () => {
    const a = new Aimd(8, 1000);
    a.onRateLimited(0);
    expect(a.window).toBe(4);
    a.onRateLimited(500); // same burst
    expect(a.window).toBe(4);
    a.onRateLimited(1500);
    a.onRateLimited(3000);
    a.onRateLimited(4500);
    a.onRateLimited(6000);
    expect(a.window).toBe(1);
    expect(a.min).toBe(1);
    let n = 0;
    while (a.window < 8) {
      a.onSuccess();
      n++;
    }
    // 1 + 2 + ... + 7 successes (one per slot of each window size), plus rounding slack.
    expect(n).toBeGreaterThanOrEqual(20);
    expect(n).toBeLessThanOrEqual(40);
    for (let i = 0; i < 100; i++) a.onSuccess();
    expect(a.window).toBe(8);
  });
});

describe('Gate and ThrottleMeter', () => {
  it('should bound requests in flight by the window and hold everything while paused on WAL lag', async () => {
    let t = 0;
    const meter = new ThrottleMeter(() => t);
    const gate = new Gate(new Aimd(2), meter);
    await gate.acquire();
    await gate.acquire();
    let third = false;
    const p = gate.acquire().then(() => (third = true));
    await new Promise((r) => setImmediate(r));
    expect(third).toBe(false);
    gate.setLag(200, 100);
    expect(gate.paused).toBe(true);
    gate.release();
    await new Promise((r) => setImmediate(r));
    expect(third).toBe(false); // a free slot, but paused
    t = 50;
    gate.setLag(90, 100); // above 80 % of the threshold: still paused (hysteresis)
    expect(gate.paused).toBe(true);
    t = 70;
    gate.setLag(80, 100);
    await p;
    expect(third).toBe(true);
    expect(meter.lagPausedMs()).toBe(70);
    expect(meter.throttledMs()).toBe(70);
  });

  it('should count overlapping holds once in wall time', () => {
    let t = 0;
    const m = new ThrottleMeter(() => t);
    const a = m.enter();
    t = 10;
    const b = m.enter();
    t = 30;
    a();
    a();
    t = 45;
    b();
    t = 100;
    expect(m.throttledMs()).toBe(45);
  });
});

describe('checkpoint', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'elax-cp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const progress = (): FileProgress => ({
    path: '/x/a.ndjson', name: 'a.ndjson', format: 'ndjson', size: 100, mtime_ms: 5,
    prefix: { chunks: 0, cursor: { offset: 0, line: 1, index: 0 } }, done: [], total_chunks: null,
  });

  it('should advance the done prefix over chunks settled in any order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }))), ([n, order]) => {
        const t = new FileTracker(progress());
        const end = (k: number) => ({ offset: (k + 1) * 10, line: k + 2, index: (k + 1) * 3 });
        for (const k of order) {
          t.markDone(k, end(k));
          // The prefix is the longest run of settled chunks from 0.
          let p = 0;
          while (p < n && t.isDone(p)) p++;
          expect(t.p.prefix.chunks).toBe(p);
          expect(t.p.prefix.cursor).toEqual(p === 0 ? { offset: 0, line: 1, index: 0 } : end(p - 1));
        }
        expect(t.p.done).toEqual([]);
        t.setTotal(n);
        expect(t.complete).toBe(true);
      }),
    );
  });

  it('should round-trip through its file, and a resumed tracker should skip what was done', async () => {
    const file = path.join(dir, 'cp.json');
    const data: CheckpointData = {
      version: CHECKPOINT_VERSION, ns: 'ns', chunking: { batch_bytes: 1000, batch_rows: 10, distance_metric: 'cosine_distance', key_salt: null },
      files: [progress()], updated_at: '',
    };
    const cp = new Checkpoint(file, data, 10);
    const t = cp.trackers[0]!;
    t.markDone(0, { offset: 10, line: 2, index: 1 });
    t.markDone(2, { offset: 30, line: 4, index: 3 });
    await cp.flush();
    const loaded = (await loadCheckpoint(file))!;
    expect(loaded).toEqual(JSON.parse(JSON.stringify(cp.data)));
    const t2 = new Checkpoint(file, loaded).trackers[0]!;
    expect([0, 1, 2, 3].map((k) => t2.isDone(k))).toEqual([true, false, true, false]);
    expect(t2.p.prefix).toEqual({ chunks: 1, cursor: { offset: 10, line: 2, index: 1 } });
    // Chunk 2 (done earlier) is re-read and marked again with its end; chunk 1 completes: the prefix spans 0..2.
    t2.markDone(2, { offset: 30, line: 4, index: 3 });
    t2.markDone(1, { offset: 20, line: 3, index: 2 });
    expect(t2.p.prefix).toEqual({ chunks: 3, cursor: { offset: 30, line: 4, index: 3 } });
    expect(await loadCheckpoint(path.join(dir, 'missing.json'))).toBeNull();
  });

  it('should refuse a checkpoint it cannot read, saying how to start over', async () => {
    const { writeFileSync } = await import('node:fs');
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"version": 99, "files": [], "ns": "x"}');
    await expect(loadCheckpoint(bad)).rejects.toThrow(/unknown format.*remove it to start over/);
    writeFileSync(bad, '{not json');
    await expect(loadCheckpoint(bad)).rejects.toThrow(/not valid JSON/);
  });
});

describe('ErrorReport', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'elax-errs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('should append on resume without repeating rows an earlier run reported, and truncate otherwise', async () => {
    const { ErrorReport } = await import('./errors-report.js');
    const { readFileSync, writeFileSync } = await import('node:fs');
    const file = path.join(dir, 'e.jsonl');
    const e = (row: number) => ({ file: 'a.ndjson', line: row + 1, row, error: `bad ${row}` });
    const first = new ErrorReport(file, false);
    await first.add([e(1), e(5)]);
    // A crash left a torn last line.
    writeFileSync(file, readFileSync(file, 'utf8') + '{"file":"a.ndjson","li');
    const resumed = new ErrorReport(file, true);
    await resumed.add([e(5), e(9)]);
    await resumed.add([e(1)]);
    await resumed.done();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines.filter((l) => l.startsWith('{"file":"a.ndjson","line"')).map((l) => JSON.parse(l).row)).toEqual([1, 5, 9]);
    expect(resumed.count).toBe(3); // counted for this run's summary even when already on file
    const fresh = new ErrorReport(file, false);
    await fresh.done();
    expect(readFileSync(file, 'utf8')).toBe('');
  });
});
