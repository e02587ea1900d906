import { describe, it, expect } from 'vitest';
import { S3Store, Witness, isLostRace, unquoteEtag, openStore, probeConditionalWrites } from './index.js';
import { runStoreConformance } from './conformance.js';
import { makeTestS3Store, s3TestConfig } from '../../test/helpers/s3-env.js';

// Real S3-compatible server (Ceph radosgw on 127.0.0.1, started by test/global-setup.ts).
runStoreConformance('s3 (radosgw)', async () => makeTestS3Store('conformance'), { paginationKeys: 1100, rounds: 10 });

describe('s3 store against radosgw', () => {
  it('should pass the conditional-write probe', async () => {
    const store = makeTestS3Store('probe');
    await expect(probeConditionalWrites(store, 'p1')).resolves.toBeUndefined();
    await store.close();
  });

  it('should open s3:// URIs from the environment', async () => {
    const c = s3TestConfig();
    process.env.ELAX_S3_ENDPOINT = c.endpoint;
    const store = await openStore(`s3://${c.bucket}/open-test`);
    expect(store.description).toBe(`s3://${c.bucket}/open-test`);
    await store.put('x', new Uint8Array([1]));
    expect((await store.get('x'))!.bytes).toEqual(new Uint8Array([1]));
    await store.close();
  });
});

/** A fake S3 client answering like a given implementation, to cover AWS semantics without AWS. */
function fakeClient(answer: (input: Record<string, unknown>, name: string) => unknown) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  return {
    calls,
    client: {
      send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
        calls.push({ name: cmd.constructor.name, input: cmd.input });
        const out = answer(cmd.input, cmd.constructor.name);
        if (out instanceof Error) throw out;
        return out;
      },
      destroy: () => undefined,
    },
  };
}

function s3Error(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

describe('s3 store semantics (AWS and radosgw answers)', () => {
  it('should strip quotes from ETags when sending If-Match (radosgw needs unquoted)', async () => {
    const fake = fakeClient((_i, name) => (name === 'GetObjectCommand' ? { ETag: '"abc123"', Body: { transformToByteArray: async () => new Uint8Array([1]) } } : { ETag: '"def"' }));
    const store = new S3Store({ bucket: 'b', client: fake.client as never });
    const got = await store.get('k');
    await store.putIfMatch('k', new Uint8Array([2]), got!.witness);
    expect(fake.calls[1]!.input.IfMatch).toBe('abc123');
    expect(unquoteEtag('W/"x"')).toBe('x');
  });

  it('should send If-None-Match: * for putIfAbsent', async () => {
    const fake = fakeClient(() => ({ ETag: '"e"' }));
    const store = new S3Store({ bucket: 'b', prefix: 'p', client: fake.client as never });
    expect((await store.putIfAbsent('k', new Uint8Array())).ok).toBe(true);
    expect(fake.calls[0]!.input).toMatchObject({ IfNoneMatch: '*', Key: 'p/k', Bucket: 'b' });
  });

  it.each([
    ['412 PreconditionFailed (AWS and radosgw)', s3Error('PreconditionFailed', 412)],
    ['409 ConditionalRequestConflict (AWS under concurrency)', s3Error('ConditionalRequestConflict', 409)],
  ])('should map %s to a lost race on both conditional writes', async (_label, err) => {
    const store = new S3Store({ bucket: 'b', client: fakeClient(() => err).client as never });
    expect((await store.putIfAbsent('k', new Uint8Array())).ok).toBe(false);
    expect((await store.putIfMatch('k', new Uint8Array(), Witness.neverMatches())).ok).toBe(false);
  });

  it('should map 404 on If-Match (AWS, missing key) to a lost race', async () => {
    const store = new S3Store({ bucket: 'b', client: fakeClient(() => s3Error('NoSuchKey', 404)).client as never });
    expect((await store.putIfMatch('k', new Uint8Array(), Witness.neverMatches())).ok).toBe(false);
    expect(await store.get('k')).toBeNull();
    expect(isLostRace(s3Error('NoSuchKey', 404), false)).toBe(false);
  });

  it('should turn 5xx and network errors into ELAX_ERR_STORE_UNAVAILABLE', async () => {
    const store = new S3Store({ bucket: 'b', client: fakeClient(() => s3Error('InternalError', 500)).client as never });
    await expect(store.put('k', new Uint8Array())).rejects.toMatchObject({ code: 'ELAX_ERR_STORE_UNAVAILABLE' });
    await expect(store.putIfAbsent('k', new Uint8Array())).rejects.toMatchObject({ code: 'ELAX_ERR_STORE_UNAVAILABLE' });
  });

  it('should follow ListObjectsV2 continuation tokens and strip the key prefix', async () => {
    const fake = fakeClient((input) =>
      input.ContinuationToken
        ? { Contents: [{ Key: 'p/a/3', Size: 1 }], IsTruncated: false }
        : { Contents: [{ Key: 'p/a/1', Size: 1 }, { Key: 'p/a/2', Size: 1 }], IsTruncated: true, NextContinuationToken: 't' },
    );
    const store = new S3Store({ bucket: 'b', prefix: 'p', client: fake.client as never });
    expect((await store.list('a/')).objects.map((o) => o.key)).toEqual(['a/1', 'a/2', 'a/3']);
  });
});
