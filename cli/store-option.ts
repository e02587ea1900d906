/** Shared CLI plumbing: resolve the store URI from --store / ELAX_STORE, print tables or JSON. */
import { openStore, type ObjectStore } from '../crates-ts/store/index.js';

export const DEFAULT_STORE = './.elax-data';

export function storeUri(opt: string | undefined): string {
  return opt ?? process.env.ELAX_STORE ?? DEFAULT_STORE;
}

export async function withStore<T>(opt: string | undefined, fn: (store: ObjectStore) => Promise<T>): Promise<T> {
  const store = await openStore(storeUri(opt));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Prints rows as an aligned text table. */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const cells = rows.map((r) => columns.map((c) => (r[c] === undefined || r[c] === null ? '-' : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(line(columns));
  for (const row of cells) console.log(line(row));
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
