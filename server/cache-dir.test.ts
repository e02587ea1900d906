import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore } from '../crates-ts/store/index.js';
import { defaultCacheRoot, resolveCacheDir, storeCacheDirName, storeIdentity, sweepOrphanCaches, temporaryCachePrefix } from './cache-dir.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'elax-cache-dir-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('cache directory', () => {
  it('should default to $XDG_CACHE_HOME/elax, else ~/.cache/elax (a relative XDG_CACHE_HOME is ignored)', () => {
    expect(defaultCacheRoot({ XDG_CACHE_HOME: '/var/cache/me' }, '/home/u')).toBe('/var/cache/me/elax');
    expect(defaultCacheRoot({ XDG_CACHE_HOME: 'rel/cache' }, '/home/u')).toBe('/home/u/.cache/elax');
    expect(defaultCacheRoot({}, '/home/u')).toBe('/home/u/.cache/elax');
  });

  it('should tell stores apart by description and, for S3, endpoint (without credentials)', async () => {
    const s3 = await openStore('s3://bucket-a/p', { env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } });
    expect(storeIdentity(s3, { ELAX_S3_ENDPOINT: 'http://user:secret@10.0.0.1:7480/' })).toBe('s3://bucket-a/p at http://10.0.0.1:7480');
    expect(storeIdentity(s3, {})).toBe('s3://bucket-a/p');
    const names = new Set(['s3://bucket-a/p', 's3://bucket-a/p at http://10.0.0.1:7480', 's3://bucket-a/q', `file://${root}`].map(storeCacheDirName));
    expect(names.size).toBe(4);
    await s3.close();
  });

  it('should use one persistent subdirectory per store under the root, the same on every start', async () => {
    const env = { XDG_CACHE_HOME: path.join(root, 'xdg') };
    const a = await openStore(path.join(root, 'store-a'));
    const b = await openStore(path.join(root, 'store-b'));
    const first = await resolveCacheDir(undefined, a, { env });
    expect(first).toEqual({ dir: path.join(root, 'xdg', 'elax', storeCacheDirName(a.description)), temporary: false });
    expect(await readFile(path.join(first.dir, 'store.txt'), 'utf8')).toBe(`${a.description}\n`);
    expect(await resolveCacheDir(undefined, a, { env })).toEqual(first);
    expect((await resolveCacheDir(undefined, b, { env })).dir).not.toBe(first.dir);
    expect((await resolveCacheDir(path.join(root, 'explicit'), a, { env })).dir).toBe(path.join(root, 'explicit', storeCacheDirName(a.description)));
  });

  it("should make a fresh temporary directory for 'temp' and for memory:// stores", async () => {
    const file = await openStore(path.join(root, 'store'));
    const t = await resolveCacheDir('temp', file, { tmp: root });
    expect(t.temporary).toBe(true);
    expect(path.basename(t.dir).startsWith(temporaryCachePrefix(process.pid))).toBe(true);
    expect(path.dirname(t.dir)).toBe(root);
    expect((await resolveCacheDir('temp', file, { tmp: root })).dir).not.toBe(t.dir);
    expect((await resolveCacheDir(undefined, await openStore('memory://'), { tmp: root })).temporary).toBe(true);
  });

  it('should refuse an explicit directory it cannot write, and fall back to a temporary one for the default', async () => {
    const store = await openStore(path.join(root, 'store'));
    await writeFile(path.join(root, 'a-file'), '');
    await expect(resolveCacheDir(path.join(root, 'a-file', 'cache'), store)).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringContaining('--cache-dir') });
    await expect(resolveCacheDir('', store)).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST' });
    const fallback = await resolveCacheDir(undefined, store, { env: {}, home: path.join(root, 'a-file'), tmp: root });
    expect(fallback).toMatchObject({ temporary: true, fallback: expect.stringContaining('not writable') });
    expect(path.dirname(fallback.dir)).toBe(root);
  });

  it('should sweep the temporary caches of dead processes and keep those of live ones', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const live = process.ppid;
    const names = [`elax-cache-tmp-${dead}-abc123`, `elax-cache-${dead}`, `elax-cache-tmp-${live}-abc123`, `elax-cache-${live}`, `elax-cache-tmp-${process.pid}-zzzzzz`, 'elax-cache-other', `elax-cache-${dead}-x`];
    for (const n of names) await mkdir(path.join(root, n, 'sub'), { recursive: true });
    expect((await sweepOrphanCaches(root)).sort()).toEqual([`elax-cache-${dead}`, `elax-cache-tmp-${dead}-abc123`]);
    expect((await readdir(root)).sort()).toEqual(names.slice(2).sort());
    await expect(stat(path.join(root, `elax-cache-${dead}`))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
