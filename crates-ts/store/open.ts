/**
 * Opens a store from a URI: a plain path or file:///abs/path (local directory), memory:// (tests), or
 * s3://bucket/optional/prefix (S3-compatible; endpoint and credentials from the environment).
 */
import { fileURLToPath } from 'node:url';
import { ElaxError } from '../core/index.js';
import { LocalDirStore } from './local.js';
import { MemoryStore } from './memory.js';
import { S3Store } from './s3.js';
import type { ObjectStore } from './types.js';

export async function openStore(uri: string): Promise<ObjectStore> {
  if (!uri) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', 'empty store URI: use a path, file:///path, memory:// or s3://bucket/prefix');
  if (uri === 'memory://') return new MemoryStore();
  if (uri.startsWith('file://')) return new LocalDirStore(fileURLToPath(uri));
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `invalid S3 bucket name '${bucket}' in store URI '${uri}'`);
    }
    const env = process.env;
    const endpoint = env.ELAX_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    const pathStyle = env.ELAX_S3_FORCE_PATH_STYLE;
    return new S3Store({
      bucket,
      prefix,
      endpoint,
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
      // Custom endpoints (radosgw, MinIO-likes) rarely have wildcard DNS: default to path-style there.
      forcePathStyle: pathStyle !== undefined ? pathStyle === '1' || pathStyle === 'true' : Boolean(endpoint),
    });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `unsupported store URI '${uri}': use a path, file:///path, memory:// or s3://bucket/prefix`);
  }
  return new LocalDirStore(uri);
}
