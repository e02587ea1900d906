/**
 * Randomized model test of branches and copies (docs/rfcs/0011-copy-and-branch.md): random writes, indexing,
 * compaction, branches (of branches), copies, namespace deletions and GC passes past the grace, over a memory store
 * with a test clock. After every step each live namespace must hold exactly what the model says; at the end GC has
 * removed every part no live namespace references.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { gcNamespace } from '../indexer/gc.js';
import { seededRandom } from '../crates-ts/ivf/index.js';

const GRACE = 15 * 60_000;

async function run(seed: number, steps: number) {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let t = Date.UTC(2026, 0, 1);
  const clock = { now: () => t };
  const store = new MemoryStore({ clock });
  const e = new Engine(store, { clock, sleep: () => Promise.resolve(), random: rnd, groupCommitMs: 0 });
  let n = 0;
  const ix = new Indexer(store, { clock, nonce: () => `m${n++}`, hnsw: { flatThreshold: 4 } });
  const model = new Map<string, Map<number, number>>();
  const everNamed = new Set<string>();
  let fresh = 0;
  const log: string[] = [];
  const check = async () => {
    for (const [ns, docs] of model) {
      const res = await e.query(ns, { rank_by: ['id', 'asc'], top_k: 10_000, include_attributes: ['v'] });
      const got = new Map((res.rows ?? []).map((r) => [r.id as number, r.v as number]));
      expect(got, `${ns} after ${log.join(' ')}`).toEqual(new Map([...docs].sort((a, b) => a[0] - b[0])));
    }
  };
  for (let step = 0; step < steps; step++) {
    const live = [...model.keys()];
    const r = rnd();
    if (live.length === 0 || r < 0.35) {
      const ns = live.length === 0 || rnd() < 0.2 ? `w${fresh++}` : pick(live);
      everNamed.add(ns);
      const docs = model.get(ns) ?? new Map<number, number>();
      const ups = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => ({ id: Math.floor(rnd() * 30), v: step * 100 + Math.floor(rnd() * 100) }));
      const uniq = [...new Map(ups.map((u) => [u.id, u])).values()];
      const dels = docs.size > 0 && rnd() < 0.5 ? [pick([...docs.keys()])].filter((id) => !uniq.some((u) => u.id === id)) : [];
      await e.write(ns, { upsert_rows: uniq, ...(dels.length ? { deletes: dels } : {}) });
      for (const u of uniq) docs.set(u.id, u.v);
      for (const d of dels) docs.delete(d);
      model.set(ns, docs);
      log.push(`w:${ns}`);
    } else if (r < 0.5) {
      const ns = pick(live);
      await ix.indexNamespace(ns, true);
      log.push(`i:${ns}`);
    } else if (r < 0.58) {
      const ns = pick(live);
      const out = await compactNamespace(store, ns, { clock, nonce: () => `c${n++}`, force: true, hnsw: { flatThreshold: 4 } });
      log.push(`c:${ns}:${out.result}`);
    } else if (r < 0.72) {
      const src = pick(live);
      const dest = `b${fresh++}`;
      const mode = rnd() < 0.7 ? 'branch_from_namespace' : 'copy_from_namespace';
      await e.write(dest, { [mode]: src });
      model.set(dest, new Map(model.get(src)!));
      everNamed.add(dest);
      log.push(`${mode[0]}:${src}>${dest}`);
    } else if (r < 0.82) {
      const ns = pick(live);
      await e.deleteNamespace(ns);
      model.delete(ns);
      log.push(`d:${ns}`);
    } else {
      t += GRACE + 60_000;
      for (const ns of everNamed) await gcNamespace(store, ns, { clock, partGraceMs: GRACE, walRetentionMs: 0 });
      log.push('gc');
    }
    t += 1000;
    await check();
  }
  // Two GC passes past the grace: every part folder left holds a part some live router references.
  for (let pass = 0; pass < 2; pass++) {
    t += GRACE + 60_000;
    for (const ns of everNamed) await gcNamespace(store, ns, { clock, partGraceMs: GRACE, walRetentionMs: 0 });
  }
  const routers = new RouterStore(store);
  const needed = new Set<string>();
  for (const ns of everNamed) {
    const rr = await routers.read(ns);
    for (const p of rr?.router.parts ?? []) needed.add(`${p.home ?? ns}/parts/${p.id}/manifest.json`);
  }
  const manifests = (await store.list('')).objects.map((o) => o.key).filter((k) => k.endsWith('/manifest.json'));
  expect(new Set(manifests)).toEqual(needed);
  await check();
  return log;
}

describe('branches and copies against a model', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`should keep every namespace equal to the model and GC exactly what no one references (seed ${seed})`, async () => {
      const log = await run(seed, 70);
      expect(log.some((l) => l.startsWith('b:'))).toBe(true);
    });
  }
});
