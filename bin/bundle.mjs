// The engine's entry points bundled by esbuild, built on demand and cached by the sources' fingerprint
// (docs/ARCHITECTURE.md "Startup: the bundled engine"; RFC-0010 "Startup"). Loading the TypeScript sources through
// tsx costs each thread and process that loads the engine ≈ 1.5 s of CPU (one loader-hook round trip and one
// transform per module); the bundle loads in a third of that. Plain JavaScript: it runs before tsx is registered.
//
// The bundle lives in node_modules/.cache/elax-bundle/<fingerprint>/ (one chunk per entry point plus shared chunks,
// with source maps). The fingerprint covers every source file's path, size and mtime, the lockfile and esbuild's
// version, so an edited source builds a new bundle at the next start (≈ 0.3 s) and a stale one is never used.
// Concurrent starts build side by side in temporary directories; the first rename wins and the others use it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Bundle entry name → source, relative to ROOT. Every module a thread or process starts from is one of these. */
export const ENTRIES = {
  main: 'cli/main.ts',
  'pool-worker': 'crates-ts/pool/worker.ts',
  'build-worker': 'indexer/build-worker.ts',
  'indexer-worker': 'indexer/worker.ts',
  'indexer-process-entry': 'indexer/process-entry.mjs',
};

/** Directories whose sources the bundle is made of (their `*.test.ts` files are not bundled, nor fingerprinted). */
const SOURCE_DIRS = ['cli', 'crates-ts', 'indexer', 'server'];
/** Bump when the build options below change: a new format of bundle. */
const BUNDLE_FORMAT = 1;
/** Bundles kept besides the current one (other checkouts' or branches' fingerprints). */
const KEEP_OLD = 5;

function walk(dir, out) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') walk(p, out);
    } else if (/\.(ts|mts|mjs|js|json)$/.test(e.name) && !/\.test\.ts$/.test(e.name)) out.push(p); // tests are not bundled
  }
}

/** The sources' fingerprint: path, size and mtime of every source file, the lockfile, esbuild's version. */
export function fingerprint(root = ROOT, esbuildVersion = '') {
  const files = [];
  for (const d of SOURCE_DIRS) if (existsSync(path.join(root, d))) walk(path.join(root, d), files);
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'bin/bundle.mjs']) if (existsSync(path.join(root, f))) files.push(path.join(root, f));
  files.sort();
  const h = createHash('sha256');
  h.update(`elax-bundle ${BUNDLE_FORMAT} ${esbuildVersion} ${process.version}\n`);
  for (const f of files) {
    const s = statSync(f);
    h.update(`${path.relative(root, f)} ${s.size} ${s.mtimeMs}\n`);
  }
  return h.digest('hex').slice(0, 20);
}

/**
 * The bundle's directory for the sources as they are now, built if missing; null when it cannot be had (esbuild
 * missing or failing, a read-only install): the caller then loads the sources through tsx. `log` gets one line
 * when a bundle cannot be had; `onBuilt(dir, ms)` is called when this call built it.
 */
export function ensureBundle({ root = ROOT, cacheDir = path.join(root, 'node_modules', '.cache', 'elax-bundle'), log = () => {}, onBuilt = () => {} } = {}) {
  // One build per bundle directory in a process (concurrent starts in other processes race by rename, below).
  const at = `${root}\0${cacheDir}`;
  let p = inflight.get(at);
  if (!p) {
    p = build(root, cacheDir, log, onBuilt).finally(() => inflight.delete(at));
    inflight.set(at, p);
  }
  return p;
}

const inflight = new Map();
/** Builds running in this process: esbuild's service process is stopped when the last one ends. */
let building = 0;

async function build(root, cacheDir, log, onBuilt) {
  // esbuild's version from its package.json: importing esbuild itself (≈ 45 ms) is only for a build.
  let version;
  try {
    version = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('esbuild/package.json'), 'utf8')).version; // the esbuild import('esbuild') below loads
  } catch (e) {
    log(`elax: esbuild not found (${e.message.split('\n')[0]}): running the TypeScript sources through tsx`);
    return null;
  }
  const key = fingerprint(root, version);
  const dir = path.join(cacheDir, key);
  if (existsSync(path.join(dir, 'done'))) return dir;
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    log(`elax: esbuild not found (${e.message.split('\n')[0]}): running the TypeScript sources through tsx`);
    return null;
  }
  if (esbuild.version !== version) {
    log(`elax: esbuild ${esbuild.version} loaded, ${version} installed: running the TypeScript sources through tsx`);
    return null;
  }
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    mkdirSync(cacheDir, { recursive: true });
    const t = performance.now();
    building++;
    await esbuild
      .build({
        absWorkingDir: root,
        entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, src]) => [name, path.join(root, src)])),
        outdir: tmp,
        outExtension: { '.js': '.mjs' },
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: `node${process.versions.node.split('.')[0]}`,
        packages: 'external',
        // Error and class names as in the sources (messages and logs print some).
        keepNames: true,
        sourcemap: 'linked',
        sourcesContent: false,
        logLevel: 'silent',
      })
      .finally(() => --building === 0 && esbuild.stop()); // its service process would otherwise live as long as this one
    writeFileSync(path.join(tmp, 'done'), JSON.stringify({ key, built_ms: Math.round(performance.now() - t) }));
    try {
      renameSync(tmp, dir);
    } catch {
      // Another process renamed its bundle of the same sources first: use that one.
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(path.join(dir, 'done'))) throw new Error(`could not place the bundle in ${dir}`);
    }
    onBuilt(dir, Math.round(performance.now() - t));
    pruneOld(cacheDir, key);
    return dir;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const why = e.errors?.[0] ? `${e.errors[0].location?.file ?? ''}: ${e.errors[0].text}` : String(e.message).split('\n')[0];
    log(`elax: could not bundle the sources (${why}): running them through tsx`);
    return null;
  }
}

/** Remove all but the newest KEEP_OLD other bundles (and temporaries left by a killed build, after an hour). */
function pruneOld(cacheDir, key) {
  try {
    const now = Date.now();
    const others = readdirSync(cacheDir)
      .filter((n) => n !== key)
      .map((n) => ({ n, t: statSync(path.join(cacheDir, n)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    others.forEach(({ n, t }, i) => {
      const temporary = n.includes('.tmp-');
      if (temporary ? now - t > 3_600_000 : i >= KEEP_OLD) rmSync(path.join(cacheDir, n), { recursive: true, force: true });
    });
  } catch {
    /* best effort */
  }
}
