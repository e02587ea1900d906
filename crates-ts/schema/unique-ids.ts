/**
 * One id per write request. turbopuffer's write docs: "If the same document ID appears multiple times in the request,
 * the request will fail with an HTTP 400 error" — across upserts, patches and deletes alike (without it the last row
 * would silently win, and an upsert + delete of one id would depend on the order of operations inside a request).
 * Ids are compared in their stored form (parseId: UUIDs lowercase), so two spellings of one UUID are one id. The
 * filter-based writes name no ids and may overlap the explicit ones (delete_by_filter, then upsert the same ids).
 *
 * One Set over every id: O(ids) time and memory; the places are only looked up again when a duplicate is found.
 */
import { ElaxError, type Id } from '../core/index.js';

/** A list of ids of the request, in body order: `upsert_rows`, `upsert_columns`, ..., `deletes`. */
export interface IdBlock {
  /** The body key. */
  key: string;
  /** Rows are located as `key[i]`, columns as `key.id[i]`, deletes as `deletes[i]`. */
  form: 'rows' | 'columns' | 'list';
  length: number;
  id(i: number): Id;
}

function place(b: IdBlock, i: number): string {
  return b.form === 'columns' ? `${b.key}.id[${i}]` : `${b.key}[${i}]`;
}

function firstPlace(blocks: readonly IdBlock[], id: Id): string {
  for (const b of blocks) for (let i = 0; i < b.length; i++) if (b.id(i) === id) return place(b, i);
  return '?'; // unreachable: the id was seen
}

/** Throws ELAX_ERR_DUPLICATE_ID naming the id, where it first appeared and where again. */
export function checkUniqueIds(blocks: readonly IdBlock[]): void {
  let total = 0;
  for (const b of blocks) total += b.length;
  if (total < 2) return;
  const seen = new Set<Id>();
  for (const b of blocks) {
    for (let i = 0; i < b.length; i++) {
      const id = b.id(i);
      if (seen.has(id)) {
        throw new ElaxError(
          'ELAX_ERR_DUPLICATE_ID',
          `${place(b, i)}: id ${JSON.stringify(id)} appears more than once in this request (first at ${firstPlace(blocks, id)}); a write request may name each id once`,
        );
      }
      seen.add(id);
    }
  }
}
