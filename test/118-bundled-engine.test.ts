/**
 * The engine runs from an esbuild bundle made on demand (bin/bundle.mjs; docs/ARCHITECTURE.md "Startup: the bundled
 * engine"): its fingerprint follows every source edit, concurrent starts agree on one bundle, and a server started
 * by `bin/elax.mjs` runs its pool threads and its indexer process from it.
 */
import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { ENTRIES, ensureBundle, fingerprint, ROOT } from '../bin/bundle.mjs';
import { bundledEntry, BUNDLE_DIR_ENV } from '../crates-ts/core/index.js';
import { startServerProcess } from './helpers/server.js';

const entries: Record<string, string> = ENTRIES;
const ensure = ensureBundle;
const run = promisify(execFile);

describe('bundled engine', () => {
  it('should change the fingerprint with any source edit, and only then', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'elax-fp-'));
    try {
      mkdirSync(path.join(root, 'crates-ts', 'wal'), { recursive: true });
      const file = path.join(root, 'crates-ts', 'wal', 'a.ts');
      writeFileSync(file, 'export const a = 1;\n');
      const fp = fingerprint;
      const k0 = fp(root);
      expect(fp(root)).toBe(k0);
      writeFileSync(file, 'export const a = 22;\n'); // another size
      const k1 = fp(root);
      expect(k1).not.toBe(k0);
      utimesSync(file, new Date(), new Date(Date.now() + 5_000)); // same size, another mtime
      expect(fp(root)).not.toBe(k1);
      const k2 = fp(root);
      writeFileSync(path.join(root, 'crates-ts', 'wal', 'b.ts'), ''); // a new file
      expect(fp(root)).not.toBe(k2);
      expect(fp(root, '0.1.0')).not.toBe(fp(root, '0.2.0')); // another esbuild
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('should build every entry point once, with concurrent builds agreeing on one directory', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'elax-bundle-'));
    try {
      // Three processes starting at once: each may build, one bundle directory results.
      const script = `import { ensureBundle } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'bin', 'bundle.mjs')).href)};
        process.stdout.write(String(await ensureBundle({ cacheDir: ${JSON.stringify(cacheDir)}, log: (m) => process.stderr.write(m) })));`;
      const dirs = await Promise.all([0, 1, 2].map(async () => (await run(process.execPath, ['--input-type=module', '-e', script])).stdout));
      expect(dirs[0]).toContain(cacheDir);
      expect(new Set(dirs).size).toBe(1);
      const dir = dirs[0]!;
      for (const name of Object.keys(entries)) expect(existsSync(path.join(dir, `${name}.mjs`)), name).toBe(true);
      expect(readdirSync(cacheDir)).toEqual([path.basename(dir)]); // no temporary left
      const done = readFileSync(path.join(dir, 'done'), 'utf8');
      // In one process, concurrent calls share one build.
      const logs: string[] = [];
      const opts = { cacheDir, log: (m: string) => logs.push(m), onBuilt: (d: string) => logs.push(`built ${d}`) };
      const again = await Promise.all([0, 1].map(() => ensure(opts)));
      expect(again).toEqual([dir, dir]);
      expect(await ensure(opts)).toBe(dir);
      expect(logs).toEqual([]); // cached: nothing built, nothing wrong
      expect(readFileSync(path.join(dir, 'done'), 'utf8')).toBe(done);
      // bundledEntry names the bundle's modules, and the sources' entries when there is no bundle.
      expect(bundledEntry('pool-worker', { [BUNDLE_DIR_ENV]: dir })?.pathname).toBe(path.join(dir, 'pool-worker.mjs'));
      expect(bundledEntry('pool-worker', {})).toBeNull();
      expect(bundledEntry('pool-worker', { [BUNDLE_DIR_ENV]: path.join(cacheDir, 'pruned') })).toBeNull();
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  for (const bundled of [true, false]) {
    it(`should run a server, its pool threads and its indexer process ${bundled ? 'from the bundle' : 'from the sources with ELAX_NO_BUNDLE=1'}`, async () => {
      const s = await startServerProcess({ args: ['--pool-threads', '1'], env: bundled ? {} : { ELAX_NO_BUNDLE: '1' } });
      try {
        const dims = 8;
        const rows = Array.from({ length: 300 }, (_, i) => ({ id: i, vector: Array.from({ length: dims }, (_, d) => Math.sin(i * 7 + d)), tag: `t${i % 3}` }));
        for (let b = 0; b < 3; b++) {
          const r = await fetch(`${s.url}/v2/namespaces/bundled`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ upsert_rows: rows.slice(b * 100, b * 100 + 100), distance_metric: 'cosine_distance' }),
          });
          expect(r.status).toBe(200);
        }
        // The indexer process runs the bundle's entry or the sources' (its command line), and indexes.
        const children = readFileSync(`/proc/${s.child.pid}/task/${s.child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
        const cmdlines = children.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
        const indexer = cmdlines.find((c) => c.some((a) => a.endsWith('process-entry.mjs')));
        expect(indexer, JSON.stringify(cmdlines)).toBeDefined();
        const inBundle = (a: string) => a.includes(path.join('node_modules', '.cache', 'elax-bundle'));
        if (bundled) {
          expect(indexer!.some((a) => inBundle(a) && a.endsWith('indexer-process-entry.mjs'))).toBe(true);
          expect(indexer!.some((a) => inBundle(a) && a.endsWith('indexer-worker.mjs'))).toBe(true);
        } else {
          expect(indexer!.some((a) => a.endsWith(path.join('indexer', 'process-entry.mjs')))).toBe(true);
          expect(indexer!.some((a) => a.endsWith(path.join('indexer', 'worker.ts')))).toBe(true);
          expect(indexer!.some(inBundle)).toBe(false);
        }
        for (let i = 0; ; i++) {
          const meta = (await (await fetch(`${s.url}/v1/namespaces/bundled/metadata`)).json()) as { index?: { status?: string } };
          if (meta.index?.status === 'up-to-date') break;
          if (i > 300) throw new Error(`not indexed: ${JSON.stringify(meta)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const q = await fetch(`${s.url}/v2/namespaces/bundled/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ rank_by: ['vector', 'ANN', rows[42]!.vector], top_k: 1, include_attributes: ['tag'] }),
        });
        expect(((await q.json()) as { rows: { id: number; tag: string }[] }).rows[0]).toMatchObject({ id: 42, tag: 't0' });
        // The pool thread loaded (bundled pool-worker.mjs) and ran the writes' tasks: none fell back inline.
        const metrics = await (await fetch(`${s.url}/metrics`)).text();
        const value = (name: string) => [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((t, m) => t + Number(m[1]), 0);
        expect(value('elax_pool_fallbacks_total')).toBe(0);
        expect(value('elax_pool_tasks_total')).toBeGreaterThan(0);
        expect(s.stderr()).toMatch(bundled ? /started in [\d.]+ s\)/ : /from the TypeScript sources through tsx/);
      } finally {
        await s.stop();
      }
    });
  }

  it("should print package.json's version with elax --version, bundled and from the sources", async () => {
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const env of [{}, { ELAX_NO_BUNDLE: '1' }]) {
      const { stdout } = await run(process.execPath, [path.join(ROOT, 'bin', 'elax.mjs'), '--version'], { env: { ...process.env, ...env } });
      expect(stdout.trim()).toBe(version);
    }
  });

  it('should bundle the repository it is in, and give null (run through tsx) when the sources do not build', async () => {
    expect(existsSync(path.join(ROOT, entries.main!))).toBe(true);
    const root = mkdtempSync(path.join(tmpdir(), 'elax-broken-'));
    try {
      for (const src of Object.values(entries)) {
        mkdirSync(path.dirname(path.join(root, src)), { recursive: true });
        writeFileSync(path.join(root, src), 'export const x = ;\n');
      }
      const logs: string[] = [];
      expect(await ensure({ root, cacheDir: path.join(root, 'cache'), log: (m) => logs.push(m) })).toBeNull();
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(/could not bundle the sources .*main\.ts.*through tsx/);
      expect(readdirSync(path.join(root, 'cache'))).toEqual([]); // its temporary removed
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
