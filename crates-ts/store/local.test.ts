import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { LocalDirStore, Witness } from './index.js';
import { runStoreConformance } from './conformance.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const tempDir = () => mkdtempSync(path.join(tmpdir(), 'elax-local-'));

runStoreConformance('local directory', async () => new LocalDirStore(tempDir()));

describe('local directory store across processes', () => {
  async function race(dir: string, mode: 'absent' | 'match', key: string, n: number, token = ''): Promise<string[]> {
    const startAt = Date.now() + 1500; // all children are up and waiting before this instant
    return Promise.all(
      Array.from({ length: n }, (_, i) =>
        run(process.execPath, [path.join(here, 'local-race-child.mjs'), dir, mode, key, `writer-${i}`, String(startAt), token]).then((r) => r.stdout),
      ),
    );
  }

  it('should let exactly one of 6 processes win putIfAbsent on one key', async () => {
    const dir = tempDir();
    for (let round = 0; round < 2; round++) {
      const key = `k/${round}`;
      const out = await race(dir, 'absent', key, 6);
      expect(out.filter((o) => o === 'won').length).toBe(1);
      const winner = out.indexOf('won');
      const got = await new LocalDirStore(dir).get(key);
      expect(new TextDecoder().decode(got!.bytes)).toBe(`writer-${winner}`);
    }
  });

  it('should let exactly one of 6 processes win putIfMatch with the same witness', async () => {
    const dir = tempDir();
    const store = new LocalDirStore(dir);
    await store.put('m/key', new TextEncoder().encode('base'));
    const w = (await store.get('m/key'))!.witness;
    const out = await race(dir, 'match', 'm/key', 6, Witness.backendToken(w));
    expect(out.filter((o) => o === 'won').length).toBe(1);
    expect(new TextDecoder().decode((await store.get('m/key'))!.bytes)).toBe(`writer-${out.indexOf('won')}`);
  });

  it('should reject keys that escape the root', async () => {
    const store = new LocalDirStore(tempDir());
    await expect(store.get('../etc/passwd')).rejects.toThrow(/invalid object key/);
    await expect(store.put('/abs', new Uint8Array())).rejects.toThrow(/invalid object key/);
  });

  it('should not list temp or lock files', async () => {
    const dir = tempDir();
    const store = new LocalDirStore(dir);
    await store.put('x/a', new Uint8Array([1]));
    const fs = await import('node:fs/promises');
    await fs.writeFile(path.join(dir, 'x', 'a.elax-lock'), '1');
    await fs.writeFile(path.join(dir, 'x', '.elax-tmp-123'), '1');
    expect((await store.list('x/')).objects.map((o) => o.key)).toEqual(['x/a']);
  });
});
