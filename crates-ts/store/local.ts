/**
 * LocalDirStore: the object store over a local directory (the embedded default). Key `a/b/c` is file `<root>/a/b/c`.
 * It gives S3's conditional-write guarantees across processes on one machine:
 *
 *  - Every write puts the bytes in a fresh temp file in the key's directory and fsyncs it first, so an object is
 *    never visible half-written and every version is a new inode.
 *  - putIfAbsent: link(temp, key) fails with EEXIST if the key exists, atomically: exactly one creator wins.
 *  - put, putIfMatch and delete run under the key's lock file (./local-lock.ts); putIfMatch re-reads the current
 *    version under the lock and only then rename()s the temp file over the key. Because every replace and delete
 *    holds the lock, nothing can change the key between the check and the rename.
 *  - The directory is fsynced after link/rename/unlink (and new directories' parents after mkdir) before a write
 *    resolves.
 *
 * Witness: `inode.size.mtimeNs`, plus the MD5 of the content for objects up to 1 MiB. The stat part changes on every
 * write except when a freed inode number is reused within one timestamp tick for an object of the same size; the
 * hash closes that gap for the small objects that are CAS targets (router.json), leaving exactly S3's semantics
 * (an ETag is the MD5 of the content). Large objects (parts) are immutable and never CAS'd, so their head/get
 * stays a stat, with no full read. WAL entries (`{ns}/wal/{seq}.parquet`) and part files (`{ns}/parts/{id}/{file}`)
 * are immutable too (created once, RFC-0001, RFC-0004): never hashed, whatever their size, so a commit does not hash
 * its entry on the event loop, a strong read's probe of the next entry (namespace/catalog.ts doRefresh) is a stat,
 * not a read of it, and a ranged read of a small part file reads the range, not the whole file to hash it.
 *
 * One machine only: the lock's staleness check uses pids, and link/rename atomicity is what local filesystems give.
 */
import { closeSync, fstatSync, fsync, linkSync, openSync, readSync, statSync, unlinkSync, writeSync, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { ElaxError, systemClock, type Clock } from '../core/index.js';
import { checkRange, errno, systemSleep, type Sleep } from './common.js';
import { validateKey, validatePrefix } from './keys.js';
import { ListBuilder } from './list-builder.js';
import { acquireLock, type LockConfig, type Release } from './local-lock.js';
import { walkList } from './local-list.js';
import { Witness, type ByteRange, type GetResult, type ListOptions, type ListResult, type ObjectInfo, type ObjectStore, type PutResult } from './types.js';

/** Objects up to this size carry a content hash in their witness (see the module comment). */
const HASHED_MAX_BYTES = 1 << 20;
/**
 * Keys of immutable objects, whose witness carries no content hash (see the module comment): a WAL entry
 * (store/paths.ts walKey) and a file of a part (partPrefix + its name).
 */
const IMMUTABLE_KEY = /^[^/]+\/(?:wal\/\d{20}\.parquet|parts\/[^/]+\/[^/]+)$/;

/** Whether the witness of the object at `key` of `size` bytes carries the MD5 of its content. */
const hashesContent = (key: string, size: number | bigint): boolean => size <= HASHED_MAX_BYTES && !IMMUTABLE_KEY.test(key);
const TEMP_PREFIX = '.elax-tmp.';
const LOCK_PREFIX = '.elax-lock.';
/**
 * Whole-object reads up to this size are synchronous (`syncSmallReads`): a strong query reads router.json (a few KiB)
 * every time, and four trips through libuv's threadpool (open, stat, read, close) wait behind the WAL's and the
 * indexer's fsyncs there and behind the event loop's queue at each step (docs/rfcs/0010-worker-pool.md "Strong reads
 * without threadpool trips"). Four system calls on a page-cached file cost microseconds.
 */
const SYNC_READ_MAX_BYTES = 64 * 1024;
/**
 * Ranged reads up to this many bytes are synchronous too (`syncSmallReads`), when the object's witness needs no
 * hash of the whole content: a query's first reads of a newly published part are its codes and vector blocks (tens of
 * KiB each), and each of them asynchronously was four threadpool trips plus the wait behind the event loop's queue
 * after each (docs/rfcs/0010-worker-pool.md "Part blocks from a local store").
 */
const SYNC_RANGE_MAX_BYTES = 256 * 1024;
/**
 * The same for listings (`syncSmallReads`): a directory's first 2,048 entries are read synchronously (the rest of a
 * bigger one asynchronously), and a listing of at most 64 keys stats them synchronously. A strong query lists the WAL
 * after its view's head: usually no key or a few.
 */
const SYNC_LIST_ENTRIES = 2048;
/**
 * And for writes (`syncSmallReads`): a put of at most 4 MiB (a WAL entry) makes its temp file, writes it, stats,
 * links and unlinks with synchronous system calls (page-cache work: ≈ 0.3 ms for 0.5 MiB on the benchmark machine),
 * and only its two fsyncs (the file's, then the directory's) go to libuv's threadpool: two trips instead of about
 * ten, each of which waited behind the threadpool's other work and then the event loop's queue (a 1-client write's
 * WAL append was 12 ms at the median for 1.3 ms of system calls; docs/rfcs/0010-worker-pool.md "Strong reads without
 * threadpool trips"). An fsync is never made on the event loop.
 */
const SYNC_WRITE_MAX_BYTES = 4 * 1024 * 1024;
/** Directories this store made or wrote into (skips a mkdir per put); forgotten past this many. */
const KNOWN_DIRS_MAX = 4096;
const SYNC_STAT_KEYS = 64;
/** Parallel stat calls when filling in sizes for a listing. */
const STAT_CONCURRENCY = 64;

export interface LocalDirStoreOptions {
  clock?: Clock;
  sleep?: Sleep;
  /** Wait at most this long for a key's lock before failing with ELAX_ERR_STORE_UNAVAILABLE (default 15 s). */
  lockTimeoutMs?: number;
  /** Break a lock older than this even if its owner seems alive (default 30 s; holders keep it for milliseconds). */
  staleLockMs?: number;
  /**
   * Read whole objects of at most 64 KiB with synchronous system calls (default true; `ELAX_LOCAL_SYNC_READS=0` turns
   * it off): see SYNC_READ_MAX_BYTES. Larger objects and ranges are read asynchronously either way. Also makes a small
   * put's system calls other than its fsyncs synchronous (SYNC_WRITE_MAX_BYTES).
   */
  syncSmallReads?: boolean;
}

let tempCounter = 0;

export class LocalDirStore implements ObjectStore {
  readonly description: string;
  /** Reads come from this machine's disk: no disk cache in front of it (part/part-data.ts). */
  readonly local = true;
  readonly #root: string;
  readonly #lock: LockConfig;
  readonly #syncSmallReads: boolean;
  readonly #knownDirs = new Set<string>();

  constructor(root: string, options: LocalDirStoreOptions = {}) {
    this.#syncSmallReads = options.syncSmallReads ?? process.env.ELAX_LOCAL_SYNC_READS !== '0';
    this.#root = path.resolve(root);
    this.description = `file://${this.#root}`;
    this.#lock = {
      clock: options.clock ?? systemClock,
      sleep: options.sleep ?? systemSleep,
      timeoutMs: options.lockTimeoutMs ?? 15_000,
      staleMs: options.staleLockMs ?? 30_000,
      hostname: hostname(),
      pid: process.pid,
    };
  }

  async get(key: string, range?: ByteRange): Promise<GetResult | null> {
    const p = this.#path(key);
    if (range) checkRange(range);
    if (this.#syncSmallReads && (!range || range.end - range.start <= SYNC_RANGE_MAX_BYTES)) {
      const small = this.#getSmallSync(key, p, range);
      if (small !== 'large') return small;
    }
    const h = await this.#openExisting(p);
    if (!h) return null;
    try {
      const st = await h.stat({ bigint: true });
      if (!st.isFile()) return null; // a directory: the key is only a prefix of other keys
      const size = Number(st.size);
      let bytes: Uint8Array;
      let content: Uint8Array | null = null;
      if (hashesContent(key, size)) {
        content = await readAt(h, 0, size);
        bytes = range ? content.subarray(Math.min(range.start, size), Math.min(range.end, size)) : content;
      } else if (range) {
        const start = Math.min(range.start, size);
        bytes = await readAt(h, start, Math.min(range.end, size) - start);
      } else {
        bytes = await readAt(h, 0, size);
      }
      return { bytes, witness: witnessOf(st, content), info: infoOf(key, st) };
    } catch (e) {
      throw this.#fail('read', p, e);
    } finally {
      await h.close();
    }
  }

  /**
   * Read synchronously: a whole object of at most SYNC_READ_MAX_BYTES, or a `range` of one whose witness is not a
   * hash of its content (the caller keeps the range within SYNC_RANGE_MAX_BYTES); else 'large' (read asynchronously).
   */
  #getSmallSync(key: string, p: string, range?: ByteRange): GetResult | null | 'large' {
    let fd: number;
    try {
      fd = openSync(p, 'r');
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return null;
      throw this.#fail('open', p, e);
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      if (!st.isFile()) return null; // a directory: the key is only a prefix of other keys
      const size = Number(st.size);
      const hashed = hashesContent(key, size);
      if (range && !hashed) {
        const start = Math.min(range.start, size);
        return { bytes: readSyncAt(fd, start, Math.min(range.end, size) - start), witness: witnessOf(st, null), info: infoOf(key, st) };
      }
      if (size > SYNC_READ_MAX_BYTES) return 'large';
      const content = readSyncAt(fd, 0, size);
      const bytes = range ? content.subarray(Math.min(range.start, size), Math.min(range.end, size)) : content;
      return { bytes, witness: witnessOf(st, hashed ? content : null), info: infoOf(key, st) };
    } catch (e) {
      throw this.#fail('read', p, e);
    } finally {
      closeSync(fd);
    }
  }

  async head(key: string): Promise<{ info: ObjectInfo; witness: Witness } | null> {
    const p = this.#path(key);
    if (this.#syncSmallReads) {
      // As get: a strong query probes the WAL entry after its view's head (namespace/catalog.ts doRefresh), usually absent.
      const small = this.#getSmallSync(key, p);
      if (small !== 'large') return small && { info: small.info, witness: small.witness };
    }
    const h = await this.#openExisting(p);
    if (!h) return null;
    try {
      const st = await h.stat({ bigint: true });
      if (!st.isFile()) return null;
      const content = hashesContent(key, st.size) ? await readAt(h, 0, Number(st.size)) : null;
      return { info: infoOf(key, st), witness: witnessOf(st, content) };
    } catch (e) {
      throw this.#fail('read', p, e);
    } finally {
      await h.close();
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<Witness> {
    const p = this.#path(key);
    const temp = await this.#writeTemp(key, p, bytes);
    let renamed = false;
    try {
      const release = await this.#acquire(p);
      try {
        await fs.rename(temp.path, p);
        renamed = true;
        await fsyncDir(path.dirname(p));
      } finally {
        await release();
      }
    } catch (e) {
      throw this.#fail('put', p, e);
    } finally {
      if (!renamed) await fs.unlink(temp.path).catch(() => undefined);
    }
    return temp.witness;
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    const p = this.#path(key);
    const temp = await this.#writeTemp(key, p, bytes);
    if (temp.sync) {
      try {
        linkSync(temp.path, p);
      } catch (e) {
        unlinkQuietly(temp.path);
        if (errno(e) === 'EEXIST') return { ok: false };
        throw this.#fail('create', p, e);
      }
      try {
        unlinkSync(temp.path);
        await fsyncDirFd(path.dirname(p));
      } catch (e) {
        throw this.#fail('create', p, e);
      }
      return { ok: true, witness: temp.witness };
    }
    try {
      await fs.link(temp.path, p);
    } catch (e) {
      await fs.unlink(temp.path).catch(() => undefined);
      if (errno(e) === 'EEXIST') return { ok: false };
      throw this.#fail('create', p, e);
    }
    try {
      await fs.unlink(temp.path);
      await fsyncDir(path.dirname(p));
    } catch (e) {
      throw this.#fail('create', p, e);
    }
    return { ok: true, witness: temp.witness };
  }

  async putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult> {
    const p = this.#path(key);
    const temp = await this.#writeTemp(key, p, bytes);
    let renamed = false;
    try {
      const release = await this.#acquire(p);
      try {
        const current = await currentToken(key, p);
        if (current === null || current !== Witness.backendToken(witness)) return { ok: false };
        await fs.rename(temp.path, p);
        renamed = true;
        await fsyncDir(path.dirname(p));
        return { ok: true, witness: temp.witness };
      } finally {
        await release();
      }
    } catch (e) {
      throw this.#fail('replace', p, e);
    } finally {
      if (!renamed) await fs.unlink(temp.path).catch(() => undefined);
    }
  }

  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    validatePrefix(prefix);
    const out = new ListBuilder(prefix, options);
    await walkList(this.#root, prefix, options, out, this.#syncSmallReads ? SYNC_LIST_ENTRIES : 0);
    const infos: (ObjectInfo | null)[] = new Array(out.keys.length).fill(null);
    if (this.#syncSmallReads && out.keys.length <= SYNC_STAT_KEYS) {
      out.keys.forEach((k, i) => {
        let st: StatLike | undefined;
        try {
          st = statSync(path.join(this.#root, k), { bigint: true, throwIfNoEntry: false });
        } catch (e) {
          throw this.#fail('stat', k, e);
        }
        if (st !== undefined) infos[i] = infoOf(k, st); // else deleted while we listed: leave it out
      });
    } else {
      for (let i = 0; i < out.keys.length; i += STAT_CONCURRENCY) {
        await Promise.all(
          out.keys.slice(i, i + STAT_CONCURRENCY).map(async (k, j) => {
            try {
              infos[i + j] = infoOf(k, await fs.stat(path.join(this.#root, k), { bigint: true }));
            } catch (e) {
              if (errno(e) !== 'ENOENT') throw this.#fail('stat', k, e);
              // Deleted while we listed: leave it out.
            }
          }),
        );
      }
    }
    return { objects: infos.filter((o): o is ObjectInfo => o !== null), prefixes: out.prefixes };
  }

  async delete(key: string): Promise<void> {
    const p = this.#path(key);
    try {
      await fs.lstat(p);
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return; // nothing to delete; do not create directories
      throw this.#fail('delete', p, e);
    }
    try {
      const release = await this.#acquire(p);
      try {
        await fs.unlink(p);
        await fsyncDir(path.dirname(p));
      } catch (e) {
        if (errno(e) !== 'ENOENT') throw e;
      } finally {
        await release();
      }
    } catch (e) {
      throw this.#fail('delete', p, e);
    }
    await this.#pruneEmptyDirs(path.dirname(p));
  }

  async close(): Promise<void> {}

  #path(key: string): string {
    validateKey(key);
    return path.join(this.#root, key);
  }

  #acquire(p: string): Promise<Release> {
    return acquireLock(path.join(path.dirname(p), LOCK_PREFIX + path.basename(p)), this.#lock);
  }

  async #openExisting(p: string): Promise<FileHandle | null> {
    try {
      return await fs.open(p, 'r');
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return null;
      throw this.#fail('open', p, e);
    }
  }

  /** Write `bytes` to a new fsynced temp file beside `target` (key's path); returns its path and the witness it will have. */
  async #writeTemp(key: string, target: string, bytes: Uint8Array): Promise<{ path: string; witness: Witness; sync: boolean }> {
    const dir = path.dirname(target);
    const sync = this.#syncSmallReads && bytes.byteLength <= SYNC_WRITE_MAX_BYTES;
    for (let attempt = 0; ; attempt++) {
      const temp = path.join(dir, `${TEMP_PREFIX}${process.pid}.${++tempCounter}`);
      if (sync) {
        let fd: number;
        try {
          if (!this.#knownDirs.has(dir)) {
            await this.#mkdirs(dir);
            if (this.#knownDirs.size >= KNOWN_DIRS_MAX) this.#knownDirs.clear();
            this.#knownDirs.add(dir);
          }
          fd = openSync(temp, 'wx');
        } catch (e) {
          this.#knownDirs.delete(dir); // ENOENT: a delete pruned it; mkdir again
          if ((errno(e) === 'EEXIST' || errno(e) === 'ENOENT') && attempt < 20) continue;
          throw this.#fail('write', target, e);
        }
        try {
          for (let done = 0; done < bytes.byteLength; ) done += writeSync(fd, bytes, done, bytes.byteLength - done);
          await fsyncFd(fd);
          const st = fstatSync(fd, { bigint: true });
          return { path: temp, witness: witnessOf(st, hashesContent(key, st.size) ? bytes : null), sync: true };
        } catch (e) {
          unlinkQuietly(temp);
          throw this.#fail('write', target, e);
        } finally {
          closeSync(fd);
        }
      }
      let h: FileHandle;
      try {
        await this.#mkdirs(dir);
        h = await fs.open(temp, 'wx');
      } catch (e) {
        // EEXIST: a dead process with our pid left this name behind. ENOENT: a concurrent delete pruned the
        // (empty) directory between mkdir and open. Both: try again.
        if ((errno(e) === 'EEXIST' || errno(e) === 'ENOENT') && attempt < 20) continue;
        throw this.#fail('write', target, e);
      }
      try {
        await h.writeFile(bytes);
        await h.sync();
        const st = await h.stat({ bigint: true });
        return { path: temp, witness: witnessOf(st, hashesContent(key, st.size) ? bytes : null), sync: false };
      } catch (e) {
        await fs.unlink(temp).catch(() => undefined);
        throw this.#fail('write', target, e);
      } finally {
        await h.close();
      }
    }
  }

  /** mkdir -p, then fsync the parent of every directory it created, so the new entries survive a crash. */
  async #mkdirs(dir: string): Promise<void> {
    const first = await fs.mkdir(dir, { recursive: true });
    if (first === undefined) return;
    for (let d = dir; d.length >= first.length; d = path.dirname(d)) await fsyncDir(path.dirname(d));
  }

  /** Remove directories left empty by a delete, up to the root, so LIST shows no ghost prefixes. Best effort. */
  async #pruneEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d.startsWith(this.#root + path.sep); d = path.dirname(d)) {
      try {
        await fs.rmdir(d);
      } catch {
        return; // not empty (or already gone, or racing a writer, which recreates it)
      }
    }
  }

  #fail(op: string, p: string, e: unknown): ElaxError {
    if (e instanceof ElaxError) return e;
    const code = errno(e);
    if (code === 'EISDIR' || code === 'ENOTDIR') {
      return new ElaxError(
        'ELAX_ERR_INTERNAL',
        `${this.description}: cannot ${op} ${p}: a key cannot be both an object and a prefix of other keys ('a' and 'a/b') in a local directory store`,
        { cause: e },
      );
    }
    return new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `${this.description}: ${op} ${p} failed: ${(e as Error).message}`, { cause: e });
  }
}

interface StatLike {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  mtimeMs: bigint;
}

function witnessOf(st: StatLike, content: Uint8Array | null): Witness {
  const base = `${st.ino}.${st.size}.${st.mtimeNs}`;
  return Witness.fromBackendToken(content ? `${base}.${createHash('md5').update(content).digest('hex')}` : base);
}

function infoOf(key: string, st: StatLike): ObjectInfo {
  return { key, size: Number(st.size), lastModified: Number(st.mtimeMs) };
}

/** The witness token of the object at `key` (path `p`) now, or null if it does not exist. */
async function currentToken(key: string, p: string): Promise<string | null> {
  let h: FileHandle;
  try {
    h = await fs.open(p, 'r');
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw e;
  }
  try {
    const st = await h.stat({ bigint: true });
    if (!st.isFile()) return null;
    const content = hashesContent(key, st.size) ? await readAt(h, 0, Number(st.size)) : null;
    return Witness.backendToken(witnessOf(st, content));
  } finally {
    await h.close();
  }
}

/** Read exactly `len` bytes at `pos` of descriptor `fd`, synchronously (looping over short reads). */
function readSyncAt(fd: number, pos: number, len: number): Uint8Array {
  const buf = Buffer.allocUnsafe(len);
  let done = 0;
  while (done < len) {
    const n = readSync(fd, buf, done, len - done, pos + done);
    if (n === 0) break; // cannot happen for our immutable files; do not spin if it does
    done += n;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, done);
}

/** Read exactly `len` bytes at `pos` (looping over short reads). */
async function readAt(h: FileHandle, pos: number, len: number): Promise<Uint8Array> {
  const buf = Buffer.allocUnsafe(len);
  let done = 0;
  while (done < len) {
    const { bytesRead } = await h.read(buf, done, len - done, pos + done);
    if (bytesRead === 0) break; // cannot happen for our immutable files; do not spin if it does
    done += bytesRead;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, done);
}

/** fsync(2) of an open descriptor on libuv's threadpool. */
function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
}

/** fsyncDir with synchronous open and close: one threadpool trip (the fsync) instead of three. */
async function fsyncDirFd(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // best effort: a temp file left behind is skipped by listings (a '.elax-' name)
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
