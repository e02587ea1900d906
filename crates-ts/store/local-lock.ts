/**
 * Per-key mutual exclusion across processes on one machine, for the local directory store: a lock file created
 * with O_CREAT|O_EXCL next to the key's file. Holders keep it for one rename + fsync (milliseconds).
 *
 * A lock is stale, and may be broken, when its owner is a process on this host that no longer exists, or when it is
 * older than `staleMs` (owner on another host, or a reused pid). Breaking is done by rename() to a unique name and
 * then checking that the renamed file is the very inode judged stale, so two breakers cannot both break the lock
 * and then delete each other's fresh one.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ElaxError, type Clock } from '../core/index.js';
import { errno, type Sleep } from './common.js';

export interface LockConfig {
  clock: Clock;
  sleep: Sleep;
  /** Give up (ELAX_ERR_STORE_UNAVAILABLE) after waiting this long. */
  timeoutMs: number;
  /** A lock this old is broken even if its owner looks alive. */
  staleMs: number;
  hostname: string;
  pid: number;
}

export type Release = () => Promise<void>;

let graveCounter = 0;

/** Acquire the lock at `lockPath` (in directory `dir`, created if missing); resolves to its release function. */
export async function acquireLock(lockPath: string, cfg: LockConfig): Promise<Release> {
  const deadline = cfg.clock.now() + cfg.timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 16)) {
    const held = await tryCreate(lockPath, cfg);
    if (held) return held;
    const stale = await staleInode(lockPath, cfg);
    if (stale !== null) {
      await breakLock(lockPath, stale, cfg);
      continue;
    }
    if (cfg.clock.now() > deadline) {
      throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `local store: timed out after ${cfg.timeoutMs} ms waiting for lock ${lockPath}`, { retryAfter: 1 });
    }
    await cfg.sleep(delay);
  }
}

async function tryCreate(lockPath: string, cfg: LockConfig): Promise<Release | null> {
  for (let attempt = 0; ; attempt++) {
    let h: fs.FileHandle;
    try {
      h = await fs.open(lockPath, 'wx');
    } catch (e) {
      if (errno(e) === 'EEXIST') return null;
      // The directory was removed by a concurrent delete of its last key: recreate it and try again.
      if (errno(e) === 'ENOENT' && attempt < 10) {
        await fs.mkdir(path.dirname(lockPath), { recursive: true });
        continue;
      }
      throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `local store: cannot create lock ${lockPath}: ${(e as Error).message}`, { cause: e });
    }
    let ino: bigint;
    try {
      await h.writeFile(`${cfg.pid} ${cfg.hostname}\n`);
      ino = (await h.stat({ bigint: true })).ino;
    } finally {
      await h.close();
    }
    return async () => {
      // Remove only our own lock: if it was (wrongly) broken and re-taken, the file there now is someone else's.
      try {
        const st = await fs.stat(lockPath, { bigint: true });
        if (st.ino === ino) await fs.unlink(lockPath);
      } catch {
        /* already gone */
      }
    };
  }
}

/** The lock file's inode if the lock is stale, else null (also null if it vanished: just retry). */
async function staleInode(lockPath: string, cfg: LockConfig): Promise<bigint | null> {
  let st;
  let text;
  try {
    st = await fs.stat(lockPath, { bigint: true });
    text = await fs.readFile(lockPath, 'utf8');
  } catch {
    return null;
  }
  if (cfg.clock.now() - Number(st.mtimeMs) > cfg.staleMs) return st.ino;
  const m = /^(\d+) (\S+)\n$/.exec(text);
  // Empty or partial: the owner is between create and write. Only age can make it stale.
  if (!m) return null;
  const pid = Number(m[1]);
  if (m[2] !== cfg.hostname || pid === cfg.pid) return null;
  return processExists(pid) ? null : st.ino;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM';
  }
}

async function breakLock(lockPath: string, staleIno: bigint, cfg: LockConfig): Promise<void> {
  const dir = path.dirname(lockPath);
  const grave = path.join(dir, `.elax-stale.${cfg.pid}.${++graveCounter}`);
  try {
    await fs.rename(lockPath, grave);
  } catch {
    return; // someone else broke or released it
  }
  try {
    const st = await fs.stat(grave, { bigint: true });
    if (st.ino !== staleIno) {
      // We moved a fresh lock taken after our staleness check: put it back (fails only if yet another process took
      // the lock in this instant, which needs two breakers and a fresh owner within microseconds).
      await fs.link(grave, lockPath).catch(() => undefined);
    }
  } finally {
    await fs.unlink(grave).catch(() => undefined);
  }
}
