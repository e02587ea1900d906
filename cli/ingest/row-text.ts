/**
 * Turning one row's JSON text into a SourceRow or a per-row error. Shared by the NDJSON and JSON-array readers,
 * which both keep the row's original text for the request body (no re-serialisation: the bytes sent are the bytes
 * read, which also keeps chunk content hashes independent of how JSON.stringify formats numbers).
 */
import type { Cursor, SourceRow } from './types.js';

export interface BadRow {
  index: number;
  line?: number;
  offset: number;
  id?: unknown;
  error: string;
}

/** What a reader yields: a row, a row it could not use, and finally the cursor after the last byte it consumed. */
export type SourceItem = { kind: 'row'; row: SourceRow } | { kind: 'bad'; bad: BadRow } | { kind: 'end'; cursor: Cursor };

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** Parses `text` (bytes long) found at `loc`; the row must be an object with a non-null id. */
export function rowItem(text: string, bytes: number, loc: { index: number; line?: number; offset: number }): SourceItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { kind: 'bad', bad: { ...loc, error: `invalid JSON: ${(e as Error).message}` } };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'bad', bad: { ...loc, error: `a row must be a JSON object {id, vector?, ...attributes}, got ${describe(value)}` } };
  }
  const id = (value as { id?: unknown }).id;
  if (id === undefined || id === null) return { kind: 'bad', bad: { ...loc, error: 'the row has no id' } };
  return { kind: 'row', row: { ...loc, id, text, bytes } };
}
