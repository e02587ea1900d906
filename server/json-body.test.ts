import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readJsonBody, DEFAULT_BODY_LIMIT, MAX_JSON_TEXT_LENGTH, OFFLOAD_MIN_BYTES } from './json-body.js';

function read(chunks: (string | Buffer)[], headers: Record<string, string>, limit = 1024, encodedLength?: number): Promise<unknown> {
  const payload = Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)), { objectMode: false }) as Readable & { receivedEncodedLength?: number };
  if (encodedLength !== undefined) payload.receivedEncodedLength = encodedLength;
  return new Promise((resolve, reject) => readJsonBody(payload, headers, limit, (err, body) => (err ? reject(err) : resolve(body))));
}

describe('readJsonBody', () => {
  it("should default to turbopuffer's 512 MB write payload (binary) and know V8's longest string", () => {
    expect(DEFAULT_BODY_LIMIT).toBe(536_870_912);
    expect(MAX_JSON_TEXT_LENGTH).toBe(2 ** 29 - 24);
  });

  it('should parse a body with Content-Length in one buffer, chunked ones and multi-byte characters split across chunks', async () => {
    const text = JSON.stringify({ upsert_rows: [{ id: 1, s: 'héllo wörld ✓' }] });
    const bytes = Buffer.from(text);
    const parts = [bytes.subarray(0, 20), bytes.subarray(20, 21), bytes.subarray(21)];
    expect(await read(parts, { 'content-length': String(bytes.length) })).toEqual(JSON.parse(text));
    expect(await read(parts, {})).toEqual(JSON.parse(text));
    expect(await read([], { 'content-length': '0' })).toEqual({});
    expect(await read([], {})).toEqual({});
  });

  it('should refuse a declared or streamed body over the limit with 413, and a length mismatch or bad JSON with 400', async () => {
    await expect(read(['{}'], { 'content-length': '1025' })).rejects.toMatchObject({ code: 'ELAX_ERR_PAYLOAD_TOO_LARGE', message: 'request body exceeds the limit of 1024 bytes' });
    await expect(read(['x'.repeat(600), 'x'.repeat(600)], {})).rejects.toMatchObject({ code: 'ELAX_ERR_PAYLOAD_TOO_LARGE' });
    // gzip: the decompressed bytes count against the limit, and the encoded length is what Content-Length declares.
    await expect(read(['x'.repeat(1025)], { 'content-length': '40', 'content-encoding': 'gzip' }, 1024, 40)).rejects.toMatchObject({ code: 'ELAX_ERR_PAYLOAD_TOO_LARGE' });
    expect(await read(['{"a":', '1}'], { 'content-length': '3', 'content-encoding': 'gzip' }, 1024, 3)).toEqual({ a: 1 });
    await expect(read(['{}'], { 'content-length': '5' })).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: 'request body has 2 bytes but its Content-Length says 5' });
    await expect(read(['{"a":'], {})).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringMatching(/^malformed JSON body/) });
  });

  it('should parse bodies read into reused buffers as their own bytes, whatever the bodies before held or how they ended', async () => {
    // Bodies of 64 KiB and more are read into reused buffers (core/reused-buffers.ts): inline and offloaded parses,
    // failed ones (bad JSON, a short body, a failing offload) and bodies shorter than the one before in the same buffer.
    const body = (n: number, fill: string) => JSON.stringify({ s: fill.repeat(n) });
    const offload = (bytes: Buffer, length: number) => Promise.resolve(JSON.parse(bytes.toString('utf8', 0, length)) as unknown);
    const failing = () => Promise.reject(new Error('pool failed'));
    const sizes = [300_000, 70_000, 299_000, 100_000, 65_536, 280_000];
    for (let round = 0; round < 3; round++) {
      for (const [i, n] of sizes.entries()) {
        const text = body(n, String.fromCharCode(97 + ((i + round) % 26)));
        const bytes = Buffer.from(text);
        const half = bytes.length >> 1;
        const headers = { 'content-length': String(bytes.length) };
        const limit = 1 << 20;
        const read2 = (off?: (b: Buffer, l: number) => Promise<unknown>) =>
          new Promise((resolve, reject) => {
            const payload = Readable.from([bytes.subarray(0, half), bytes.subarray(half)], { objectMode: false });
            readJsonBody(payload, headers, limit, (err, v) => (err ? reject(err) : resolve(v)), off);
          });
        expect(await read2()).toEqual({ s: text.slice(6, -2) });
        expect(await read2(offload)).toEqual({ s: text.slice(6, -2) });
        if (bytes.length >= OFFLOAD_MIN_BYTES) await expect(read2(failing)).rejects.toThrow('pool failed');
        else expect(await read2(failing)).toEqual({ s: text.slice(6, -2) }); // parsed here, not offloaded
        await expect(read([bytes.subarray(0, half)], headers, limit)).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST' });
        const bad = Buffer.from(text.slice(0, -1) + ']');
        await expect(read([bad], { 'content-length': String(bad.length) }, limit)).rejects.toMatchObject({ message: expect.stringMatching(/^malformed JSON body/) });
      }
    }
  });

  it('should take a body exactly at the limit', async () => {
    const body = `{"s":"${'x'.repeat(1024 - 8)}"}`;
    expect(body.length).toBe(1024);
    expect(await read([body], { 'content-length': '1024' })).toEqual({ s: 'x'.repeat(1016) });
  });
});
