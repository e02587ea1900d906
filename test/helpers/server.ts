/**
 * Test servers for the end-to-end suites:
 *  - startTestServer: in-process (fast; for API tests), port 0, a fresh temp store dir, the embedded indexer off
 *    unless asked (so every document stays in the exhaustively scanned WAL tail and results are deterministic);
 *  - startServerProcess: `node bin/elax.mjs serve` as a child process (for multi-process and crash tests).
 * Temp dirs are removed when the server is closed/stopped. Both use a temporary part cache (`--cache-dir temp`), which
 * the server removes when it closes; for a child killed with SIGKILL the helper removes it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { freePort } from '../../bench/lib.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { startServer, type RunningServer, type ServeOptions } from '../../server/serve.js';
import { TEMP_CACHE_DIR, temporaryCachePrefix } from '../../server/cache-dir.js';
import { LocalDirStore } from '../../crates-ts/store/index.js';
import { Indexer, type IndexerOptions } from '../../indexer/indexer.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
export const ELAX_BIN = path.join(repo, 'bin', 'elax.mjs');

export function tempStoreDir(label = 'api'): string {
  return mkdtempSync(path.join(tmpdir(), `elax-${label}-`));
}

export interface ClientOptions {
  apiKey?: string;
  /** Default 0: tests must see 4xx/5xx directly, not after the client's retries. */
  maxRetries?: number;
  /** gzip request bodies (the client only compresses bodies above 1 KiB). */
  compression?: boolean;
}

export interface TestServer extends RunningServer {
  storeDir: string;
  client(opts?: ClientOptions): Turbopuffer;
}

export interface TestServerOptions {
  apiKeys?: string[];
  bodyLimit?: number;
  /** Reuse a store dir (not removed on close). Default: a fresh temp dir, removed on close. */
  storeDir?: string;
  indexer?: boolean;
  /** Group-commit window (default 1 ms); larger values make concurrent writes share a WAL entry. */
  groupCommitMs?: number;
  /** Filter-write limits (default turbopuffer's 5M / 50k): small ones make "at the limit" tests cheap. */
  writeLimits?: ServeOptions['writeLimits'];
  /** Node-wide cap on request body bytes in flight (inflight.ts). */
  maxInflightBytes?: number;
  /**
   * WAL encode/decode worker threads (crates-ts/pool). Default 0 (inline): a pool thread loads tsx, Arrow and
   * parquet-wasm (1-2 s of CPU on this shared machine) for every test server; test/84 compares both.
   */
  poolThreads?: number;
  /** Memory budget of decoded parts and the share pinned namespaces may hold (server defaults: 4 GiB, 0.5). */
  memoryCacheBytes?: number;
  pinnedCacheShare?: number;
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const storeDir = opts.storeDir ?? tempStoreDir();
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    store: storeDir,
    apiKeys: opts.apiKeys ?? [],
    groupCommitMs: opts.groupCommitMs ?? 1,
    bodyLimit: opts.bodyLimit,
    writeLimits: opts.writeLimits,
    maxInflightBytes: opts.maxInflightBytes,
    poolThreads: opts.poolThreads ?? 0,
    ...(opts.memoryCacheBytes !== undefined ? { memoryCacheBytes: opts.memoryCacheBytes } : {}),
    ...(opts.pinnedCacheShare !== undefined ? { pinnedCacheShare: opts.pinnedCacheShare } : {}),
    log: false,
    indexer: opts.indexer ?? false,
    // Outside the store dir (bad-input tests snapshot every file under the store); the server removes it on close.
    cacheDir: TEMP_CACHE_DIR,
  });
  return {
    ...server,
    storeDir,
    client: (c = {}) =>
      new Turbopuffer({
        apiKey: c.apiKey ?? 'test-key',
        baseURL: server.url,
        maxRetries: c.maxRetries ?? 0,
        compression: c.compression ?? false,
        logLevel: 'off',
      }),
    async close() {
      await server.close();
      if (!opts.storeDir) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

let indexAllNonce = 0;
/**
 * Folds every unindexed WAL entry of `ns` in the store dir `storeDir` (a TestServer's `storeDir`) into parts, one
 * WAL entry per part (`maxEntriesPerPart: 1`, so a namespace written in several batches gets several parts); the
 * server reads them on its next strong query. `opts` adds to or overrides the Indexer's options (e.g. `hnsw`).
 */
export async function indexAll(storeDir: string, ns: string, opts: Partial<Omit<IndexerOptions, 'clock' | 'nonce'>> = {}): Promise<void> {
  const ix = new Indexer(new LocalDirStore(storeDir), { clock: { now: () => Date.now() }, nonce: () => `all${indexAllNonce++}`, maxEntriesPerPart: 1, ...opts });
  while ((await ix.indexNamespace(ns, true)).result === 'published');
}

export { freePort };

export interface ServerProcess {
  url: string;
  store: string;
  child: ChildProcess;
  /** What the child wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** SIGTERM and wait for exit (a no-op for a child that already exited or was killed). */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  store?: string;
  args?: string[];
  env?: Record<string, string>;
}

/**
 * Starts `elax serve` on a free port over `store` (default: a fresh temp dir) and waits until /health answers.
 * Either startServerProcess(storeDir, extraArgs, env) or startServerProcess({store, args, env}).
 */
export async function startServerProcess(
  storeOrOpts: string | ServerProcessOptions = {},
  extraArgs: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<ServerProcess> {
  const opts: ServerProcessOptions = typeof storeOrOpts === 'string' ? { store: storeOrOpts, args: extraArgs, env: extraEnv } : storeOrOpts;
  const store = opts.store ?? tempStoreDir('proc');
  const args = opts.args ?? [];
  // A temporary part cache unless the test chose one: a persistent default would outlive the test's store.
  const cacheArgs = args.includes('--cache-dir') || opts.env?.ELAX_CACHE_DIR ? [] : ['--cache-dir', TEMP_CACHE_DIR];
  // A port found free can be taken before the child binds it (other suites run in parallel): retry on EADDRINUSE.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [ELAX_BIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--store', store, '--quiet', ...cacheArgs, ...args],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env } },
    );
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void exited.then(() => removeTemporaryCaches(child.pid!)); // the child removes its own unless it was killed
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    let up = false;
    while (!up) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        up = (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) })).ok;
      } catch {
        /* not listening yet */
      }
      if (!up) {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`elax serve did not answer /health within 30 s; stderr:\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (!up) {
      if (/EADDRINUSE/.test(stderr) && attempt < 3) continue;
      throw new Error(`elax serve exited with ${child.exitCode ?? child.signalCode}; stderr:\n${stderr}`);
    }
    return {
      url,
      store,
      child,
      stderr: () => stderr,
      stop: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
  }
}

/** Removes what a (killed) server process left of its temporary part caches. */
export function removeTemporaryCaches(pid: number): void {
  for (const name of readdirSync(tmpdir())) {
    if (name.startsWith(temporaryCachePrefix(pid))) rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
  }
}
