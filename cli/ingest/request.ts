/**
 * One write request: the body (`upsert_rows` made of the rows' own JSON text, plus `distance_metric`) and its
 * idempotency key. The key is a pure function of what the request means — namespace, salt, source name, which
 * rows (their row indexes) and the exact body bytes — so a retry, a rerun or a resumed run sending the same rows
 * sends the same key, and the server applies it once.
 */
import { createHash } from 'node:crypto';
import type { SourceRow } from './types.js';

export const KEY_PREFIX = 'elax-ingest-v1-';

function tail(distanceMetric?: string): string {
  return distanceMetric ? `],"distance_metric":${JSON.stringify(distanceMetric)}}` : ']}';
}

const HEAD = '{"upsert_rows":[';

/** Body bytes of a request with no rows. */
export function envelopeBytes(distanceMetric?: string): number {
  return Buffer.byteLength(HEAD + tail(distanceMetric));
}

export function buildBody(rows: readonly SourceRow[], distanceMetric?: string): Buffer {
  let s = HEAD;
  for (let i = 0; i < rows.length; i++) s += (i > 0 ? ',' : '') + rows[i]!.text;
  return Buffer.from(s + tail(distanceMetric));
}

/** Row indexes as compact ranges: 0-99,101,103-200. */
export function rowRanges(rows: readonly SourceRow[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < rows.length) {
    const a = rows[i]!.index;
    let b = a;
    while (i + 1 < rows.length && rows[i + 1]!.index === b + 1) b = rows[++i]!.index;
    parts.push(a === b ? String(a) : `${a}-${b}`);
    i++;
  }
  return parts.join(',');
}

export interface KeyContext {
  ns: string;
  salt?: string;
  /** The source's identity (file base name or 'stdin'). */
  source: string;
}

export function requestKey(ctx: KeyContext, rows: readonly SourceRow[], body: Buffer): string {
  const h = createHash('sha256');
  h.update(`elax-ingest/v1\0${ctx.ns}\0${ctx.salt ?? ''}\0${ctx.source}\0${rowRanges(rows)}\0`);
  h.update(body);
  return KEY_PREFIX + h.digest('hex');
}
