/**
 * Opens a store from a URI: a plain path or file:///abs/path (local directory), memory:// (tests), or
 * s3://bucket/optional/prefix (S3-compatible; endpoint and credentials from the environment).
 */
import { fileURLToPath } from 'node:url';
import { ElaxError } from '../core/index.js';
import { LocalDirStore } from './local.js';
import { MemoryStore } from './memory.js';
import type { ObjectStore } from './types.js';

export async function openStore(uri: string): Promise<ObjectStore> {
  if (!uri) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', 'empty store URI: use a path, file:///path, memory:// or s3://bucket/prefix');
  if (uri === 'memory://') return new MemoryStore();
  if (uri.startsWith('file://')) return new LocalDirStore(fileURLToPath(uri));
  if (uri.startsWith('s3://')) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', 's3:// stores are not available in this build yet');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `unsupported store URI '${uri}': use a path, file:///path, memory:// or s3://bucket/prefix`);
  }
  return new LocalDirStore(uri);
}
