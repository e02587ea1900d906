/**
 * Every object key elax writes is built here, so the layout (docs/ARCHITECTURE.md, Object layout) lives in one place:
 *   {ns}/router.json                      routerKey
 *   {ns}/wal/{seq:020d}.parquet           walKey / parseWalKey (LIST order = sequence order)
 *   {ns}/parts/{part-id}/...              partPrefix
 *   {ns}/vindex/codebook-{version:010d}-{nonce}.cb   codebookKey / codebookName (RFC-0008 §1)
 *   {home}/refs/{dest}/{nonce}.json       branchRefKey: namespace dest may borrow home's parts (RFC-0011)
 *   _elax/probe/{nonce}                   probeKey (startup conditional-write probe)
 * Keys are relative to the store root (an S3 store adds its own bucket prefix).
 */
import { ElaxError } from '../core/index.js';

const SEQ_WIDTH = 20;

/** A sequence number as its fixed-width, zero-padded key form. */
export function padSeq(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `WAL sequence numbers are non-negative safe integers, got ${seq}`);
  }
  return String(seq).padStart(SEQ_WIDTH, '0');
}

export function namespacePrefix(ns: string): string {
  return `${ns}/`;
}

export function routerKey(ns: string): string {
  return `${ns}/router.json`;
}

export function walPrefix(ns: string): string {
  return `${ns}/wal/`;
}

export function walKey(ns: string, seq: number): string {
  return `${ns}/wal/${padSeq(seq)}.parquet`;
}

const WAL_KEY = /^[^/]+\/wal\/(\d{20})\.parquet$/;

/** The sequence number of a WAL key (`{ns}/wal/{seq:020d}.parquet`), or null if the key is not one. */
export function parseWalKey(key: string): number | null {
  const m = WAL_KEY.exec(key);
  if (!m) return null;
  const seq = Number(m[1]);
  return Number.isSafeInteger(seq) ? seq : null;
}

/** `{ns}/parts/`: every part folder of a namespace (LIST with delimiter '/' gives one prefix per part). */
export function partsPrefix(ns: string): string {
  return `${namespacePrefix(ns)}parts/`;
}

/** The part id of a key under partsPrefix(ns), or null. */
export function partIdOfKey(ns: string, key: string): string | null {
  const prefix = partsPrefix(ns);
  if (!key.startsWith(prefix)) return null;
  const id = key.slice(prefix.length).split('/')[0];
  return id ? id : null;
}

export function partPrefix(ns: string, partId: string): string {
  return `${partsPrefix(ns)}${partId}/`;
}

/** `{ns}/vindex/`: the namespace's vector-index objects (codebooks, RFC-0008 §1). */
export function vindexPrefix(ns: string): string {
  return `${namespacePrefix(ns)}vindex/`;
}

const CODEBOOK_VERSION_WIDTH = 10;
const CODEBOOK_NAME = /^codebook-(\d{10})-([A-Za-z0-9_.-]{1,64})\.cb$/;

/**
 * `codebook-{version:010d}-{nonce}.cb`: one object per codebook version and writer (two indexers extending the same
 * version write different objects; the router names the one whose publish won). Versions sort in LIST order.
 */
export function codebookName(version: number, nonce: string): string {
  if (!Number.isSafeInteger(version) || version < 1 || version >= 10 ** CODEBOOK_VERSION_WIDTH) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `codebook versions are integers 1..${10 ** CODEBOOK_VERSION_WIDTH - 1}, got ${version}`);
  }
  const name = `codebook-${String(version).padStart(CODEBOOK_VERSION_WIDTH, '0')}-${nonce}.cb`;
  if (!CODEBOOK_NAME.test(name)) throw new ElaxError('ELAX_ERR_INTERNAL', `codebook nonce must be 1-64 characters of [A-Za-z0-9_.-], got ${JSON.stringify(nonce)}`);
  return name;
}

/** The version and nonce of a codebook object name, or null if `name` is not one. */
export function parseCodebookName(name: string): { version: number; nonce: string } | null {
  const m = CODEBOOK_NAME.exec(name);
  if (!m) return null;
  const version = Number(m[1]);
  return version >= 1 ? { version, nonce: m[2]! } : null;
}

/** The key of a codebook object of namespace `ns` (by its name, as router.vindex.codebook holds it). */
export function codebookKey(ns: string, name: string): string {
  if (parseCodebookName(name) === null) throw new ElaxError('ELAX_ERR_INTERNAL', `${JSON.stringify(name)} is not a codebook object name`);
  return `${vindexPrefix(ns)}${name}`;
}

/** `{home}/refs/`: the references of namespaces that may borrow home's parts (branches, RFC-0011). */
export function branchRefsPrefix(home: string): string {
  return `${namespacePrefix(home)}refs/`;
}

const REF_NONCE = /^[A-Za-z0-9_.-]{1,64}$/;

/** `{home}/refs/{dest}/{nonce}.json`: one per branch creation that borrows home's parts. */
export function branchRefKey(home: string, dest: string, nonce: string): string {
  if (!REF_NONCE.test(nonce)) throw new ElaxError('ELAX_ERR_INTERNAL', `reference nonce must be 1-64 characters of [A-Za-z0-9_.-], got ${JSON.stringify(nonce)}`);
  return `${branchRefsPrefix(home)}${dest}/${nonce}.json`;
}

/** The borrowing namespace a key under branchRefsPrefix(home) names, or null. */
export function parseBranchRefKey(home: string, key: string): { dest: string } | null {
  const prefix = branchRefsPrefix(home);
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length).split('/');
  return rest.length === 2 && rest[0] && rest[1]!.endsWith('.json') ? { dest: rest[0] } : null;
}

export function probeKey(nonce: string): string {
  return `_elax/probe/${nonce}`;
}
