/** Fixtures for the ingest tests (test/60-ingest, test/61-ingest-faults); not part of the ingest API. */
import { expect } from 'vitest';
import { openStore } from '../../crates-ts/store/index.js';
import { WalLog } from '../../crates-ts/wal/index.js';
import { rng } from '../../bench/lib.js';

export interface TestRow {
  id: number;
  vector: number[];
  title: string;
  category: string;
  year: number;
  score: number;
  tags: string[];
}

/** Deterministic rows; vector elements are f32-exact so they round-trip through the server unchanged. */
export function makeRows(n: number, dims: number, seed: number, firstId = 0): TestRow[] {
  const r = rng(seed);
  const cats = ['news', 'sports', 'tech', 'arts'];
  return Array.from({ length: n }, (_, i) => ({
    id: firstId + i,
    vector: Array.from({ length: dims }, () => Math.fround(r() * 2 - 1)),
    title: `document ${firstId + i} ${'x'.repeat(Math.floor(r() * 40))}`,
    category: cats[i % cats.length]!,
    year: 1990 + Math.floor(r() * 35),
    score: Math.round(r() * 10_000) / 100,
    tags: ['t' + (i % 5), 't' + (i % 7)],
  }));
}

export function toNdjson(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** Every document of `ns` in id order, with `attrs` (and the vector). */
export async function readAllDocs(url: string, ns: string, attrs: string[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let last = -1;
  for (;;) {
    const res = await fetch(`${url}/v2/namespaces/${ns}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ top_k: 1200, filters: ['id', 'Gt', last], include_attributes: ['vector', ...attrs] }),
    });
    if (!res.ok) throw new Error(`query failed: ${res.status} ${await res.text()}`);
    const rows = ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
    out.push(...rows);
    if (rows.length < 1200) return out;
    last = rows.at(-1)!.id as number;
  }
}

/** Asserts the namespace holds exactly `rows` (ids, vectors, attributes). */
export async function expectNamespaceHolds(url: string, ns: string, rows: readonly TestRow[]): Promise<void> {
  const docs = await readAllDocs(url, ns, ['title', 'category', 'year', 'score', 'tags']);
  expect(docs.length).toBe(rows.length);
  const want = [...rows].sort((a, b) => a.id - b.id);
  for (let i = 0; i < want.length; i++) {
    const d = docs[i]!;
    const w = want[i]!;
    expect(d.id).toBe(w.id);
    expect((d.vector as number[]).map(Math.fround)).toEqual(w.vector);
    expect({ title: d.title, category: d.category, year: d.year, score: d.score, tags: d.tags }).toEqual({
      title: w.title, category: w.category, year: w.year, score: w.score, tags: w.tags,
    });
  }
}

/** idempotency key → number of WAL entries carrying it (plus entry and key totals). */
export async function walKeys(storeDir: string, ns: string): Promise<{ entries: number; keys: Map<string, number> }> {
  const store = await openStore(`file://${storeDir}`);
  try {
    const log = new WalLog(store, ns);
    const keys = new Map<string, number>();
    const objs = await log.listAfter(0);
    for (const o of objs) {
      const e = await log.read(o.seq);
      for (const k of e?.meta.idempotency_keys ?? []) keys.set(k, (keys.get(k) ?? 0) + 1);
    }
    return { entries: objs.length, keys };
  } finally {
    await store.close();
  }
}
