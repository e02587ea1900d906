/**
 * Object store over a local directory: the embedded default. Gives the same guarantees as S3 conditional writes
 * across processes on one machine:
 *  - put-if-absent: write a temp file, fsync, then link() it to the key's path; link fails with EEXIST if the key
 *    exists, atomically, so exactly one concurrent creator wins.
 *  - put-if-match: under a per-key lock file (O_EXCL create), compare the current version, then rename() a fsynced
 *    temp file over the key. Every write creates a new inode, so (inode, size, mtime) identifies a version.
 *  - durability: file data and the parent directory are fsynced before a write resolves.
 */
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ElaxError } from '../core/index.js';
import { Witness, type ByteRange, type GetResult, type ListOptions, type ListResult, type ObjectInfo, type ObjectStore, type PutResult } from './types.js';

const TEMP_PREFIX = '.elax-tmp-';
const LOCK_SUFFIX = '.elax-lock';
/** A lock older than this was left by a crashed process. CAS writes of small objects take milliseconds. */
const STALE_LOCK_MS = 10_000;
const LOCK_WAIT_MS = 15_000;

function versionOf(st: { ino: number | bigint; size: number | bigint; mtimeNs?: bigint; mtimeMs: number | bigint }): string {
  return `${st.ino}:${st.size}:${st.mtimeNs ?? st.mtimeMs}`;
}

function isInternal(name: string): boolean {
  return name.startsWith(TEMP_PREFIX) || name.endsWith(LOCK_SUFFIX);
}

export class LocalDirStore implements ObjectStore {
  readonly description: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.description = `file://${this.root}`;
  }

  private pathOf(key: string): string {
    if (key.length === 0 || key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '.' || p === '') || key.includes('\\')) {
      throw new ElaxError('ELAX_ERR_INTERNAL', `invalid object key '${key}'`);
    }
    return path.join(this.root, key);
  }

  private async fsyncDir(dir: string): Promise<void> {
    const h = await fs.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  }

  /** Write bytes to a new fsynced temp file next to `target` and return its path. */
  private async writeTemp(target: string, bytes: Uint8Array): Promise<string> {
    const dir = path.dirname(target);
    const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.mkdir(dir, { recursive: true });
        const h = await fs.open(tmp, 'wx');
        try {
          await h.writeFile(bytes);
          await h.sync();
        } finally {
          await h.close();
        }
        return tmp;
      } catch (e) {
        // A concurrent delete may have removed the (empty) directory between mkdir and open.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue;
        throw this.unavailable('write', target, e);
      }
    }
  }

  private unavailable(op: string, p: string, cause: unknown): ElaxError {
    return new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `local store: ${op} ${p} failed: ${(cause as Error).message}`, { cause });
  }

  async get(key: string, range?: ByteRange): Promise<GetResult | null> {
    const p = this.pathOf(key);
    let h;
    try {
      h = await fs.open(p, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw this.unavailable('open', p, e);
    }
    try {
      const st = await h.stat({ bigint: true });
      const size = Number(st.size);
      let bytes: Uint8Array;
      if (range) {
        const start = Math.min(range.start, size);
        const len = Math.max(0, Math.min(range.end, size) - start);
        const buf = Buffer.alloc(len);
        if (len > 0) await h.read(buf, 0, len, start);
        bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
      } else {
        const buf = await h.readFile();
        bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
      }
      return { bytes, witness: Witness.fromBackendToken(versionOf(st)), info: { key, size, lastModified: Number(st.mtimeMs) } };
    } finally {
      await h.close();
    }
  }

  async head(key: string) {
    const p = this.pathOf(key);
    try {
      const st = await fs.stat(p, { bigint: true });
      return { info: { key, size: Number(st.size), lastModified: Number(st.mtimeMs) }, witness: Witness.fromBackendToken(versionOf(st)) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw this.unavailable('stat', p, e);
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<Witness> {
    const p = this.pathOf(key);
    const tmp = await this.writeTemp(p, bytes);
    const st = await fs.stat(tmp, { bigint: true });
    await fs.rename(tmp, p);
    await this.fsyncDir(path.dirname(p));
    return Witness.fromBackendToken(versionOf(st));
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    const p = this.pathOf(key);
    const tmp = await this.writeTemp(p, bytes);
    try {
      const st = await fs.stat(tmp, { bigint: true });
      try {
        await fs.link(tmp, p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return { ok: false };
        throw this.unavailable('link', p, e);
      }
      await this.fsyncDir(path.dirname(p));
      return { ok: true, witness: Witness.fromBackendToken(versionOf(st)) };
    } finally {
      await fs.unlink(tmp).catch(() => undefined);
    }
  }

  async putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult> {
    const p = this.pathOf(key);
    const tmp = await this.writeTemp(p, bytes);
    const release = await this.lock(p);
    try {
      let current: string;
      try {
        current = versionOf(await fs.stat(p, { bigint: true }));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false };
        throw this.unavailable('stat', p, e);
      }
      if (current !== Witness.backendToken(witness)) return { ok: false };
      const st = await fs.stat(tmp, { bigint: true });
      await fs.rename(tmp, p);
      await this.fsyncDir(path.dirname(p));
      return { ok: true, witness: Witness.fromBackendToken(versionOf(st)) };
    } finally {
      await release();
      await fs.unlink(tmp).catch(() => undefined);
    }
  }

  /** Per-key mutual exclusion across processes: create `<key>.elax-lock` with O_EXCL; break locks of dead writers. */
  private async lock(p: string): Promise<() => Promise<void>> {
    const lockPath = `${p}${LOCK_SUFFIX}`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        const h = await fs.open(lockPath, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY);
        await h.writeFile(String(process.pid));
        await h.close();
        return () => fs.unlink(lockPath).catch(() => undefined);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw this.unavailable('lock', lockPath, e);
      }
      try {
        const st = await fs.stat(lockPath);
        if (Date.now() - st.mtimeMs > STALE_LOCK_MS) await fs.unlink(lockPath).catch(() => undefined);
      } catch {
        /* released meanwhile */
      }
      if (Date.now() > deadline) throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `local store: timed out waiting for lock ${lockPath}`, { retryAfter: 1 });
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash + 1) : '';
    const namePrefix = prefix.slice(dirKey.length);
    const startDir = dirKey ? path.join(this.root, dirKey) : this.root;
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    const oneLevel = options.delimiter === '/';
    const walk = async (dir: string, keyPrefix: string, filterName: string | null): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw this.unavailable('readdir', dir, e);
      }
      for (const ent of entries) {
        if (isInternal(ent.name)) continue;
        if (filterName !== null && !ent.name.startsWith(filterName)) continue;
        const key = keyPrefix + ent.name;
        if (ent.isDirectory()) {
          if (oneLevel) prefixes.push(`${key}/`);
          else await walk(path.join(dir, ent.name), `${key}/`, null);
        } else if (ent.isFile()) {
          objects.push({ key, size: 0, lastModified: 0 });
        }
      }
    };
    await walk(startDir, dirKey, namePrefix);
    const after = options.startAfter;
    const keep = (k: string) => after === undefined || k > after;
    let objs = objects.filter((o) => keep(o.key));
    let pres = prefixes.filter(keep);
    // Merge in key order, then apply the limit over both (as S3 counts keys and common prefixes together).
    const merged = [...objs.map((o) => ({ k: o.key, o })), ...pres.map((p) => ({ k: p, o: null as ObjectInfo | null }))].sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    const limited = options.limit !== undefined ? merged.slice(0, options.limit) : merged;
    objs = [];
    pres = [];
    for (const m of limited) {
      if (m.o) objs.push(m.o);
      else pres.push(m.k);
    }
    await Promise.all(
      objs.map(async (o) => {
        try {
          const st = await fs.stat(path.join(this.root, o.key));
          o.size = st.size;
          o.lastModified = st.mtimeMs;
        } catch {
          o.size = -1; // deleted while listing
        }
      }),
    );
    return { objects: objs.filter((o) => o.size >= 0), prefixes: pres };
  }

  async delete(key: string): Promise<void> {
    const p = this.pathOf(key);
    try {
      await fs.unlink(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw this.unavailable('unlink', p, e);
      return;
    }
    // Remove now-empty parent directories so listings (namespaces, parts) do not show ghosts.
    let dir = path.dirname(p);
    while (dir.startsWith(this.root) && dir !== this.root) {
      try {
        await fs.rmdir(dir);
      } catch {
        break;
      }
      dir = path.dirname(dir);
    }
  }

  async close(): Promise<void> {}
}
