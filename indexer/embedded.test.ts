import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_STOP_TIMEOUT_MS, embeddedIndexerMode, indexerProcessEnv, startEmbeddedIndexer, type EmbeddedIndexerMode } from './embedded.js';
import { hasChrt, threadNices } from '../test/helpers/proc.js';
import { waitFor as waitUntil } from '../test/helpers/wait.js';
import { SCHED_IDLE, threadPolicies } from '../crates-ts/core/index.js';

const repo = path.resolve(import.meta.dirname, '..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const waitFor = (what: string, ok: () => boolean, ms = 30_000) => waitUntil(what, ok, ms, 50);

describe('embedded indexer supervision', () => {
  for (const mode of ['process', 'thread'] as EmbeddedIndexerMode[]) {
    it(`should restart an indexer ${mode} that crashes, with backoff, and stop cleanly`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'elax-embedded-'));
      try {
        // An indexer that dies at once, like a native crash in an HNSW build would.
        const entry = path.join(dir, 'crashing-worker.mjs');
        writeFileSync(entry, "throw new Error('boom in worker');\n");
        const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
        const ix = startEmbeddedIndexer('memory://', {}, (msg, fields) => logs.push({ msg, fields }), {
          entry: pathToFileURL(entry),
          mode,
          restartDelayMs: 10,
          maxRestartDelayMs: 40,
        });
        await waitFor('three restarts', () => ix.restarts >= 3);
        const crashes = logs.filter((l) => l.msg === 'embedded indexer crashed; restarting');
        expect(crashes[0]!.fields!.error).toMatch(/boom in worker/);
        // Backoff doubles up to the cap.
        expect(crashes.slice(0, 4).map((c) => c.fields!.restart_in_ms)).toEqual([10, 20, 40, 40].slice(0, Math.min(4, crashes.length)));
        await ix.stop();
        const after = ix.restarts;
        await new Promise((r) => setTimeout(r, 100));
        expect(ix.restarts).toBe(after);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  for (const mode of ['process', 'thread'] as EmbeddedIndexerMode[]) {
    it(`should stop an indexer ${mode} that is still starting without waiting for the stop timeout`, async () => {
      const store = mkdtempSync(path.join(tmpdir(), 'elax-embedded-store-'));
      try {
        const logs: string[] = [];
        const ix = startEmbeddedIndexer(store, { nice: 0, buildThreads: 0 }, (msg) => logs.push(msg), { mode, stopTimeoutMs: 20_000 });
        const pid = ix.pid;
        await ix.stop(); // at once: the indexer has not loaded its modules yet
        expect(logs).not.toContain('embedded indexer did not stop in time; killed');
        expect(logs.filter((m) => m.includes('crashed'))).toEqual([]);
        if (pid !== undefined) expect(alive(pid)).toBe(false);
      } finally {
        rmSync(store, { recursive: true, force: true });
      }
    });
  }

  it('should kill an indexer that does not stop within the default stop timeout (5 s), so that a server stops promptly', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'elax-embedded-stuck-'));
    try {
      // An indexer in the middle of a pass that does not end: it takes the stop message and never exits.
      const entry = path.join(dir, 'stuck-indexer.mjs');
      writeFileSync(entry, 'process.on("message", () => {});\nsetInterval(() => {}, 1 << 30);\nprocess.send({ type: "log", msg: "stuck indexer listening" });\n');
      const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
      const ix = startEmbeddedIndexer(dir, { nice: 0, buildThreads: 0 }, (msg, fields) => logs.push({ msg, fields }), { entry: pathToFileURL(entry), mode: 'process' });
      const pid = ix.pid!;
      // It has loaded its entry (a stop that came before would end the process at once: process-entry.mjs). Loading tsx
      // takes seconds of CPU on a busy machine, so wait for the entry to say so rather than for a fixed time.
      await waitFor('the stuck indexer to listen', () => logs.some((l) => l.msg === 'stuck indexer listening'));
      const t0 = Date.now();
      await ix.stop();
      const took = Date.now() - t0;
      expect(logs.find((l) => l.msg === 'embedded indexer did not stop in time; killed')?.fields).toEqual({ timeout_ms: DEFAULT_STOP_TIMEOUT_MS });
      expect(took).toBeGreaterThanOrEqual(DEFAULT_STOP_TIMEOUT_MS - 100);
      expect(alive(pid)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should report a child process killed by a signal and start a new one', async () => {
    const store = mkdtempSync(path.join(tmpdir(), 'elax-embedded-store-'));
    try {
      const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
      const ix = startEmbeddedIndexer(store, { nice: 0, buildThreads: 0 }, (msg, fields) => logs.push({ msg, fields }), { mode: 'process', restartDelayMs: 10 });
      const first = ix.pid!;
      expect(first).toBeGreaterThan(0);
      process.kill(first, 'SIGKILL'); // what a native crash (SIGSEGV, SIGABRT) looks like from the server
      await waitFor('a new child', () => ix.pid !== undefined && ix.pid !== first);
      expect(ix.restarts).toBe(1);
      expect(logs.find((l) => l.msg === 'embedded indexer crashed; restarting')!.fields!.error).toBe('indexer process killed by SIGKILL');
      const second = ix.pid!;
      await ix.stop();
      expect(alive(second)).toBe(false);
      expect(ix.pid).toBeUndefined();
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });

  // The child lowers itself before it loads tsx and the module it runs (process-entry.mjs): the module's first line
  // already sees every thread at the nice value and, when schedIdle is 1, at SCHED_IDLE (where chrt exists).
  for (const schedIdle of [1, 0]) {
    it.runIf(existsSync('/proc/self/task'))(`should lower the child process before loading the module it runs (schedIdle ${schedIdle})`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'elax-embedded-'));
      try {
        const entry = path.join(dir, 'report-priority.mjs');
        writeFileSync(
          entry,
          [
            "import { readdirSync, readFileSync } from 'node:fs';",
            "const f = readdirSync('/proc/self/task').map((t) => readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1].split(' '));",
            "process.send({ type: 'log', msg: 'priority', fields: { nices: f.map((x) => Number(x[16])), policies: f.map((x) => Number(x[38])) } });",
            'setInterval(() => {}, 1000);',
          ].join('\n'),
        );
        const got: { nices: number[]; policies: number[] }[] = [];
        const ix = startEmbeddedIndexer('memory://', { nice: 9, schedIdle }, (msg, fields) => {
          if (msg === 'priority') got.push(fields as { nices: number[]; policies: number[] });
        }, { entry: pathToFileURL(entry), mode: 'process' });
        // A process at SCHED_IDLE loads only on cores nothing else wants: on a busy machine (a full test run) that is slow.
        await waitFor('the module to report', () => got.length > 0, 150_000);
        const { nices, policies } = got[0]!;
        expect(nices.length).toBeGreaterThan(4); // V8 platform threads, tsx's loader and the rest
        expect(nices.every((n) => n === 9)).toBe(true);
        expect(policies.every((p) => p === (schedIdle && hasChrt ? SCHED_IDLE : 0))).toBe(true);
        expect(threadPolicies(process.pid).every((p) => p === 0)).toBe(true); // this process (the "server") is untouched
        await ix.stop();
        expect(ix.restarts).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 180_000);
  }

  it.runIf(existsSync('/proc/self/task'))('should run every thread of the child process at the nice value, and stop it on request', async () => {
    const store = mkdtempSync(path.join(tmpdir(), 'elax-embedded-store-'));
    try {
      const logs: string[] = [];
      const ix = startEmbeddedIndexer(store, { nice: 9, buildThreads: 2, intervalMs: 50 }, (msg) => logs.push(msg), { mode: 'process' });
      const pid = ix.pid!;
      // The indexer's first pass ran (its log says so or nothing was pending): wait until the child has its threads.
      await waitFor('the child to lower itself', () => threadNices(pid).every((n) => n === 9));
      await new Promise((r) => setTimeout(r, 1_000)); // threads started after the renice (libuv pool, tsx's loader) inherit it
      const nices = threadNices(pid);
      expect(nices.length).toBeGreaterThan(4); // V8 platform threads and the rest, not only the main thread
      expect(nices.every((n) => n === 9)).toBe(true);
      expect(threadNices(process.pid)).not.toContain(9); // this process (the "server") is untouched
      await ix.stop();
      expect(alive(pid)).toBe(false);
      expect(logs.filter((m) => m.includes('crashed'))).toEqual([]);
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });

  for (const when of ['while it starts', 'once it runs'] as const) {
    it(`should end the child process when its parent is killed with SIGKILL ${when}`, async () => {
      const store = mkdtempSync(path.join(tmpdir(), 'elax-embedded-store-'));
      try {
        // A stand-in for `elax serve`: starts the embedded indexer (nice 5) and prints its child's pid.
        const parent = spawn(process.execPath, [path.join(repo, 'bin/run-ts.mjs'), path.join(repo, 'indexer/embedded.test-parent.ts'), store], {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, ELAX_INDEXER_PROCESS: 'process' },
        });
        let out = '';
        parent.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        await waitFor('the child pid', () => /^\d+\n/.test(out));
        const child = Number(out.trim());
        expect(alive(child)).toBe(true);
        if (when === 'once it runs') {
          // Past its entry's renice (threadNices; process-entry.mjs does it before loading anything), then 2 s further:
          // into loading the indexer or past it, on a quiet machine past its first pass.
          await waitFor('the child to lower itself', () => threadNices(child).every((n) => n === 5));
          await new Promise((r) => setTimeout(r, 2_000));
          expect(alive(child)).toBe(true);
        }
        parent.kill('SIGKILL');
        const gone = () => !alive(child) || /^Z/.test(readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1] ?? '');
        await waitFor('the child to exit', () => {
          try {
            return gone();
          } catch {
            return true; // reaped between the two looks
          }
        }, 15_000);
      } finally {
        rmSync(store, { recursive: true, force: true });
      }
    });
  }

  it("should give the indexer process the server's environment without the server's malloc mmap threshold, unless one is named for it", () => {
    const server = { PATH: '/bin', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '1000', ELAX_X: 'y' };
    expect(indexerProcessEnv(server)).toEqual({ PATH: '/bin', MALLOC_TRIM_THRESHOLD_: '1000', ELAX_X: 'y' });
    expect(indexerProcessEnv({ ...server, ELAX_INDEXER_MALLOC_MMAP_THRESHOLD: '4194304' })).toEqual({ PATH: '/bin', MALLOC_TRIM_THRESHOLD_: '1000', ELAX_X: 'y', ELAX_INDEXER_MALLOC_MMAP_THRESHOLD: '4194304', MALLOC_MMAP_THRESHOLD_: '4194304' });
    expect(indexerProcessEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin' });
  });

  it('should read the mode from ELAX_INDEXER_PROCESS, process by default', () => {
    expect(embeddedIndexerMode({})).toBe('process');
    expect(embeddedIndexerMode({ ELAX_INDEXER_PROCESS: 'process' })).toBe('process');
    expect(embeddedIndexerMode({ ELAX_INDEXER_PROCESS: 'thread' })).toBe('thread');
    expect(() => embeddedIndexerMode({ ELAX_INDEXER_PROCESS: 'fiber' })).toThrow(/ELAX_INDEXER_PROCESS/);
  });
});
