/**
 * Reading every row of a namespace in id order, as turbopuffer rows `{id, vector?, ...attributes}`, either from a
 * running server (paged queries) or straight from the store (one in-process view).
 *
 * Consistency: from the store, all rows come from one NamespaceView, i.e. one router epoch plus the WAL up to one
 * head: an exact snapshot. From a server, pages are separate queries; the reader compares the namespace's
 * `updated_at` before and after the pass and re-reads (up to `attempts` times) when a write landed in between, so a
 * reported `consistent: true` export is a snapshot too.
 */
import { compareIds, type Doc } from '../../crates-ts/core/index.js';
import { Engine } from '../../crates-ts/engine/index.js';
import { systemClock } from '../../crates-ts/core/index.js';
import { withStore, callServer } from '../store-option.js';

export type Row = Record<string, unknown> & { id: string | number };

export interface NamespaceRows {
  rows: Row[];
  schema: Record<string, unknown>;
  /** True when the rows are one snapshot of the namespace. */
  consistent: boolean;
  /** Passes over the namespace a server read needed (1 when nothing was written meanwhile). */
  passes: number;
}

export function docToRow(d: Doc): Row {
  const row: Row = { id: d.id };
  if (d.vector) row.vector = Array.from(d.vector);
  for (const [k, v] of Object.entries(d.attrs)) if (v !== null && v !== undefined) row[k] = v;
  return row;
}

/** Every live row from the store, in id order, from one view (one router epoch + the WAL after it). */
export async function readFromStore(storeOpt: string | undefined, ns: string): Promise<NamespaceRows> {
  return withStore(storeOpt, async (store) => {
    const engine = new Engine(store, { clock: systemClock, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random });
    const view = await engine.catalog.require(ns, 'strong');
    const docs = [];
    for await (const d of view.liveDocs()) docs.push(d);
    docs.sort((a, b) => compareIds(a.id, b.id));
    const schema = await engine.schema(ns);
    return { rows: docs.map(docToRow), schema, consistent: true, passes: 1 };
  });
}

interface Metadata {
  updated_at: string;
  approx_row_count: number;
}

/** Every row from a server, in id order, paging by id; re-reads while writes land during the pass. */
export async function readFromServer(url: string, ns: string, opts: { apiKey?: string; pageSize?: number; attempts?: number } = {}): Promise<NamespaceRows> {
  const pageSize = opts.pageSize ?? 1000;
  const attempts = opts.attempts ?? 3;
  const path = `/v2/namespaces/${encodeURIComponent(ns)}`;
  let rows: Row[] = [];
  let consistent = false;
  let passes = 0;
  let schema: Record<string, unknown> = {};
  while (passes < attempts && !consistent) {
    passes++;
    const before = await callServer<Metadata>(url, `${path}/metadata`, opts);
    schema = await callServer<Record<string, unknown>>(url, `/v1/namespaces/${encodeURIComponent(ns)}/schema`, opts);
    rows = [];
    let last: string | number | null = null;
    for (;;) {
      const body: Record<string, unknown> = { rank_by: ['id', 'asc'], top_k: pageSize, include_attributes: true };
      if (last !== null) body.filters = ['id', 'Gt', last];
      const page = await callServer<{ rows?: Row[] }>(url, `${path}/query`, { ...opts, body });
      const got = page.rows ?? [];
      rows.push(...got);
      if (got.length < pageSize) break;
      last = got[got.length - 1]!.id;
    }
    const after = await callServer<Metadata>(url, `${path}/metadata`, opts);
    consistent = before.updated_at === after.updated_at;
  }
  return { rows, schema, consistent, passes };
}
