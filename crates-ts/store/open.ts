/**
 * Opens a store from a URI: a plain path or file:///abs/path (local directory), memory:// (tests), or
 * s3://bucket/optional/prefix (S3-compatible). S3 settings come from the environment, overridable by options:
 *   ELAX_S3_ENDPOINT (or AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)   custom endpoint (radosgw, MinIO-likes, ...)
 *   ELAX_S3_FORCE_PATH_STYLE=1|0                                   default: on when an endpoint is set
 *   AWS_REGION (or AWS_DEFAULT_REGION)                             default us-east-1
 *   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN  else the SDK's default provider chain
 */
import { fileURLToPath } from 'node:url';
import { ElaxError } from '../core/index.js';
import { LocalDirStore, type LocalDirStoreOptions } from './local.js';
import { MemoryStore } from './memory.js';
import type { S3Store, S3StoreOptions } from './s3.js';
import type { ObjectStore } from './types.js';

export interface OpenStoreOptions {
  /** Environment to read S3 settings from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Overrides for the S3 backend (win over the environment). */
  s3?: Partial<Omit<S3StoreOptions, 'bucket' | 'prefix'>>;
  /** Options for the local directory backend. */
  local?: LocalDirStoreOptions;
}

const FORMS = 'use a directory path, file:///absolute/path, memory:// or s3://bucket/optional/prefix';

function bad(uri: string, why: string): ElaxError {
  return new ElaxError('ELAX_ERR_INVALID_REQUEST', `invalid store URI ${JSON.stringify(uri)}: ${why}; ${FORMS}`);
}

export async function openStore(uri: string, opts: OpenStoreOptions = {}): Promise<ObjectStore> {
  if (!uri) throw bad(uri, 'it is empty');
  if (uri === 'memory://') return new MemoryStore();
  if (uri.startsWith('file:')) {
    let p: string;
    try {
      p = fileURLToPath(uri);
    } catch (e) {
      throw bad(uri, (e as Error).message);
    }
    return new LocalDirStore(p, opts.local);
  }
  // The AWS SDK is loaded only for an s3:// store (≈ 0.25 s of CPU per process or thread: RFC-0010 "Startup").
  if (uri.startsWith('s3://')) return openS3(uri, opts, (await import('./s3.js')).S3Store);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  if (scheme) throw bad(uri, `scheme '${scheme[1]}:' is not supported`);
  return new LocalDirStore(uri, opts.local);
}

function openS3(uri: string, opts: OpenStoreOptions, S3: typeof S3Store): S3Store {
  const env = opts.env ?? process.env;
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw bad(uri, `'${bucket}' is not a valid S3 bucket name (3-63 characters of a-z, 0-9, '.', '-')`);
  }
  if (prefix !== '' && prefix.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw bad(uri, `the key prefix '${prefix}' has an empty, '.' or '..' segment`);
  }
  const endpoint = env.ELAX_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const pathStyleEnv = env.ELAX_S3_FORCE_PATH_STYLE;
  let forcePathStyle = Boolean(endpoint); // custom endpoints rarely have wildcard DNS for virtual-host buckets
  if (pathStyleEnv !== undefined && pathStyleEnv !== '') {
    if (/^(1|true|yes)$/i.test(pathStyleEnv)) forcePathStyle = true;
    else if (/^(0|false|no)$/i.test(pathStyleEnv)) forcePathStyle = false;
    else throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `ELAX_S3_FORCE_PATH_STYLE must be 1/true or 0/false, got '${pathStyleEnv}'`);
  }
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined }
      : undefined; // the SDK's default chain (profiles, SSO, instance roles, ...)
  return new S3({
    bucket,
    prefix,
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle,
    credentials,
    ...opts.s3,
  });
}
