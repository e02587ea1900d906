/**
 * S3 (and S3-compatible) object store via @aws-sdk/client-s3.
 *
 * Conditional writes: put-if-absent sends `If-None-Match: *`, put-if-match sends `If-Match: <etag>` with the quotes
 * stripped (Ceph radosgw compares against the unquoted ETag; AWS accepts either). A failed condition is a lost race,
 * whatever the server calls it: 412 Precondition Failed, 409 ConditionalRequestConflict (AWS under concurrency),
 * or 404 on If-Match for a missing key (AWS; radosgw answers 412).
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
  /** For tests: a pre-built client (e.g. with middleware simulating AWS or radosgw answers). */
  client?: Pick<S3Client, 'send' | 'destroy'>;
}

interface S3ErrorLike {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  message?: string;
}

function status(e: unknown): number | undefined {
  return (e as S3ErrorLike)?.$metadata?.httpStatusCode;
}

function isNotFound(e: unknown): boolean {
  const err = e as S3ErrorLike;
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

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? `${opts.prefix.replace(/\/+$/, '')}/` : '';
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
        // radosgw rejects the SDK's default streaming checksums (411); plain MD5-less PUTs work everywhere.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: new NodeHttpHandler({
          httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
          httpsAgent: new Agent({ keepAlive: true, maxSockets }),
        }),
      };
      this.client = new S3Client(config);
    }
  }

  private k(key: string): string {
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
    if (range && range.end <= range.start) {
      const h = await this.head(key);
      return h ? { bytes: new Uint8Array(0), witness: h.witness, info: h.info } : null;
    }
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.k(key), Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined }),
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

  async head(key: string) {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
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
    try {
      const out = await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.k(key), Body: bytes, ContentLength: bytes.length }));
      return Witness.fromBackendToken(unquoteEtag(out.ETag));
    } catch (e) {
      throw this.unavailable('PUT', key, e);
    }
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    try {
      const out = await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.k(key), Body: bytes, ContentLength: bytes.length, IfNoneMatch: '*' }),
      );
      return { ok: true, witness: Witness.fromBackendToken(unquoteEtag(out.ETag)) };
    } catch (e) {
      if (isLostRace(e, false)) return { ok: false };
      const settled = await this.settleUnknown(key, bytes, e, null);
      if (settled) return settled;
      throw this.unavailable('PUT (If-None-Match)', key, e);
    }
  }

  async putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult> {
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.k(key),
          Body: bytes,
          ContentLength: bytes.length,
          IfMatch: unquoteEtag(Witness.backendToken(witness)),
        }),
      );
      return { ok: true, witness: Witness.fromBackendToken(unquoteEtag(out.ETag)) };
    } catch (e) {
      if (isLostRace(e, true)) return { ok: false };
      const settled = await this.settleUnknown(key, bytes, e, Witness.backendToken(witness));
      if (settled) return settled;
      throw this.unavailable('PUT (If-Match)', key, e);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    const startAfter = options.startAfter !== undefined ? this.k(options.startAfter) : undefined;
    for (;;) {
      const remaining = options.limit !== undefined ? options.limit - objects.length - prefixes.length : undefined;
      if (remaining !== undefined && remaining <= 0) break;
      let out;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.k(prefix),
            Delimiter: options.delimiter,
            StartAfter: token ? undefined : startAfter,
            ContinuationToken: token,
            MaxKeys: remaining !== undefined ? Math.min(1000, remaining) : 1000,
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
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw this.unavailable('DELETE', key, e);
    }
  }

  /**
   * A conditional PUT failed with a 5xx: its outcome is unknown. radosgw answers 500 to some of several concurrent
   * If-Match PUTs on one key (measured here). Decide from what is stored: a single-part PUT's ETag is the MD5 of its
   * body, so if the object now carries our MD5 we won; if it carries another version we lost; if it is still at the
   * version we conditioned on (or absent) nothing happened: callers treat that like a lost race and re-read.
   */
  private async settleUnknown(key: string, bytes: Uint8Array, err: unknown, expected: string | null): Promise<PutResult | null> {
    const code = status(err);
    if (code === undefined || code < 500) return null;
    const ours = createHash('md5').update(bytes).digest('hex');
    for (let attempt = 0; attempt < 3; attempt++) {
      let h;
      try {
        h = await this.head(key);
      } catch {
        continue;
      }
      if (!h) return { ok: false };
      const now = Witness.backendToken(h.witness);
      if (now === ours) return { ok: true, witness: h.witness };
      if (expected === null || now !== unquoteEtag(expected)) return { ok: false };
      // Unchanged: the write did not happen. Report a lost race: every caller re-reads and retries its CAS.
      return { ok: false };
    }
    return null;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
