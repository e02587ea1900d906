/**
 * Where a server keeps its disk cache of part files (crates-ts/part PartFileCache).
 *
 *  - persistent (default): `{root}/store-{sha256(store identity)[0..16]}/`, root = `--cache-dir` or
 *    `$XDG_CACHE_HOME/elax` or `~/.cache/elax`. A restarted server (or a second one on the same store) reuses it;
 *    each store gets its own subdirectory, so two stores never share entries. `store.txt` names the store.
 *  - temporary (`--cache-dir temp`, and always for memory:// stores): a fresh `{tmpdir}/elax-cache-tmp-{pid}-XXXXXX`
 *    that the server removes when it closes or exits. One killed with SIGKILL leaves it behind: every server start
 *    sweeps those of dead processes, and the `{tmpdir}/elax-cache-{pid}` folders older versions left.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { invalid } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';

/** The `--cache-dir` value that asks for a temporary cache (a directory named "temp": `./temp`). */
export const TEMP_CACHE_DIR = 'temp';
export const DEFAULT_DISK_CACHE_BYTES = 8 * 1024 ** 3;
export const DEFAULT_MEMORY_CACHE_BYTES = 4 * 1024 ** 3;
/** HNSW graphs (whole, until the clustered vector index): their own budget, so block churn never evicts them. */
export const DEFAULT_GRAPH_CACHE_BYTES = 4 * 1024 ** 3;

const TEMP_PREFIX = 'elax-cache-tmp-';
const STORE_FILE = 'store.txt';

export interface CacheDir {
  dir: string;
  temporary: boolean;
  /** Set when the default directory was unusable and a temporary one is used instead (for the startup log). */
  fallback?: string;
}

type Env = Record<string, string | undefined>;

/** `$XDG_CACHE_HOME/elax` (the spec ignores a relative XDG_CACHE_HOME), else `~/.cache/elax`. */
export function defaultCacheRoot(env: Env = process.env, home: string = homedir()): string {
  const xdg = env.XDG_CACHE_HOME;
  return xdg && path.isAbsolute(xdg) ? path.join(xdg, 'elax') : path.join(home, '.cache', 'elax');
}

/**
 * What makes two stores the same: the store's description (file:///abs/path, s3://bucket/prefix) and, for S3, the
 * endpoint (the same bucket name on two endpoints is two stores). Credentials in an endpoint URL are left out.
 */
export function storeIdentity(store: ObjectStore, env: Env = process.env): string {
  if (!store.description.startsWith('s3://')) return store.description;
  const endpoint = env.ELAX_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  if (!endpoint) return store.description;
  let where = endpoint;
  try {
    const u = new URL(endpoint);
    where = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    // not a URL: open.ts will have said so; keep the raw value
  }
  return `${store.description} at ${where}`;
}

export function storeCacheDirName(identity: string): string {
  return `store-${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`;
}

/** The temporary cache directories of process `pid` are `{tmp}/{temporaryCachePrefix(pid)}XXXXXX`. */
export function temporaryCachePrefix(pid: number): string {
  return `${TEMP_PREFIX}${pid}-`;
}

export async function makeTempCacheDir(tmp: string = tmpdir()): Promise<string> {
  return mkdtemp(path.join(tmp, temporaryCachePrefix(process.pid)));
}

/**
 * Resolve `--cache-dir` (undefined: the default) for a store, creating the directory. An explicit directory that
 * cannot be created or written is the operator's error; an unusable default (no writable home in a container)
 * falls back to a temporary cache rather than refusing to start.
 */
export async function resolveCacheDir(setting: string | undefined, store: ObjectStore, opts: { env?: Env; home?: string; tmp?: string } = {}): Promise<CacheDir> {
  if (setting === TEMP_CACHE_DIR || (setting === undefined && store.description === 'memory://')) {
    return { dir: await makeTempCacheDir(opts.tmp), temporary: true };
  }
  if (setting === '') throw invalid(`--cache-dir is empty; give a directory, or '${TEMP_CACHE_DIR}'`);
  const env = opts.env ?? process.env;
  const root = setting === undefined ? defaultCacheRoot(env, opts.home) : path.resolve(setting);
  const identity = storeIdentity(store, env);
  const dir = path.join(root, storeCacheDirName(identity));
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, STORE_FILE), `${identity}\n`); // for whoever looks in the directory; also a write probe
    return { dir, temporary: false };
  } catch (e) {
    const why = (e as Error).message;
    if (setting !== undefined) throw invalid(`--cache-dir ${setting}: cannot create or write ${dir} (${why}); give a writable directory, or 'temp'`);
    return { dir: await makeTempCacheDir(opts.tmp), temporary: true, fallback: `the default cache directory ${dir} is not writable (${why})` };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, another user's
  }
}

/**
 * Remove the temporary caches of processes that are gone: `elax-cache-tmp-{pid}-*` (a server killed before it
 * could clean up) and `elax-cache-{pid}` (every server of older versions). A live pid's folder is kept, even if
 * the pid was reused. Best effort; returns the names removed.
 */
export async function sweepOrphanCaches(tmp: string = tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /^elax-cache-tmp-(\d+)-[A-Za-z0-9]{6}$/.exec(name) ?? /^elax-cache-(\d+)$/.exec(name); // mkdtemp adds 6 characters
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    try {
      await rm(path.join(tmp, name), { recursive: true, force: true, maxRetries: 3 });
      removed.push(name);
    } catch {
      // not ours to remove (another user's), or busy: leave it
    }
  }
  return removed;
}
