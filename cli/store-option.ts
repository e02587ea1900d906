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

/** The server a client command talks to: --url, else ELAX_URL, else the default `elax serve` address. */
export function serverUrl(opt: string | undefined): string {
  return (opt ?? process.env.ELAX_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
}

/** JSON request to an elax server with the API key (--api-key or ELAX_API_KEY); a non-2xx answer throws its message. */
export async function callServer<T>(url: string, path: string, opts: { apiKey?: string; method?: string; body?: unknown } = {}): Promise<T> {
  const key = opts.apiKey ?? process.env.ELAX_API_KEY;
  const res = await fetch(`${url}${path}`, {
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    headers: { ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }), ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    const msg = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? String((parsed as { error: unknown }).error) : text.slice(0, 300);
    const err = new Error(`${opts.method ?? (opts.body === undefined ? 'GET' : 'POST')} ${path}: ${res.status} ${msg}`) as Error & { status: number };
    err.status = res.status;
    throw err;
  }
  return parsed as T;
}
