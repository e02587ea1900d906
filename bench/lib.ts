/** Shared helpers for benchmarks: start a server process, percentiles, seeded data. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer } from 'node:net';
import { Engine } from '../crates-ts/engine/index.js';
import { LoadedPartCache, PartFileCache } from '../crates-ts/part/index.js';
import { BlockCache } from '../crates-ts/cache/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { temporaryCachePrefix } from '../server/cache-dir.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface ServerProcess {
  url: string;
  store: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/**
 * How `npm start` starts the server (README's first command), read from package.json's `start` script so that the
 * benchmarks measure the server a user runs: its node flags (`node --max-semi-space-size=64 bin/elax.mjs serve`) and
 * the environment it sets with defaults (`NAME=${NAME:-value}`, e.g. the allocator's MALLOC_MMAP_THRESHOLD_).
 */
export function npmStartOf(startScript: string): { nodeArgs: string[]; env: Record<string, string> } {
  const m = /(?:^|\s)node((?:\s+--\S+)*)\s+bin\/elax\.mjs\s+serve\b/.exec(startScript);
  if (!m) throw new Error(`package.json's start script does not run \`node [flags] bin/elax.mjs serve\`: ${startScript}`);
  const env: Record<string, string> = {};
  for (const [, name, value] of startScript.slice(0, m.index).matchAll(/(\w+)=\$\{\1:-([^}]*)\}/g)) env[name!] = value!;
  return { nodeArgs: m[1]!.trim().split(/\s+/).filter(Boolean), env };
}

const npmStart = npmStartOf((JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start);

/** `npm start`'s node flags (package.json): a 64 MiB young generation (README "Environment"). */
export const SERVER_NODE_ARGS = npmStart.nodeArgs;
/**
 * `npm start`'s environment defaults (package.json); the caller's environment overrides them, as in the script.
 * ELAX_BENCH_SERVER_ENV=none leaves them out (e.g. to measure glibc's own malloc thresholds, which no value restores).
 */
export const SERVER_ENV: Record<string, string> = process.env.ELAX_BENCH_SERVER_ENV === 'none' ? {} : npmStart.env;

/**
 * Starts `elax serve` as a child process on a fresh temp store (or the given one) and waits for /health, with
 * `npm start`'s node flags and environment (SERVER_NODE_ARGS, SERVER_ENV) unless the bench gives its own.
 */
export async function startServerProcess(opts: { store?: string; args?: string[]; env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const store = opts.store ?? mkdtempSync(path.join(tmpdir(), 'elax-bench-'));
  const nodeArgs = serverNodeArgs(opts.nodeArgs ?? []);
  const child = spawn(process.execPath, [...nodeArgs, path.join(repo, 'bin/elax.mjs'), 'serve', '--port', String(port), '--store', store, ...(process.env.ELAX_BENCH_VERBOSE ? [] : ['--quiet']), '--cache-dir', 'temp', ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...serverEnv(), ...opts.env },
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  // The server's stdout (e.g. `--node-args=--trace-gc`; its log lines, the indexer's publishes among them, with
  // ELAX_BENCH_VERBOSE=1, which leaves out --quiet) goes to $ELAX_BENCH_SERVER_STDOUT when set; else it is drained.
  if (process.env.ELAX_BENCH_SERVER_STDOUT) child.stdout!.pipe(createWriteStream(process.env.ELAX_BENCH_SERVER_STDOUT));
  else child.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`server did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    store,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        // A killed child has signalCode set and exitCode null: it is gone either way.
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

/** mulberry32 (crates-ts/ivf/random.ts): a small seeded PRNG so data sets are reproducible. */
export { seededRandom as rng } from '../crates-ts/ivf/index.js';

/**
 * A seeded Gaussian mixture: `clusters` centres drawn from N(0, 1)^dims, each vector a random centre plus
 * N(0, spread²) noise, rounded to 5 decimals (as JSON would carry it). Returns a generator of vectors; pass `out`
 * to learn which centre a vector came from.
 */
export function gaussianMixture(rand: () => number, dims: number, clusters = 256, spread = 0.35): (out?: { cluster: number }) => number[] {
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const centers = Array.from({ length: clusters }, () => Array.from({ length: dims }, () => gauss()));
  return (out) => {
    const i = Math.floor(rand() * centers.length);
    if (out) out.cluster = i;
    return centers[i]!.map((x) => +(x + spread * gauss()).toFixed(5));
  };
}

/**
 * An in-process engine for benchmarks: real clock and sleeps, no group-commit window, no backpressure, and part
 * caches (8 GiB of decoded format-1 parts, 8 GiB block cache for format 2, 8 GiB disk in a temp dir) large enough that nothing is evicted mid-run. Each call has
 * empty caches, so its first query is cold.
 */
export function benchEngine(store: ObjectStore, efSearch: number): Engine {
  // The part-file cache's directory goes with the process (each run left hundreds of MiB in the temp dir).
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'elax-bench-cache-'));
  process.once('exit', () => rmSync(cacheDir, { recursive: true, force: true }));
  return new Engine(store, {
    clock: { now: () => Date.now() },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    random: Math.random,
    groupCommitMs: 0,
    efSearch,
    backpressureBytes: Number.MAX_SAFE_INTEGER,
    catalog: { loadedParts: new LoadedPartCache(8 * 1024 ** 3), blockCache: new BlockCache(8 * 1024 ** 3), partFiles: new PartFileCache(cacheDir, 8 * 1024 ** 3) },
  });
}

/** `npm start`'s node flags (SERVER_NODE_ARGS), each unless `given` (the bench's own flags, which follow) has it. */
export function serverNodeArgs(given: string[], base: readonly string[] = SERVER_NODE_ARGS): string[] {
  const flag = (a: string) => a.split('=')[0];
  const own = new Set(given.map(flag));
  return [...base.filter((a) => !own.has(flag(a))), ...given];
}

/** A bench's server environment: `npm start`'s defaults under this process's environment, as in the script. */
export function serverEnv(): NodeJS.ProcessEnv {
  return { ...SERVER_ENV, ...process.env };
}

/** The server's start as benches make it: `npm start`'s environment variables (with their values here) and flags. */
export function serverStart(): string {
  const env = serverEnv();
  return `${[...Object.keys(SERVER_ENV).map((k) => `${k}=${env[k]}`), 'node', ...SERVER_NODE_ARGS].join(' ')} bin/elax.mjs serve (as npm start)`;
}

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
}

/**
 * How fast this machine's CPUs are right now (docs/benchmarks.md "What the two vCPUs give"): a fixed CPU-bound loop
 * (≈ 170 ms on an idle vCPU here) timed in a child process pinned to each CPU alone (`solo_ms`, in CPU order), then
 * on every CPU at once (`together_ms`). On a VM whose vCPUs share host cores the second is slower, and varies from
 * minute to minute: a benchmark prints it before and after its runs, so that its numbers can be read against it.
 * Null without util-linux `taskset` or on more than 8 CPUs (not this machine's problem).
 */
export async function hostSpeed(): Promise<{ solo_ms: number[]; together_ms: number[] } | null> {
  const n = cpus().length;
  if (n > 8 || spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  const spin =
    '(function(){const a=new Float64Array(4096);for(let i=0;i<4096;i++)a[i]=(i*7919%4096)/4096;let s=0;const t=performance.now();' +
    'for(let r=0;r<40000;r++)for(let i=0;i<4096;i++)s+=a[i]*a[(i*7)&4095];process.stdout.write(String(performance.now()-t)+(s>0?"":" "))})()';
  const run = (cpu: number) =>
    new Promise<number>((resolve, reject) => {
      let out = '';
      const c = spawn('taskset', ['-c', String(cpu), process.execPath, '-e', spin], { stdio: ['ignore', 'pipe', 'ignore'] });
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('error', reject);
      c.on('close', () => resolve(Math.round(Number.parseFloat(out))));
    });
  const solo: number[] = [];
  for (let cpu = 0; cpu < n; cpu++) solo.push(await run(cpu));
  const together = await Promise.all(Array.from({ length: n }, (_, cpu) => run(cpu)));
  return { solo_ms: solo, together_ms: together };
}

/** True when the module at `moduleUrl` is the script being run (also through bin/run-ts.mjs, which passes a relative path). */
export function isMain(moduleUrl: string): boolean {
  return !!process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === moduleUrl;
}

/** p50 / p99 / mean of `xs` (sorted in place), rounded to `digits`. */
export function latencySummary(xs: number[], digits = 2): { p50: number; p99: number; mean: number } {
  xs.sort((a, b) => a - b);
  const r = (v: number) => +v.toFixed(digits);
  return { p50: r(percentile(xs, 50)), p99: r(percentile(xs, 99)), mean: r(xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length)) };
}

/** POST a JSON body; retries 429 (backpressure) after its Retry-After. Throws on any other non-2xx with the body. */
export async function postJson<T = unknown>(url: string, body: unknown): Promise<T> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  for (;;) {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    if (r.status === 429) {
      await r.arrayBuffer();
      await new Promise((res) => setTimeout(res, 1000 * Number(r.headers.get('retry-after') ?? 1)));
      continue;
    }
    const text = await r.text();
    if (!r.ok) throw new Error(`POST ${url}: ${r.status} ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }
}

/**
 * Upserts `rows` into `ns` through the HTTP API in batches of `batch`, `clients` requests in flight. `extra` goes
 * into every request (schema, distance_metric: repeating them is harmless and keeps batches independent).
 */
export async function writeRows(url: string, ns: string, rows: Iterable<Record<string, unknown>>, o: { batch: number; clients: number; extra?: Record<string, unknown> }): Promise<{ rows: number; requests: number }> {
  const it = rows[Symbol.iterator]();
  let total = 0;
  let requests = 0;
  const nextBody = (): string | null => {
    const b: Record<string, unknown>[] = [];
    for (let r = it.next(); !r.done; r = it.next()) {
      b.push(r.value);
      if (b.length >= o.batch) break;
    }
    if (b.length === 0) return null;
    total += b.length;
    requests++;
    return JSON.stringify({ ...o.extra, upsert_rows: b });
  };
  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      for (let body = nextBody(); body !== null; body = nextBody()) await postJson(`${url}/v2/namespaces/${ns}`, body);
    }),
  );
  return { rows: total, requests };
}

/** Polls GET /v1/namespaces/:ns/metadata until the index reports up-to-date; returns the last metadata. */
export async function waitIndexed(url: string, ns: string, timeoutMs = 3_600_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${url}/v1/namespaces/${ns}/metadata`);
    const meta = (await r.json()) as { index?: { status?: string } };
    if (meta.index?.status === 'up-to-date') return meta as Record<string, unknown>;
    if (Date.now() > deadline) throw new Error(`index of ${ns} not up-to-date after ${timeoutMs} ms: ${JSON.stringify(meta.index)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** Resident and peak resident memory of a process (Linux /proc), in MiB. */
export function processMemory(pid: number): { rss_mib: number; peak_rss_mib: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss_mib: Math.round(kib('VmRSS') / 1024), peak_rss_mib: Math.round(kib('VmHWM') / 1024) };
}

/** Parts and their bytes of a namespace in a local-directory store (router.json). */
export function localParts(storeDir: string, ns: string): { parts: number; part_mib: number } {
  const router = JSON.parse(readFileSync(path.join(storeDir, ns, 'router.json'), 'utf8')) as { parts: { bytes: number }[] };
  return { parts: router.parts.length, part_mib: +(router.parts.reduce((s, p) => s + p.bytes, 0) / 2 ** 20).toFixed(1) };
}

/** Row-normalized copy of `n` × `dims` vectors (cosine similarity becomes a dot product). */
export function normalizeRows(data: Float32Array, dims: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i += dims) {
    let s = 0;
    for (let d = 0; d < dims; d++) s += data[i + d]! * data[i + d]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dims; d++) out[i + d] = data[i + d]! * inv;
  }
  return out;
}

/** Exact cosine top-k (row indexes into `base`, best first) for each query, by brute force over normalized rows. */
export function exactCosineTopK(base: Float32Array, dims: number, queries: Float32Array[], k: number): number[][] {
  const nb = normalizeRows(base, dims);
  return queries.map((q0) => {
    const q = normalizeRows(q0, dims);
    const best: { i: number; s: number }[] = [];
    for (let i = 0, off = 0; off < nb.length; i++, off += dims) {
      let s = 0;
      for (let d = 0; d < dims; d++) s += nb[off + d]! * q[d]!;
      if (best.length < k || s > best[best.length - 1]!.s) {
        best.push({ i, s });
        best.sort((a, b) => b.s - a.s);
        if (best.length > k) best.pop();
      }
    }
    return best.map((b) => b.i);
  });
}

/** Fraction of `truth` found in `got`. */
export function recallOf(got: readonly (number | string)[], truth: readonly (number | string)[]): number {
  const t = new Set(truth);
  return truth.length === 0 ? 1 : got.filter((x) => t.has(x)).length / truth.length;
}

/**
 * Raw hnswlib-node on the same vectors (labels = row index), one index, no I/O: the floor elax's ANN path is
 * compared with. `truth[i]` holds the exact top-k row indexes of `queries[i]`.
 */
export async function rawHnswlib(
  vectors: number[][],
  queries: number[][],
  truth: number[][],
  o: { M: number; efConstruction: number; efs: number[]; k?: number },
): Promise<{ build_vectors_per_s: number; runs: { ef: number; p50_ms: number; p99_ms: number; recall_at_10: number }[] }> {
  const { default: hnswlib } = await import('hnswlib-node');
  const k = o.k ?? 10;
  const dims = vectors[0]!.length;
  const index = new hnswlib.HierarchicalNSW('cosine', dims);
  index.initIndex(vectors.length, o.M, o.efConstruction, 100);
  const t = performance.now();
  for (let i = 0; i < vectors.length; i++) index.addPoint(vectors[i]!, i);
  const buildS = (performance.now() - t) / 1000;
  const runs = o.efs.map((ef) => {
    index.setEf(ef);
    const lat: number[] = [];
    let recall = 0;
    queries.forEach((q, i) => {
      const s = performance.now();
      const res = index.searchKnn(q, k);
      lat.push(performance.now() - s);
      recall += recallOf(res.neighbors, truth[i]!);
    });
    const l = latencySummary(lat, 3);
    return { ef, p50_ms: l.p50, p99_ms: l.p99, recall_at_10: +(recall / queries.length).toFixed(4) };
  });
  return { build_vectors_per_s: Math.round(vectors.length / buildS), runs };
}

/** Client round trip of GET /health (no engine work): the HTTP floor under every latency measured over HTTP. */
export async function httpFloor(url: string, n = 200): Promise<{ p50: number; p99: number; mean: number }> {
  const lat: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const s = performance.now();
    await (await fetch(`${url}/health`)).arrayBuffer();
    if (i >= 20) lat.push(performance.now() - s);
  }
  return latencySummary(lat);
}

/**
 * Deletes a stopped server's temporary part cache (`--cache-dir temp`: the server removes it itself unless it was
 * killed) and, unless kept, its store.
 */
export function removeServerFiles(s: ServerProcess, o: { keepStore?: boolean } = {}): void {
  const pid = s.child.pid;
  if (pid) for (const name of readdirSync(tmpdir())) if (name.startsWith(temporaryCachePrefix(pid))) rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
  if (!o.keepStore) rmSync(s.store, { recursive: true, force: true });
}

/**
 * CPU seconds (user + system, Linux /proc) of a server process: `threads` all of its own threads; `loop` its main
 * thread (the event loop); `children` its child processes (the embedded indexer's, indexer/embedded.ts, and tsx's
 * esbuild service while its cache is cold), those running and those that exited and were reaped. Deltas of two readings give cores used over a timed run.
 */
/**
 * Run-queue delay (Linux /proc/<pid>/task/<tid>/schedstat, second field: time runnable but not running) of a server
 * process, in seconds: `threads` summed over its own threads (those alive at the reading), `loop` its main thread's.
 * Time the server waited for a core: other processes' work, the embedded indexer's included when it does not yield.
 */
export function serverRunDelaySeconds(pid: number): { threads: number; loop: number } {
  const delay = (tid: string | number) => {
    try {
      return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
    } catch {
      return 0; // exited meanwhile, or no schedstats
    }
  };
  let threads = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) threads += delay(tid);
  return { threads, loop: delay(pid) };
}

export function serverCpuSeconds(pid: number): { threads: number; loop: number; children: number } {
  const stat = (file: string) => readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
  const own = stat(`/proc/${pid}/stat`);
  const loop = stat(`/proc/${pid}/task/${pid}/stat`);
  let children = Number(own[13]) + Number(own[14]); // cutime, cstime: reaped children
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const f = stat(`/proc/${p}/stat`);
      if (Number(f[1]) === pid) children += Number(f[11]) + Number(f[12]);
    } catch {
      /* exited meanwhile */
    }
  }
  return { threads: (Number(own[11]) + Number(own[12])) / 100, loop: (Number(loop[11]) + Number(loop[12])) / 100, children: children / 100 };
}
