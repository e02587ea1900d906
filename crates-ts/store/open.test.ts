import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isElaxError } from '../core/index.js';
import { LocalDirStore, MemoryStore, openStore } from './index.js';
import { S3Store } from './s3.js';

describe('openStore', () => {
  it('should open local directories from a plain path or a file:// URI', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'elax-open-'));
    const a = await openStore(dir);
    expect(a).toBeInstanceOf(LocalDirStore);
    expect(a.description).toBe(`file://${dir}`);
    expect((await openStore(`file://${dir}`)).description).toBe(`file://${dir}`);
    expect((await openStore('relative/dir')).description).toBe(`file://${path.resolve('relative/dir')}`);
  });

  it('should open memory://', async () => {
    expect(await openStore('memory://')).toBeInstanceOf(MemoryStore);
  });

  it('should open s3:// with bucket and prefix, taking settings from the environment', async () => {
    const s = await openStore('s3://my-bucket/some/prefix/', { env: { ELAX_S3_ENDPOINT: 'http://127.0.0.1:9', AWS_REGION: 'eu-west-1' } });
    expect(s).toBeInstanceOf(S3Store);
    expect(s.description).toBe('s3://my-bucket/some/prefix');
    expect((await openStore('s3://my-bucket', { env: {} })).description).toBe('s3://my-bucket');
    await s.close();
  });

  it('should reject bad URIs with a message naming the problem and the accepted forms', async () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['gs://bucket/x', /scheme 'gs:' is not supported/],
      ['memory://named', /scheme 'memory:' is not supported/],
      ['s3://', /not a valid S3 bucket name/],
      ['s3://Bad_Bucket/x', /not a valid S3 bucket name/],
      ['s3://bucket/a//b', /empty, '.' or '..' segment/],
      ['file://host/x', /file:/],
    ];
    for (const [uri, why] of cases) {
      await expect(openStore(uri), uri).rejects.toSatisfy((e: unknown) => isElaxError(e, 'ELAX_ERR_INVALID_REQUEST') && why.test(e.message) && /s3:\/\/bucket/.test(e.message));
    }
    await expect(openStore('s3://b-1/x', { env: { ELAX_S3_FORCE_PATH_STYLE: 'maybe' } })).rejects.toThrow(/ELAX_S3_FORCE_PATH_STYLE must be/);
  });
});
