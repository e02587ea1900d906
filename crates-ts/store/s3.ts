/**
 * S3 (and S3-compatible) object store via @aws-sdk/client-s3.
 *
 * Conditional writes: put-if-absent sends `If-None-Match: *`, put-if-match sends `If-Match: <etag>` with the quotes
 * stripped (Ceph radosgw compares against the unquoted ETag; AWS accepts either). A failed condition is a lost race,
 * whatever the server calls it: 412 Precondition Failed, 409 ConditionalRequestConflict (AWS under concurrency),
 * or 404 on If-Match for a missing key (AWS; radosgw answers 412).
 *
 * Unknown outcomes: a conditional PUT that failed with a 5xx or a network error may or may not have been applied,
 * and one that the SDK retried may report 412 because its own first attempt won. Both are settled by reading the
 * object back (see settleUnknown) instead of guessing.
 */
import { Agent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import {
  S3Client,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createHash } from 'node:crypto';
import { ElaxError } from '../core/index.js';
import { checkRange } from './common.js';
import { validateKey, validatePrefix } from './keys.js';
import { Witness, type ByteRange, type GetResult, type ListOptions, type ListResult, type ObjectInfo, type ObjectStore, type PutResult } from './types.js';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or ending without slash; a '/' is inserted). */
  prefix?: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxSockets?: number;
  /** SDK attempts per request, retries included (default: the SDK's 3). */
  maxAttempts?: number;
  /** A connection not made within this is abandoned (an attempt's error; the SDK retries). Default S3_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** A request whose socket sends or receives nothing for this long is abandoned (likewise). Default S3_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** Keys per ListObjectsV2 page (default and S3 maximum 1000; tests use small pages to cover continuation). */
  pageSize?: number;
  /** For tests: a pre-built client (e.g. with middleware simulating AWS or radosgw answers). */
  client?: Pick<S3Client, 'send' | 'destroy'>;
}

/**
 * Without timeouts the SDK waits for an answer forever: a request the network or the store swallowed (a stalled
 * connection, a reset that never arrived) held its caller — an indexer pass, a refresh, a shutdown — for good. The soak
 * (bench/soak.ts) found indexers that could not stop on SIGTERM, waiting on such requests. These bound each attempt;
 * the SDK retries a timed-out attempt like any transient error, and the last one's error is ELAX_ERR_STORE_UNAVAILABLE.
 * The idle bound is on silence, not on duration: a large part streams for as long as its bytes keep coming.
 */
export const S3_CONNECT_TIMEOUT_MS = 10_000;
export const S3_IDLE_TIMEOUT_MS = 30_000;

interface S3ErrorLike {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  message?: string;
}

function status(e: unknown): number | undefined {
  return (e as S3ErrorLike)?.$metadata?.httpStatusCode;
}

/** The key does not exist. A missing bucket is a configuration error, not a missing key (GET names it; HEAD cannot). */
function isNotFound(e: unknown): boolean {
  const err = e as S3ErrorLike;
  if (err?.name === 'NoSuchBucket') return false;
  return status(e) === 404 || err?.name === 'NoSuchKey' || err?.name === 'NotFound';
}

/** True when a conditional PUT failed its condition (any of the ways S3 implementations report it). */
export function isLostRace(e: unknown, conditionalOnExisting: boolean): boolean {
  const err = e as S3ErrorLike;
  const code = status(e);
  if (code === 412 || err?.name === 'PreconditionFailed') return true;
  if (code === 409 || err?.name === 'ConditionalRequestConflict') return true;
  if (conditionalOnExisting && (code === 404 || err?.name === 'NoSuchKey')) return true;
  return false;
}

/** ETags come quoted from S3 (`"abc"`); radosgw wants them unquoted in If-Match. Keep them unquoted everywhere. */
export function unquoteEtag(etag: string | undefined): string {
  if (!etag) return '';
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

export class S3Store implements ObjectStore {
  readonly description: string;
  private readonly client: Pick<S3Client, 'send' | 'destroy'>;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly pageSize: number;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? `${opts.prefix.replace(/^\/+|\/+$/g, '')}/` : '';
    if (this.prefix === '/') this.prefix = '';
    this.pageSize = Math.max(1, Math.min(1000, opts.pageSize ?? 1000));
    this.description = `s3://${opts.bucket}${this.prefix ? `/${this.prefix.slice(0, -1)}` : ''}`;
    if (opts.client) {
      this.client = opts.client;
    } else {
      const maxSockets = opts.maxSockets ?? 64;
      const config: S3ClientConfig = {
        region: opts.region ?? 'us-east-1',
        endpoint: opts.endpoint,
        forcePathStyle: opts.forcePathStyle ?? Boolean(opts.endpoint),
        credentials: opts.credentials,
        maxAttempts: opts.maxAttempts,
        // radosgw rejects the SDK's default streaming checksums (411); plain MD5-less PUTs work everywhere.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: new NodeHttpHandler({
          httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
          httpsAgent: new Agent({ keepAlive: true, maxSockets }),
          connectionTimeout: opts.connectTimeoutMs ?? S3_CONNECT_TIMEOUT_MS,
          socketTimeout: opts.idleTimeoutMs ?? S3_IDLE_TIMEOUT_MS,
        }),
      };
      this.client = new S3Client(config);
    }
  }

  private k(key: string): string {
    validateKey(key);
    return this.prefix + key;
  }

  private unavailable(op: string, key: string, e: unknown): ElaxError {
    const err = e as S3ErrorLike;
    return new ElaxError(
      'ELAX_ERR_STORE_UNAVAILABLE',
      `${this.description}: ${op} ${key} failed: ${err?.name ?? ''} ${status(e) ?? ''} ${err?.message ?? String(e)}`.replace(/\s+/g, ' '),
      { cause: e, retryAfter: 1 },
    );
  }

  async get(key: string, range?: ByteRange): Promise<GetResult | null> {
    validateKey(key);
    if (range) checkRange(range);
    // S3 cannot express an empty range (it would ignore it and send the whole object): answer from a HEAD.
    if (range && range.end <= range.start) {
      const h = await this.head(key);
      return h ? { bytes: new Uint8Array(0), witness: h.witness, info: h.info } : null;
    }
    const Key = this.k(key);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key, Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined }),
      );
      const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      const size = range ? Number(out.ContentRange?.split('/')[1] ?? bytes.length) : bytes.length;
      return {
        bytes,
        witness: Witness.fromBackendToken(unquoteEtag(out.ETag)),
        info: { key, size, lastModified: out.LastModified ? out.LastModified.getTime() : 0 },
      };
    } catch (e) {
      if (isNotFound(e)) return null;
      if (status(e) === 416) {
        const h = await this.head(key);
        return h ? { bytes: new Uint8Array(0), witness: h.witness, info: h.info } : null;
      }
      throw this.unavailable('GET', key, e);
    }
  }

  async head(key: string): Promise<{ info: ObjectInfo; witness: Witness } | null> {
    const Key = this.k(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return {
        info: { key, size: Number(out.ContentLength ?? 0), lastModified: out.LastModified ? out.LastModified.getTime() : 0 },
        witness: Witness.fromBackendToken(unquoteEtag(out.ETag)),
      };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.unavailable('HEAD', key, e);
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<Witness> {
    const Key = this.k(key);
    try {
      const out = await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes, ContentLength: bytes.length }));
      return Witness.fromBackendToken(unquoteEtag(out.ETag));
    } catch (e) {
      throw this.unavailable('PUT', key, e);
    }
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    const Key = this.k(key);
    try {
      const out = await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes, ContentLength: bytes.length, IfNoneMatch: '*' }),
      );
      return { ok: true, witness: Witness.fromBackendToken(unquoteEtag(out.ETag)) };
    } catch (e) {
      const settled = await this.settleUnknown(key, bytes, e, false);
      if (settled) return settled;
      throw this.unavailable('PUT (If-None-Match)', key, e);
    }
  }

  async putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult> {
    const Key = this.k(key);
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: bytes,
          ContentLength: bytes.length,
          IfMatch: unquoteEtag(Witness.backendToken(witness)),
        }),
      );
      return { ok: true, witness: Witness.fromBackendToken(unquoteEtag(out.ETag)) };
    } catch (e) {
      const settled = await this.settleUnknown(key, bytes, e, true);
      if (settled) return settled;
      throw this.unavailable('PUT (If-Match)', key, e);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    validatePrefix(prefix);
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    // startAfter may be any string (not necessarily a valid key), so it is not validated, only re-rooted.
    const startAfter = options.startAfter !== undefined ? this.prefix + options.startAfter : undefined;
    for (;;) {
      const remaining = options.limit !== undefined ? options.limit - objects.length - prefixes.length : undefined;
      if (remaining !== undefined && remaining <= 0) break;
      let out;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            Delimiter: options.delimiter || undefined,
            StartAfter: token ? undefined : startAfter,
            ContinuationToken: token,
            MaxKeys: remaining !== undefined ? Math.min(this.pageSize, remaining) : this.pageSize,
          }),
        );
      } catch (e) {
        throw this.unavailable('LIST', prefix, e);
      }
      // Objects and common prefixes arrive as two sorted lists; keep them separately (callers use one or the other).
      for (const o of out.Contents ?? []) {
        if (!o.Key) continue;
        objects.push({ key: o.Key.slice(this.prefix.length), size: Number(o.Size ?? 0), lastModified: o.LastModified ? o.LastModified.getTime() : 0 });
      }
      for (const p of out.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix.slice(this.prefix.length));
      if (!out.IsTruncated || !out.NextContinuationToken) break;
      token = out.NextContinuationToken;
    }
    return { objects, prefixes };
  }

  async delete(key: string): Promise<void> {
    const Key = this.k(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw this.unavailable('DELETE', key, e);
    }
  }

  /**
   * Decide what a failed conditional PUT means. A plain lost race (412/409, or 404 on If-Match) on the first attempt
   * is final. Otherwise the outcome is unknown: a 5xx or network error may hide an applied write (radosgw answers 500
   * to some of several concurrent If-Match PUTs on one key, measured here), and a 412 after an SDK retry may be our
   * own first attempt having won. Settle it from what is stored: a single-part PUT's ETag is the MD5 of its body, so
   * if the object now carries our MD5 the write is ours (equal bytes would make it indistinguishable anyway);
   * any other state means it did not apply, which callers handle like a lost race (re-read, retry). Returns null when
   * even the read-back fails: the caller throws ELAX_ERR_STORE_UNAVAILABLE.
   */
  private async settleUnknown(key: string, bytes: Uint8Array, err: unknown, onExisting: boolean): Promise<PutResult | null> {
    const lost = isLostRace(err, onExisting);
    const code = status(err);
    const retried = ((err as S3ErrorLike)?.$metadata?.attempts ?? 1) > 1;
    if (lost && !retried) return { ok: false };
    if (!lost && code !== undefined && code < 500) return null;
    const ours = createHash('md5').update(bytes).digest('hex');
    for (let attempt = 0; attempt < 3; attempt++) {
      let h;
      try {
        h = await this.head(key);
      } catch {
        continue;
      }
      if (h && Witness.backendToken(h.witness) === ours) return { ok: true, witness: h.witness };
      return { ok: false };
    }
    return null; // the read-back failed: whether our write applied is unknown (a lost race could make a caller write it twice)
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
