import { describe, it, expect } from 'vitest';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { isElaxError } from '../core/index.js';
import { Witness, openStore, probeConditionalWrites } from './index.js';
import { S3Store, isLostRace, unquoteEtag } from './s3.js';
import { runStoreConformance } from './conformance.js';
import { makeTestS3Store, s3TestConfig, uniquePrefix } from '../../test/helpers/s3-env.js';

// Real S3-compatible server (Ceph radosgw on 127.0.0.1, started by test/global-setup.ts).
runStoreConformance('s3 (radosgw)', () => makeTestS3Store('conformance'), { paginationKeys: 1100, listQueries: 120 });

describe('s3 store against radosgw', () => {
  it('should pass the conditional-write probe', async () => {
    const store = makeTestS3Store('probe');
    await expect(probeConditionalWrites(store, 'p1')).resolves.toBeUndefined();
    expect((await store.list('_elax/')).objects).toEqual([]);
    await store.close();
  });

  it('should open s3:// URIs with endpoint and credentials from the given environment', async () => {
    const c = s3TestConfig();
    const prefix = uniquePrefix('open');
    const env = { ELAX_S3_ENDPOINT: c.endpoint, AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_REGION: c.region };
    const store = await openStore(`s3://${c.bucket}/${prefix}/`, { env });
    expect(store.description).toBe(`s3://${c.bucket}/${prefix}`);
    await store.put('x', new Uint8Array([1]));
    expect((await store.get('x'))!.bytes).toEqual(new Uint8Array([1]));
    await store.close();
  });

  it('should follow continuation tokens with small pages, honouring limit and startAfter', async () => {
    const c = s3TestConfig();
    const prefix = uniquePrefix('pages');
    const mk = () =>
      new S3Store({ bucket: c.bucket, prefix, endpoint: c.endpoint, region: c.region, credentials: c, pageSize: 7 });
    const store = mk();
    const keys = Array.from({ length: 40 }, (_, i) => `p/${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((k) => store.put(k, new Uint8Array([1]))));
    await Promise.all(['q/a/1', 'q/b/1', 'q/c', 'q/d/1'].map((k) => store.put(k, new Uint8Array([1]))));
    expect((await store.list('p/')).objects.map((o) => o.key)).toEqual(keys);
    expect((await store.list('p/', { startAfter: keys[5], limit: 20 })).objects.map((o) => o.key)).toEqual(keys.slice(6, 26));
    const d = await mk().list('q/', { delimiter: '/' });
    expect(d.prefixes).toEqual(['q/a/', 'q/b/', 'q/d/']);
    expect(d.objects.map((o) => o.key)).toEqual(['q/c']);
    await store.close();
  });

  it('should report ELAX_ERR_STORE_UNAVAILABLE for a missing bucket and an unreachable endpoint', async () => {
    const c = s3TestConfig();
    const noBucket = new S3Store({ bucket: 'elax-no-such-bucket', endpoint: c.endpoint, region: c.region, credentials: c });
    await expect(noBucket.get('k')).rejects.toSatisfy((e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_UNAVAILABLE') && /NoSuchBucket/.test(e.message));
    const down = new S3Store({ bucket: c.bucket, endpoint: 'http://127.0.0.1:1', region: c.region, credentials: c, maxAttempts: 1 });
    await expect(down.put('k', new Uint8Array())).rejects.toSatisfy((e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_UNAVAILABLE') && /s3:\/\//.test(e.message));
    await expect(down.putIfAbsent('k', new Uint8Array())).rejects.toSatisfy((e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_UNAVAILABLE'));
  });
});

/** A fake `send` answering like a given implementation: covers mapping logic without a server. */
function fakeClient(answer: (input: Record<string, unknown>, name: string, call: number) => unknown) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  return {
    calls,
    client: {
      send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
        calls.push({ name: cmd.constructor.name, input: cmd.input });
        const out = answer(cmd.input, cmd.constructor.name, calls.length - 1);
        if (out instanceof Error) throw out;
        return out;
      },
      destroy: () => undefined,
    },
  };
}

function s3Error(name: string, status: number | undefined, attempts = 1): Error {
  return Object.assign(new Error(name), { name, $metadata: status === undefined ? { attempts } : { httpStatusCode: status, attempts } });
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

describe('s3 store mapping (fake client)', () => {
  it('should strip quotes from ETags in witnesses and in If-Match (radosgw compares unquoted)', async () => {
    const fake = fakeClient((_i, name) =>
      name === 'GetObjectCommand' ? { ETag: '"abc123"', Body: { transformToByteArray: async () => new Uint8Array([1]) } } : { ETag: '"def"' },
    );
    const store = new S3Store({ bucket: 'b', client: fake.client as never });
    const got = (await store.get('k'))!;
    expect(Witness.backendToken(got.witness)).toBe('abc123');
    const put = await store.putIfMatch('k', new Uint8Array([2]), got.witness);
    expect(fake.calls[1]!.input.IfMatch).toBe('abc123');
    expect(put.ok && Witness.backendToken(put.witness)).toBe('def');
    expect(unquoteEtag('W/"x"')).toBe('x');
    expect(unquoteEtag('plain')).toBe('plain');
  });

  it('should send If-None-Match: * for putIfAbsent under the key prefix', async () => {
    const fake = fakeClient(() => ({ ETag: '"e"' }));
    const store = new S3Store({ bucket: 'b', prefix: '/p/', client: fake.client as never });
    expect(store.description).toBe('s3://b/p');
    expect((await store.putIfAbsent('k', new Uint8Array())).ok).toBe(true);
    expect(fake.calls[0]!.input).toMatchObject({ IfNoneMatch: '*', Key: 'p/k', Bucket: 'b' });
    expect(fake.calls[0]!.input.IfMatch).toBeUndefined();
  });

  it.each([
    ['412 PreconditionFailed (AWS and radosgw)', s3Error('PreconditionFailed', 412)],
    ['409 ConditionalRequestConflict (AWS under concurrency)', s3Error('ConditionalRequestConflict', 409)],
  ])('should map %s to a lost race on both conditional writes', async (_label, err) => {
    const fake = fakeClient(() => err);
    const store = new S3Store({ bucket: 'b', client: fake.client as never });
    expect((await store.putIfAbsent('k', new Uint8Array())).ok).toBe(false);
    expect((await store.putIfMatch('k', new Uint8Array(), Witness.neverMatches())).ok).toBe(false);
    expect(fake.calls.length).toBe(2); // first-attempt lost races are final: no read-back
  });

  it('should map 404 on If-Match (AWS, missing key) to a lost race, but not 404 on If-None-Match', async () => {
    const store = new S3Store({ bucket: 'b', client: fakeClient(() => s3Error('NoSuchKey', 404)).client as never });
    expect((await store.putIfMatch('k', new Uint8Array(), Witness.neverMatches())).ok).toBe(false);
    expect(await store.get('k')).toBeNull();
    expect(await store.head('k')).toBeNull();
    await expect(store.delete('k')).resolves.toBeUndefined();
    expect(isLostRace(s3Error('NoSuchKey', 404), true)).toBe(true);
    expect(isLostRace(s3Error('NoSuchKey', 404), false)).toBe(false);
  });

  it('should settle a 412 after an SDK retry by reading back: our MD5 there means our first attempt won', async () => {
    const body = new TextEncoder().encode('mine');
    const ours = fakeClient((_i, name) => (name === 'HeadObjectCommand' ? { ETag: `"${md5(body)}"`, ContentLength: 4 } : s3Error('PreconditionFailed', 412, 2)));
    const won = await new S3Store({ bucket: 'b', client: ours.client as never }).putIfAbsent('k', body);
    expect(won.ok && Witness.backendToken(won.witness)).toBe(md5(body));
    const theirs = fakeClient((_i, name) => (name === 'HeadObjectCommand' ? { ETag: '"other"', ContentLength: 4 } : s3Error('PreconditionFailed', 412, 3)));
    expect((await new S3Store({ bucket: 'b', client: theirs.client as never }).putIfMatch('k', body, Witness.neverMatches())).ok).toBe(false);
  });

  it('should report a 412 after an SDK retry as unknown (not a lost race) when the read-back fails too', async () => {
    // The first PUT landed and its response was lost; the SDK's retry got 412; every HEAD then fails. Calling it a
    // lost race made the WAL append write the same batch again at the next seq (a keyless write applied twice).
    const body = new TextEncoder().encode('mine');
    const fake = fakeClient((_i, name) => (name === 'HeadObjectCommand' ? s3Error('SlowDown', 503, 3) : s3Error('PreconditionFailed', 412, 2)));
    const store = new S3Store({ bucket: 'b', client: fake.client as never });
    await expect(store.putIfAbsent('k', body)).rejects.toSatisfy((e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_UNAVAILABLE'));
    await expect(store.putIfMatch('k', body, Witness.neverMatches())).rejects.toSatisfy((e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_UNAVAILABLE'));
  });

  it('should settle 5xx and network errors on conditional writes from the stored ETag', async () => {
    const body = new TextEncoder().encode('mine');
    for (const err of [s3Error('InternalError', 500, 3), s3Error('ECONNRESET', undefined, 3)]) {
      const applied = fakeClient((_i, name) => (name === 'HeadObjectCommand' ? { ETag: `"${md5(body)}"` } : err));
      expect((await new S3Store({ bucket: 'b', client: applied.client as never }).putIfMatch('k', body, Witness.neverMatches())).ok).toBe(true);
      const notApplied = fakeClient((_i, name) => (name === 'HeadObjectCommand' ? s3Error('NotFound', 404) : err));
      expect((await new S3Store({ bucket: 'b', client: notApplied.client as never }).putIfAbsent('k', body)).ok).toBe(false);
      const unreadable = fakeClient(() => err);
      await expect(new S3Store({ bucket: 'b', client: unreadable.client as never }).putIfAbsent('k', body)).rejects.toSatisfy(
        (e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_UNAVAILABLE') && /If-None-Match/.test(e.message),
      );
    }
  });

  it('should turn 5xx, 403 and network errors on plain requests into ELAX_ERR_STORE_UNAVAILABLE', async () => {
    for (const err of [s3Error('InternalError', 500), s3Error('AccessDenied', 403), s3Error('TimeoutError', undefined)]) {
      const store = new S3Store({ bucket: 'b', client: fakeClient(() => err).client as never });
      await expect(store.put('k', new Uint8Array())).rejects.toMatchObject({ code: 'ELAX_ERR_STORE_UNAVAILABLE' });
      await expect(store.get('k')).rejects.toMatchObject({ code: 'ELAX_ERR_STORE_UNAVAILABLE' });
      await expect(store.list('')).rejects.toMatchObject({ code: 'ELAX_ERR_STORE_UNAVAILABLE' });
    }
  });

  it('should follow ListObjectsV2 continuation tokens, cap MaxKeys by limit and page size, and strip the prefix', async () => {
    const fake = fakeClient((input) =>
      input.ContinuationToken
        ? { Contents: [{ Key: 'p/a/3', Size: 1 }], CommonPrefixes: [{ Prefix: 'p/a/4/' }], IsTruncated: false }
        : { Contents: [{ Key: 'p/a/1', Size: 1 }, { Key: 'p/a/2', Size: 1 }], IsTruncated: true, NextContinuationToken: 't' },
    );
    const store = new S3Store({ bucket: 'b', prefix: 'p', pageSize: 2, client: fake.client as never });
    const r = await store.list('a/', { startAfter: 'a/0', delimiter: '/', limit: 5 });
    expect(r.objects.map((o) => o.key)).toEqual(['a/1', 'a/2', 'a/3']);
    expect(r.prefixes).toEqual(['a/4/']);
    expect(fake.calls[0]!.input).toMatchObject({ Prefix: 'p/a/', StartAfter: 'p/a/0', Delimiter: '/', MaxKeys: 2 });
    expect(fake.calls[1]!.input).toMatchObject({ ContinuationToken: 't', MaxKeys: 2 });
    expect(fake.calls[1]!.input.StartAfter).toBeUndefined();
  });

  it('should answer empty and out-of-range byte ranges without sending an invalid Range', async () => {
    const fake = fakeClient((_i, name) => (name === 'HeadObjectCommand' ? { ETag: '"e"', ContentLength: 10 } : s3Error('InvalidRange', 416)));
    const store = new S3Store({ bucket: 'b', client: fake.client as never });
    expect((await store.get('k', { start: 3, end: 3 }))!.bytes.length).toBe(0);
    expect(fake.calls.map((c) => c.name)).toEqual(['HeadObjectCommand']);
    const past = (await store.get('k', { start: 20, end: 30 }))!;
    expect(past.bytes.length).toBe(0);
    expect(past.info.size).toBe(10);
    expect(fake.calls[1]!.input.Range).toBe('bytes=20-29');
  });
});

type Canned = { statusCode: number; headers?: Record<string, string>; body?: string };

/**
 * The real SDK over canned HTTP answers, so the error shapes the mapping relies on (name, $metadata, attempts)
 * are the SDK's own, for AWS's and radosgw's actual response bodies.
 */
describe('s3 store mapping (real SDK, canned HTTP answers)', () => {
  function sdkStore(answers: (req: { method: string; headers: Record<string, string> }) => Canned) {
    const seen: { method: string; headers: Record<string, string> }[] = [];
    const requestHandler = {
      handle: async (req: { method: string; headers: Record<string, string> }) => {
        seen.push(req);
        const a = answers(req);
        return { response: { statusCode: a.statusCode, headers: a.headers ?? {}, body: Readable.from([Buffer.from(a.body ?? '')]) } };
      },
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
    };
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: 'http://fake-s3.invalid',
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    return { store: new S3Store({ bucket: 'b', client }), seen };
  }
  const xmlError = (code: string, msg: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${msg}</Message><RequestId>r</RequestId></Error>`;

  it('should read AWS quoted ETags and send them unquoted in If-Match', async () => {
    const { store, seen } = sdkStore((req): Canned =>
      req.method === 'HEAD' ? { statusCode: 200, headers: { etag: '"0123abcd"', 'content-length': '3' } } : { statusCode: 200, headers: { etag: '"feed"' } },
    );
    const h = (await store.head('k'))!;
    const res = await store.putIfMatch('k', new Uint8Array([1]), h.witness);
    expect(res.ok).toBe(true);
    expect(seen[1]!.headers['if-match']).toBe('0123abcd');
  });

  it.each([
    ['AWS 412 PreconditionFailed', 412, xmlError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')],
    ['radosgw 412 PreconditionFailed', 412, '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><BucketName>b</BucketName><RequestId>tx0</RequestId><HostId>h</HostId></Error>'],
    ['AWS 409 ConditionalRequestConflict', 409, xmlError('ConditionalRequestConflict', 'A conflicting operation occurred')],
  ])('should map %s to a lost race', async (_label, statusCode, body) => {
    const { store, seen } = sdkStore(() => ({ statusCode, body, headers: { 'content-type': 'application/xml' } }));
    expect((await store.putIfAbsent('k', new Uint8Array([1]))).ok).toBe(false);
    expect(seen[0]!.headers['if-none-match']).toBe('*');
    expect((await store.putIfMatch('k', new Uint8Array([1]), Witness.neverMatches())).ok).toBe(false);
  });

  it('should map AWS 404 NoSuchKey on If-Match to a lost race and 404 on GET/HEAD to null', async () => {
    const { store } = sdkStore((req) => (req.method === 'HEAD' ? { statusCode: 404 } : { statusCode: 404, body: xmlError('NoSuchKey', 'The specified key does not exist.') }));
    expect((await store.putIfMatch('k', new Uint8Array([1]), Witness.neverMatches())).ok).toBe(false);
    expect(await store.get('k')).toBeNull();
    expect(await store.head('k')).toBeNull();
  });

  it('should map 503 SlowDown to ELAX_ERR_STORE_UNAVAILABLE naming the operation and key', async () => {
    const { store } = sdkStore(() => ({ statusCode: 503, body: xmlError('SlowDown', 'Please reduce your request rate.') }));
    await expect(store.put('some/key', new Uint8Array([1]))).rejects.toSatisfy(
      (e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_UNAVAILABLE') && /PUT some\/key/.test(e.message) && /SlowDown/.test(e.message),
    );
  });
});

describe('s3 store timeouts (a store that never answers)', () => {
  it('should give up on a request whose connection stays silent, as ELAX_ERR_STORE_UNAVAILABLE, within its attempts × the idle timeout', async () => {
    // Accepts connections and reads them, never answers: a request the network or the store swallowed.
    const sockets: Socket[] = [];
    const silent = createServer((s) => {
      sockets.push(s);
      s.on('data', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const store = new S3Store({ bucket: 'b', endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 2, idleTimeoutMs: 150 });
    try {
      const t = performance.now();
      await expect(store.get('k')).rejects.toSatisfy((e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_UNAVAILABLE') && /GET k/.test((e as Error).message));
      const took = performance.now() - t;
      expect(took).toBeGreaterThanOrEqual(2 * 150 - 10); // two attempts, each abandoned after 150 ms of silence
      expect(took).toBeLessThan(5_000);
      expect(sockets.length).toBe(2);
    } finally {
      await store.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
