import { afterAll, describe, expect, it } from 'vitest';
import { ElaxError, Wasm } from '../core/index.js';
import { encodeWalColumns, encodeWalEntry, decodeWalEntry, walColumns, WAL_FORMAT_VERSION, type WalMeta, type WalOp } from '../wal/index.js';
import { createPool, type TaskPool } from './index.js';
import { parseJsonBytesPacked } from '../schema/json-body.js';

const now = () => performance.now();
const meta: WalMeta = { format_version: WAL_FORMAT_VERSION, namespace: 'ns', committed_at: 1_700_000_000_000, requests: 1, idempotency_keys: ['k'] };
const ops: WalOp[] = [
  { kind: 'upsert', doc: { id: 1, vector: Float32Array.from([0.5, -1, 2]), attrs: { t: 'a' } } },
  { kind: 'delete', id: 'x' },
  { kind: 'upsert', doc: { id: 'two', vector: null, attrs: {} } },
];

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('worker pool', () => {
  const pools: TaskPool[] = [];
  const pool = async (threads: number, entry?: URL) => {
    const p = createPool({ threads, now, entry });
    pools.push(p);
    await p.ready();
    return p;
  };
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it('encodes and decodes a WAL entry byte for byte as inline', async () => {
    const inline = encodeWalEntry(meta, ops);
    for (const p of [await pool(0), await pool(2)]) {
      const bytes = await p.run('wal-encode', walColumns(meta, ops));
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(bytes).equals(Buffer.from(inline))).toBe(true);
      expect(await p.run('wal-decode', { seq: 7, bytes })).toEqual(decodeWalEntry(7, inline));
      expect(p.stats().byKind['wal-encode'].tasks).toBe(1);
      expect(p.stats().coldInline).toBe(0);
    }
  });

  it('rethrows a task error as the ElaxError inline code throws', async () => {
    const p = await pool(1);
    // Columns that disagree (rows without their vectors): the worker's encoder refuses them.
    const badColumns = { ...walColumns(meta, ops), vectors: new Float32Array(1) };
    const inlineEncode = errorOf(() => encodeWalColumns(badColumns)) as ElaxError;
    const inlineDecode = errorOf(() => decodeWalEntry(9, new Uint8Array([1, 2, 3]))) as ElaxError;
    for (const [kind, input, expected] of [
      ['wal-encode', badColumns, inlineEncode],
      ['wal-decode', { seq: 9, bytes: new Uint8Array([1, 2, 3]) }, inlineDecode],
    ] as const) {
      const err = await p.run(kind, input as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ElaxError);
      expect({ code: (err as ElaxError).code, message: (err as ElaxError).message }).toEqual({ code: expected.code, message: expected.message });
    }
    expect(p.stats().byKind['wal-decode'].errors).toBe(1);
    expect(p.stats().fallbacks).toBe(0);
  });

  it('runs the task inline when its worker dies, instead of hanging or failing', async () => {
    const p = await pool(1, new URL('./dying-worker-entry.mjs', import.meta.url));
    const bytes = await p.run('wal-encode', walColumns(meta, ops));
    expect(Buffer.from(bytes).equals(Buffer.from(encodeWalEntry(meta, ops)))).toBe(true);
    expect(p.stats().fallbacks).toBe(1);
  });

  it('rejects with the abort reason and never runs an aborted task', async () => {
    const p = await pool(1);
    const ac = new AbortController();
    ac.abort(new Error('client went away'));
    await expect(p.run('wal-encode', walColumns(meta, ops), { signal: ac.signal })).rejects.toThrow('client went away');
    expect(p.stats().byKind['wal-encode'].tasks).toBe(0);
    const late = new AbortController();
    const running = p.run('wal-encode', walColumns(meta, ops), { signal: late.signal });
    late.abort(new Error('deadline'));
    await expect(running).rejects.toThrow('deadline');
  });

  it('runs tasks inline until a thread has loaded, instead of making the first writes wait for it', async () => {
    const p = createPool({ threads: 1, now });
    pools.push(p);
    const bytes = await p.run('wal-encode', walColumns(meta, ops)); // right after start: the thread is still loading
    expect(Buffer.from(bytes).equals(Buffer.from(encodeWalEntry(meta, ops)))).toBe(true);
    expect(p.stats().coldInline).toBe(1);
    await p.ready();
    await p.run('wal-encode', walColumns(meta, ops));
    expect(p.stats().coldInline).toBe(1);
    expect(p.stats().byKind['wal-encode'].tasks).toBe(2);
  });

  it('gives a body parsed on a thread (its packed vectors moved back) as inline parsing gives it', async () => {
    const body = { upsert_rows: [{ id: 1, vector: [0.1, 2, -3] }, { id: 2, vector: 'AAAA', n: [1, 2] }, { id: 3, vector: [4, 5.5, 6] }], distance_metric: 'cosine_distance' };
    const text = Buffer.from(JSON.stringify(body));
    const inline = parseJsonBytesPacked(text, text.length) as typeof body;
    const p = await pool(1);
    const out = (await p.run('json-parse', { bytes: text, length: text.length })) as { upsert_rows: { id: number; vector: unknown; n?: number[] }[] };
    expect(out).toEqual(inline);
    const v0 = out.upsert_rows[0]!.vector as Float32Array;
    expect(v0).toBeInstanceOf(Float32Array);
    // All three packed vectors are views of the one buffer that came back, as packVectors made them: the two arrays
    // as floats, the base64 string as its 3 bytes (padded to 4 for the next view's alignment).
    expect((out.upsert_rows[2]!.vector as Float32Array).buffer).toBe(v0.buffer);
    const b64 = out.upsert_rows[1]!.vector as Uint8Array;
    expect(b64).toBeInstanceOf(Uint8Array);
    expect(b64.buffer).toBe(v0.buffer);
    expect(Array.from(b64)).toEqual([0, 0, 0]);
    expect(v0.buffer.byteLength).toBe(6 * 4 + 4);
  });

  it('refuses a negative size', () => {
    expect(() => createPool({ threads: -1, now })).toThrow(/integer ≥ 0/);
  });
});
