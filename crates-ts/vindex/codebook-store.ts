/**
 * Codebook objects in the store: written once (put-if-absent, under a fresh nonce) before the publish that first
 * names them in `router.vindex` (RFC-0008 §1), read by the name and version the router gives.
 */
import { ElaxError } from '../core/index.js';
import type { Codebook } from '../ivf/index.js';
import type { VindexRef } from '../router/index.js';
import { codebookKey, codebookName, parseCodebookName, type ObjectStore } from '../store/index.js';
import { decodeCodebook, encodeCodebook } from './codebook-file.js';

/**
 * Uploads `cb` as `{ns}/vindex/codebook-{version}-{nonce}.cb` and returns the router field that names it. The
 * object is new (a nonce per writer): finding one under that key means the nonce was reused, a bug.
 */
export async function writeCodebook(store: ObjectStore, ns: string, cb: Codebook, nonce: string): Promise<VindexRef> {
  const name = codebookName(cb.version, nonce);
  const put = await store.putIfAbsent(codebookKey(ns, name), encodeCodebook(cb));
  if (!put.ok) throw new ElaxError('ELAX_ERR_INTERNAL', `codebook ${codebookKey(ns, name)} already exists (nonce ${JSON.stringify(nonce)} reused)`);
  return { codebook: name, version: cb.version };
}

/** The codebook `ref` names, checked: its bytes, and that it is the version the name and the router say. */
export async function readCodebook(store: ObjectStore, ns: string, ref: VindexRef): Promise<Codebook> {
  const key = codebookKey(ns, ref.codebook);
  const got = await store.get(key);
  if (!got) throw new ElaxError('ELAX_ERR_CORRUPT', `codebook ${key} is missing from ${store.description}`);
  const cb = decodeCodebook(got.bytes, key);
  const named = parseCodebookName(ref.codebook)!.version;
  if (cb.version !== ref.version || cb.version !== named) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `codebook ${key} holds version ${cb.version}; its name says ${named} and the router ${ref.version}`);
  }
  return cb;
}
