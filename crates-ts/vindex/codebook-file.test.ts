import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isElaxError } from '../core/index.js';
import { fhtRotation, seededRandom, type Codebook } from '../ivf/index.js';
import { BlockFileWriter } from '../part/index.js';
import { MemoryStore, codebookKey } from '../store/index.js';
import { decodeCodebook, encodeCodebook, readCodebook, writeCodebook } from './index.js';

function codebook(seed: number, dims: number, k: number, version = 1): Codebook {
  const rnd = seededRandom(seed);
  return {
    version,
    metric: seed % 2 === 0 ? 'cosine_distance' : 'euclidean_squared',
    dims,
    k,
    centroids: Float32Array.from({ length: k * dims }, () => rnd() * 4 - 2),
    radii: Float32Array.from({ length: k }, () => rnd() * 3),
    retired: Uint8Array.from({ length: k }, () => (rnd() < 0.2 ? 1 : 0)),
    rotationSigns: fhtRotation(dims, rnd, 1 + (seed % 4)).signs,
  };
}

function expectCorrupt(f: () => unknown, ...parts: (string | RegExp)[]): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isElaxError(err, 'ELAX_ERR_CORRUPT'), String(err)).toBe(true);
  for (const p of parts) expect((err as Error).message).toMatch(p);
}

describe('codebook object', () => {
  it('should round-trip any codebook (dims not multiples of 64 included)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1e9 }), (seed, dims, k, version) => {
        const cb = codebook(seed, dims, k, version);
        expect(decodeCodebook(encodeCodebook(cb), 'x')).toEqual(cb);
      }),
      { numRuns: 60 },
    );
  });

  it('should be byte-identical for the same codebook', () => {
    expect(Buffer.from(encodeCodebook(codebook(1, 130, 7)))).toEqual(Buffer.from(encodeCodebook(codebook(1, 130, 7))));
  });

  it('should refuse to encode a malformed codebook', () => {
    const cb = codebook(2, 10, 3);
    expect(() => encodeCodebook({ ...cb, radii: new Float32Array(2) })).toThrow(/radii/);
    expect(() => encodeCodebook({ ...cb, version: 0 })).toThrow(/version/);
  });

  it('should fail with ELAX_ERR_CORRUPT naming the object on any flipped byte, truncation or bad footer', () => {
    const bytes = encodeCodebook(codebook(3, 70, 5));
    // One flipped byte anywhere: in a block (CRC), the footer (CRC), or the trailer (magic, lengths).
    for (let at = 0; at < bytes.length; at += 7) {
      const bad = new Uint8Array(bytes); // a copy (Buffer#slice is a view)
      bad[at] ^= 0x10;
      let err: unknown = null;
      try {
        decodeCodebook(bad, 'ns/vindex/codebook-0000000001-x.cb');
      } catch (e) {
        err = e;
      }
      // A flipped bit in the trailer's version field reads as a newer block-file version.
      expect(isElaxError(err, 'ELAX_ERR_CORRUPT') || isElaxError(err, 'ELAX_ERR_INCOMPATIBLE_FORMAT'), `byte ${at}: ${String(err)}`).toBe(true);
      expect((err as Error).message, `byte ${at}`).toContain('ns/vindex/codebook-0000000001-x.cb');
    }
    expectCorrupt(() => decodeCodebook(bytes.subarray(0, bytes.length - 3), 'cb1'), 'cb1');
    expectCorrupt(() => decodeCodebook(bytes.subarray(0, 40), 'cb1'), 'cb1');
  });

  it('should check the footer against the blocks', () => {
    const cb = codebook(4, 16, 3);
    const file = (extra: Record<string, unknown>, kind = 'codebook', blocks = [cb.centroids, cb.radii, cb.retired, cb.rotationSigns]) => {
      const w = new BlockFileWriter();
      for (const b of blocks) w.add(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
      return w.finish(kind, { codebook_version: 1, metric: cb.metric, dims: 16, k: 3, rotation: { kind: 'fht', rounds: cb.rotationSigns.length / 64, padded: 64 }, ...extra });
    };
    expect(decodeCodebook(file({}), 'ok')).toEqual(cb);
    expectCorrupt(() => decodeCodebook(file({}, 'column'), 'cb'), /kind/);
    expectCorrupt(() => decodeCodebook(file({ k: 4 }), 'cb'), /centroids block/);
    expectCorrupt(() => decodeCodebook(file({ dims: 8, k: 6 }), 'cb'), /radii block/);
    expectCorrupt(() => decodeCodebook(file({ codebook_version: 0 }), 'cb'), /positive integer/);
    expectCorrupt(() => decodeCodebook(file({ metric: 'dot' }), 'cb'), /metric/);
    expectCorrupt(() => decodeCodebook(file({ rotation: { kind: 'dense', rounds: 1, padded: 64 } }), 'cb'), /rotation/);
    expectCorrupt(() => decodeCodebook(file({}, 'codebook', [cb.centroids, cb.radii, cb.retired]), 'cb'), /3 blocks/);
    expectCorrupt(() => decodeCodebook(file({}, 'codebook', [cb.centroids, cb.radii, Uint8Array.of(0, 2, 0), cb.rotationSigns]), 'cb'), /retired flag/);
    const zeros = new Int8Array(cb.rotationSigns.length);
    expectCorrupt(() => decodeCodebook(file({}, 'codebook', [cb.centroids, cb.radii, cb.retired, zeros]), 'cb'), /rotation sign/);
  });
});

describe('codebook objects in the store', () => {
  it('should write once under a fresh name and read back the version the router names', async () => {
    const store = new MemoryStore();
    const cb = codebook(5, 33, 4, 3);
    const ref = await writeCodebook(store, 'ns1', cb, 'n1');
    expect(ref).toEqual({ codebook: 'codebook-0000000003-n1.cb', version: 3 });
    expect((await store.list('ns1/vindex/')).objects.map((o) => o.key)).toEqual(['ns1/vindex/codebook-0000000003-n1.cb']);
    expect(await readCodebook(store, 'ns1', ref)).toEqual(cb);
    await expect(writeCodebook(store, 'ns1', cb, 'n1')).rejects.toMatchObject({ code: 'ELAX_ERR_INTERNAL' });
  });

  it('should refuse a missing object or one holding another version than named', async () => {
    const store = new MemoryStore();
    await expect(readCodebook(store, 'ns1', { codebook: 'codebook-0000000001-x.cb', version: 1 })).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT', message: expect.stringMatching(/ns1\/vindex\/codebook-0000000001-x.cb is missing/) });
    await store.put(codebookKey('ns1', 'codebook-0000000002-x.cb'), encodeCodebook(codebook(6, 8, 2, 1)));
    await expect(readCodebook(store, 'ns1', { codebook: 'codebook-0000000002-x.cb', version: 2 })).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT', message: expect.stringMatching(/holds version 1/) });
  });
});
