/**
 * Every object key elax writes is built here, so the layout (design.md §3) lives in one place.
 * Sequence numbers are zero-padded to 20 digits so that LIST order is numeric order.
 */
const SEQ_WIDTH = 20;

export function padSeq(seq: number): string {
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

const WAL_KEY = /\/wal\/(\d{20})\.parquet$/;

/** The sequence number of a WAL key, or null if the key is not a WAL entry. */
export function parseWalKey(key: string): number | null {
  const m = WAL_KEY.exec(key);
  return m ? Number(m[1]) : null;
}

export function partPrefix(ns: string, partId: string): string {
  return `${ns}/parts/${partId}/`;
}

export function probeKey(nonce: string): string {
  return `_elax/probe/${nonce}`;
}
