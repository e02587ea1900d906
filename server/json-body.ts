/**
 * Reading a JSON request body into one buffer, then one string, then JSON.parse — and no more copies than that.
 *
 * fastify's own reader keeps every chunk, concatenates them into a second buffer and decodes that into a string:
 * three copies of the body at once. At turbopuffer's 512 MB write limit that is 1.5 GB before a document exists.
 * Here a body that declares its length (`Content-Length`, not compressed: the common case, and what the official
 * client sends) is copied chunk by chunk into a buffer allocated once at that size; a chunked or gzip body, whose
 * size is unknown until it ends, is kept in chunks and concatenated once (fastify's way). The buffer is dropped
 * before parsing, so the peak is the buffer and the string (2× the body), then the string and the parsed value.
 *
 * The limits enforced here, as fastify would: a declared length over `limit` is refused before a byte is read; a body
 * growing past it (chunked, or gzip inflating) is refused on the chunk that crosses it; a body shorter or longer than
 * its Content-Length is a 400. A body longer than the longest string V8 can make (`buffer.constants.MAX_STRING_LENGTH`,
 * 2^29 − 24 one-byte characters: 24 bytes short of 512 MiB) cannot become one string: a 413 naming that.
 */
import type { Readable } from 'node:stream';
import { ElaxError, reusedBuffers } from '../crates-ts/core/index.js';
import { MAX_JSON_TEXT_LENGTH, parseJsonBytesFloats } from '../crates-ts/schema/json-body.js';

/** turbopuffer's write docs: "Write requests can have a payload size of up to 512 MB" (binary megabytes here). */
export const DEFAULT_BODY_LIMIT = 512 * 1024 * 1024;

export { MAX_JSON_TEXT_LENGTH };

/**
 * Bodies this size or larger are parsed on a pool thread (JsonOffload): a 1,000-row write of 128-d JSON vectors
 * (≈ 1.3 MB) costs the event loop ≈ 11 ms to parse, during which no other request is served. Smaller bodies (queries)
 * parse faster than a round trip to a thread.
 */
export const OFFLOAD_MIN_BYTES = 256 * 1024;
/**
 * And smaller than this: the thread's value is cloned back, so while it crosses both threads hold it. Above, the
 * body is parsed here, where it is held once (the 512 MB limit's memory bound, json-body's header).
 */
export const OFFLOAD_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Parses a body's bytes elsewhere (a pool thread, schema/json-body.ts parseJsonBytesPacked), with parseJsonBytes's
 * errors. `bytes` may be moved away: the caller does not use it afterwards.
 */
export type JsonOffload = (bytes: Buffer, length: number) => Promise<unknown>;

export function bodyTooLarge(limit: number): ElaxError {
  return new ElaxError('ELAX_ERR_PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`);
}

type Done = (err: Error | null, body?: unknown) => void;
type Payload = Readable & { receivedEncodedLength?: number };

/**
 * fastify content-type parser body (the stream form): reads `payload` (already gunzipped and counted by the preParsing
 * hooks) and calls `done` once with the parsed value ({} for an empty body) or an error.
 */
export function readJsonBody(payload: Payload, headers: { 'content-length'?: string; 'content-encoding'?: string }, limit: number, done: Done, offload?: JsonOffload): void {
  const declared = headers['content-length'] === undefined ? NaN : Number(headers['content-length']);
  if (declared > limit) return done(bodyTooLarge(limit));
  const identity = headers['content-encoding'] === undefined || headers['content-encoding'] === 'identity';
  // The declared length is the body's length only when nothing decompresses it.
  // A body the pool will parse is read into shared memory: handing it to the thread then copies nothing (a copy of a
  // 1.3 MB body cost the event loop ≈ 4 ms in structured clone), and the bytes stay readable here if the pool fails
  // the task and it runs inline.
  const offloaded = offload !== undefined && declared >= OFFLOAD_MIN_BYTES && declared < OFFLOAD_MAX_BYTES;
  // A large body's buffer is a reused one (core/reused-buffers.ts: fresh memory costs the event loop a page fault per
  // 4 KiB it copies), given back once parsed: `pooled` until then, null once given back or escaped (the chunks path).
  let pooled: SharedArrayBuffer | null = null;
  let whole: Buffer | null = null;
  if (identity && Number.isInteger(declared) && declared > 0) {
    if (reusedBuffers.reuses(declared)) whole = Buffer.from((pooled = reusedBuffers.acquire(declared)), 0, declared);
    else whole = offloaded ? Buffer.from(new SharedArrayBuffer(declared)) : Buffer.allocUnsafe(declared);
  }
  let offloading = false;
  const giveBack = () => {
    if (pooled !== null) reusedBuffers.release(pooled);
    pooled = null;
  };
  const chunks: Buffer[] = [];
  let received = 0;
  let finished = false;

  const finish = (err: Error | null, body?: unknown) => {
    if (finished) return;
    finished = true;
    if (!offloading) giveBack(); // (an offloaded parse gives it back itself, once the thread is done with it)
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    done(err, body);
  };
  function onData(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    // The decompressed length bounds what is buffered ("zip bomb"); the encoded one what was sent.
    if (received + b.length > limit || (payload.receivedEncodedLength ?? 0) > limit) return finish(bodyTooLarge(limit));
    if (whole !== null && received + b.length <= whole.length) b.copy(whole, received);
    else {
      if (whole !== null) {
        // More than declared: Node's HTTP parser never delivers that; fall back to chunks and let onEnd refuse it.
        chunks.push(whole.subarray(0, received));
        whole = null;
        pooled = null;
      }
      chunks.push(b);
    }
    received += b.length;
  }
  function onEnd(): void {
    const sent = payload.receivedEncodedLength || received;
    if (!Number.isNaN(declared) && sent !== declared) {
      return finish(new ElaxError('ELAX_ERR_INVALID_REQUEST', `request body has ${sent} bytes but its Content-Length says ${declared}`));
    }
    const buf = whole ?? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    whole = null;
    chunks.length = 0;
    if (offload !== undefined && received >= OFFLOAD_MIN_BYTES && received < OFFLOAD_MAX_BYTES) {
      offloading = true;
      offload(buf, received).then(
        (value) => {
          giveBack(); // the thread (or the inline fallback) has parsed it
          finish(null, value);
        },
        (e: unknown) => {
          pooled = null; // not known to be done with: left to the GC
          finish(e instanceof Error ? e : new Error(String(e)));
        },
      );
      return;
    }
    let value: unknown;
    try {
      // A body above 64 KiB is parsed in pieces (schema/json-pieces.ts): no string of it in fresh large-object memory;
      // a write's JSON float vectors without JSON.parse (schema/json-floats.ts).
      value = parseJsonBytesFloats(buf, received);
    } catch (e) {
      return finish(e as Error);
    }
    finish(null, value); // (gives the buffer back)
  }
  function onError(err: Error & { statusCode?: number }): void {
    // As fastify: a stream error that says nothing of its status is the client's (an aborted upload).
    if (!(err instanceof ElaxError) && typeof err.statusCode !== 'number') err.statusCode = 400;
    finish(err);
  }
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.resume();
}
