/**
 * Recall tuning (RFC-0008 §5): `elax recall --tune` sweeps the probe depth of a namespace's clustered parts on one
 * seeded sample, records the smallest depth meeting the target as router.vindex.probes_min (one CAS) with the
 * smallest ε0 step still meeting it at that depth as router.vindex.eps0, and queries without ef_search then probe
 * that many clusters at that ε0 (`/_debug/recall` reports probes_source 'namespace' and eps0); a query's own
 * ef_search still wins for the depth. Through the CLI function in process, through a server, and the CLI binary once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Doc, Id, Schema } from '../crates-ts/core/index.js';
import { EPS0_STEPS, Engine, meets, probeDepth, type RecallResponse } from '../crates-ts/engine/index.js';
import { DEFAULT_EPS0 } from '../crates-ts/ivf/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { runTune } from '../cli/recall/tune.js';
import { runRecall } from '../cli/recall/index.js';
import { Indexer } from '../indexer/indexer.js';
import { publishIvfPart } from './helpers/part-namespace.js';
import { startMemoryApp, type MemoryApp } from './helpers/memory-app.js';
import { ELAX_BIN, tempStoreDir } from './helpers/server.js';

const DIMS = 16;
const N = 3000;
const CENTRES = 24;
const NS = 'tune';
const SCHEMA: Schema = { id: { type: 'uint' }, vector: { type: `[${DIMS}]f32`, ann: { distance_metric: 'euclidean_squared' } } };
const SAMPLE = { num: 60, top_k: 10, seed: 7 };
const TARGET = 0.95;

/** A deterministic hash in [0, 1). */
function h(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}
/** Clustered vectors around CENTRES centres, wide enough that a centre spans several small clusters. */
function vectorOf(i: number): number[] {
  const c = i % CENTRES;
  return Array.from({ length: DIMS }, (_, d) => Math.sin(c * 1.3 + d * 0.7) * 2 + (h(i * DIMS + d) - 0.5) * 1.5);
}

let dir: string;
let store: LocalDirStore;
let app: MemoryApp;
let t = Date.UTC(2026, 11, 5);
const engineOn = () => new Engine(store, { clock: { now: () => (t += 1000) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });

async function publishIvf(ns: string, metric: 'euclidean_squared' | 'cosine_distance' = 'euclidean_squared') {
  const rows: Doc[] = Array.from({ length: N }, (_, i) => ({ id: i + 1, vector: Float32Array.from(vectorOf(i)), attrs: {} }));
  // Small clusters (≈50 rows): a query's neighbours spread over several, so the depth matters.
  await publishIvfPart(store, ns, rows, { schema: SCHEMA, metric, targetSize: 50 });
}

const routerOf = async (ns: string) => (await new RouterStore(store).read(ns))!.router;

beforeAll(async () => {
  dir = tempStoreDir('tune');
  store = new LocalDirStore(dir);
  await publishIvf(NS);
  await publishIvf('via-server');
  app = await startMemoryApp({}, store);
  await app.engine.write('flat', { distance_metric: 'euclidean_squared', upsert_rows: [{ id: 1, vector: [1, 2] }, { id: 2, vector: [2, 1] }] });
});
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('elax recall --tune', () => {
  it('should record the smallest depth meeting the target, which queries without ef_search then use', async () => {
    const before = await routerOf(NS);
    expect(before.vindex?.probes_min).toBeUndefined();
    const e = engineOn();
    // Before tuning: the depth the part's builder estimated its clusters need (ivf/probe-estimate.ts), which already
    // meets the target on this data.
    const untuned = await e.recall(NS, SAMPLE);
    expect(untuned).toMatchObject({ probes_source: 'estimate' });
    expect(untuned.avg_recall).toBeGreaterThanOrEqual(TARGET);

    const res = await runTune({ ns: NS, target: TARGET, body: SAMPLE, store: dir });
    const chosen = res.chosen!;
    expect(chosen).toBeGreaterThan(1); // the data makes depth matter
    expect(res.clusters).toBeGreaterThan(chosen);
    const depthRows = res.rows.filter((r) => r.eps0 === DEFAULT_EPS0);
    expect(depthRows.map((r) => r.probes)).toEqual([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64].filter((d) => d <= chosen));
    expect(meets(depthRows.at(-1)!, TARGET)).toBe(true);
    for (const r of depthRows.slice(0, -1)) expect(meets(r, TARGET)).toBe(false);
    // The margin is the sample's standard error: positive where recall varies between queries.
    expect(depthRows[0]!.recall_stderr).toBeGreaterThan(0);
    // Then ε0 steps at the chosen depth, in order, until one falls below the target: the last one kept is chosen.
    const epsRows = res.rows.slice(depthRows.length);
    expect(epsRows.length).toBeGreaterThan(0);
    expect(epsRows.map((r) => r.eps0)).toEqual(EPS0_STEPS.slice(0, epsRows.length));
    for (const r of epsRows) expect(r.probes).toBe(chosen);
    const kept = epsRows.filter((r) => meets(r, TARGET));
    expect(epsRows.slice(0, kept.length)).toEqual(kept);
    if (kept.length < EPS0_STEPS.length) expect(meets(epsRows.at(-1)!, TARGET)).toBe(false);
    const chosenEps0 = kept.at(-1)?.eps0 ?? DEFAULT_EPS0;
    expect(res.chosenEps0).toBe(chosenEps0);

    // Recorded in one CAS that changed nothing else.
    const after = await routerOf(NS);
    expect(after.vindex).toEqual({ ...before.vindex, probes_min: chosen, ...(chosenEps0 !== DEFAULT_EPS0 ? { eps0: chosenEps0 } : {}) });
    expect(after.epoch).toBe(before.epoch + 1);
    expect({ ...after, epoch: before.epoch, updated_at: before.updated_at, vindex: before.vindex }).toEqual(before);
    expect(res.recorded).toMatchObject({ epoch: after.epoch, previous: undefined, unchanged: false });
    expect(res.after).toMatchObject({ probes: chosen, probes_source: 'namespace', eps0: chosenEps0 });

    // Re-measured on a fresh node: the recorded depth meets the target, the one below it does not.
    const fresh = engineOn();
    const at = async (probes?: number, eps0?: number) => (await fresh.recall(NS, { ...SAMPLE, exclude_self: true, ...(probes ? { probes } : {}), ...(eps0 ? { eps0 } : {}) })) as RecallResponse;
    const atChosen = await at(chosen);
    expect(atChosen).toMatchObject({ probes: chosen, probes_source: 'query', clusters: res.clusters, eps0: chosenEps0 });
    expect(meets(atChosen, TARGET)).toBe(true);
    const below = depthRows.at(-2)!.probes;
    expect(meets(await at(below), TARGET)).toBe(false);
    // The default now is the namespace's: same depth, same recall.
    expect(await at()).toMatchObject({ probes: chosen, probes_source: 'namespace', avg_recall: atChosen.avg_recall });

    // A second tune on the same sample finds the same depth and publishes nothing.
    const again = await runTune({ ns: NS, target: TARGET, body: SAMPLE, store: dir });
    expect(again.chosen).toBe(chosen);
    expect(again.recorded).toMatchObject({ unchanged: true, epoch: after.epoch });
    // --keep-eps0 tunes the depth alone: no ε0 row, and the recorded ε0 stays.
    const depthOnly = await runTune({ ns: NS, target: TARGET, body: SAMPLE, store: dir, keepEps0: true });
    expect(depthOnly.rows.every((r) => r.eps0 === DEFAULT_EPS0)).toBe(true);
    expect(depthOnly.chosenEps0).toBeUndefined();
    expect((await routerOf(NS)).vindex).toEqual(after.vindex);
  });

  it('should compute the ground truth once per sampled vector across a sweep (truth memo), with the same results', async () => {
    const e = engineOn();
    const truth = new Map();
    const a = await e.recall(NS, { ...SAMPLE, probes: 2 }, truth);
    expect(truth.size).toBe(SAMPLE.num);
    const memo = [...truth.values()];
    const b = await e.recall(NS, { ...SAMPLE, probes: 6 }, truth);
    expect(truth.size).toBe(SAMPLE.num);
    expect([...truth.values()]).toEqual(memo);
    // The same numbers as without the memo.
    expect(a).toEqual(await e.recall(NS, { ...SAMPLE, probes: 2 }));
    expect(b).toEqual(await e.recall(NS, { ...SAMPLE, probes: 6 }));
  });

  it('should leave a sampled vector\'s own row out of both answers with exclude_self', async () => {
    const e = engineOn();
    const clusters = (await e.recall(NS, { ...SAMPLE, num: 2 })).clusters!;
    // Exact (every cluster, every code refined): still recall 1 and top_k rows without the self row.
    expect(await e.recall(NS, { ...SAMPLE, probes: clusters, eps0: 10, exclude_self: true })).toMatchObject({ avg_recall: 1, avg_ann_count: 10, avg_exhaustive_count: 10 });
    // One cluster: the self row, always found first, no longer counts, so recall falls.
    const withSelf = await e.recall(NS, { ...SAMPLE, probes: 1 });
    const without = await e.recall(NS, { ...SAMPLE, probes: 1, exclude_self: true });
    expect(without.avg_recall).toBeLessThan(withSelf.avg_recall);
    await expect(e.recall(NS, { exclude_self: 'yes' })).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringMatching(/exclude_self must be a boolean/) });
  });

  it('should search with the ε0 asked: a tiny ε0 prunes on estimates alone and loses neighbours a wide one finds', async () => {
    const e = engineOn();
    const clusters = (await e.recall(NS, { ...SAMPLE, num: 2 })).clusters!;
    // Every cluster probed, so ε0 is the only difference: at 10 nearly every probed code is refined (exact).
    const wide = await e.recall(NS, { ...SAMPLE, probes: clusters, eps0: 10 });
    const tiny = await e.recall(NS, { ...SAMPLE, probes: clusters, eps0: 0.01 });
    expect(wide).toMatchObject({ eps0: 10, probes: clusters });
    expect(tiny).toMatchObject({ eps0: 0.01, probes: clusters });
    expect(wide.avg_recall).toBe(1);
    expect(tiny.avg_recall).toBeLessThan(wide.avg_recall);
    for (const eps0 of [0, -1, 11, '1.5', Number.NaN]) {
      await expect(e.recall(NS, { eps0 })).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringMatching(/eps0 must be a number in \(0, 10\]/) });
    }
    await expect(e.recall('flat', { eps0: 1 })).rejects.toMatchObject({ code: 'ELAX_ERR_NO_CLUSTERED_INDEX', message: expect.stringMatching(/eps0 applies only to them/) });
  });

  it("should let a query's ef_search override the namespace's depth, and the schema's ef_search too", async () => {
    // A deliberately shallow recorded depth: default queries miss neighbours, ef_search 10000 (every cluster) does not.
    const e = engineOn();
    const r = await routerOf(NS);
    expect((await e.recordProbesMin(NS, 1, r)).unchanged).toBe(false);
    const view = await e.catalog.require(NS, 'strong');
    // The ε0 recorded by the first test (if any) applies whatever the depth's source.
    const eps0 = r.vindex!.eps0 === undefined ? {} : { eps0: r.vindex!.eps0 };
    expect(probeDepth(view, { efSearch: null, filter: null }, 128)).toEqual({ probes: 1, source: 'namespace', ...eps0 });
    expect(probeDepth(view, { efSearch: 16, filter: null }, 128)).toEqual({ probes: 1, source: 'query', ...eps0 });
    expect(probeDepth(view, { efSearch: 1024, filter: null }, 128)).toEqual({ probes: 64, source: 'query', ...eps0 });
    expect(probeDepth(view, { efSearch: null, filter: null }, 128, undefined, 1.1)).toEqual({ probes: 1, source: 'namespace', eps0: 1.1 });
    // The tune measures unfiltered queries: a filtered one probes at least the server default (8 at ef 128).
    expect(probeDepth(view, { efSearch: null, filter: () => true }, 128)).toEqual({ probes: 8, source: 'namespace', ...eps0 });
    let missed = 0;
    for (let i = 0; i < 12; i++) {
      const q = vectorOf(50_000 + i);
      const knn = (await e.query(NS, { rank_by: ['vector', 'kNN', q], top_k: 10 })) as { rows: { id: Id }[] };
      const dflt = (await e.query(NS, { rank_by: ['vector', 'ANN', q], top_k: 10 })) as { rows: { id: Id }[] };
      const wide = (await e.query(NS, { rank_by: ['vector', 'ANN', q], top_k: 10, ef_search: 10_000 })) as { rows: { id: Id }[] };
      expect(wide.rows.map((x) => x.id)).toEqual(knn.rows.map((x) => x.id));
      const truth = new Set(knn.rows.map((x) => x.id));
      missed += dflt.rows.filter((x) => !truth.has(x.id)).length;
    }
    expect(missed).toBeGreaterThan(0);
    expect(await e.recall(NS, SAMPLE)).toMatchObject({ probes: 1, probes_source: 'namespace' });
    // The schema's vector.ann.ef_search is the namespace's deliberate beam width: it comes before the tuned depth.
    await e.updateSchema(NS, { vector: { type: `[${DIMS}]f32`, ann: { ef_search: 256 } } });
    expect(await e.recall(NS, SAMPLE)).toMatchObject({ probes: 16, probes_source: 'schema' });
  });

  it('should sweep through a server and record in the store, and keep probes_min when the codebook moves', async () => {
    const res = await runTune({ ns: 'via-server', target: 0.9, body: { ...SAMPLE, seed: 11 }, url: app.url, recordStore: dir });
    expect(res.chosen).not.toBeNull();
    expect((await routerOf('via-server')).vindex?.probes_min).toBe(res.chosen);
    expect(res.after).toMatchObject({ probes: res.chosen, probes_source: 'namespace' });
    // A dry run measures and records nothing.
    const dry = await runTune({ ns: 'via-server', target: 1, body: { ...SAMPLE, seed: 11 }, url: app.url, dryRun: true });
    expect(dry.recorded).toBeUndefined();
    expect((await routerOf('via-server')).vindex?.probes_min).toBe(res.chosen);
    // The indexer extends the codebook (300 rows in one spot: its cluster splits): the recorded depth stays.
    const was = await routerOf('via-server');
    await app.engine.write('via-server', { upsert_rows: Array.from({ length: 300 }, (_, i) => ({ id: 10_000 + i, vector: vectorOf(5).map((x, d) => x + h(i * 7 + d) * 0.01) })) });
    const ix = new Indexer(store, { clock: { now: () => (t += 1000) }, nonce: () => 'grow', vectorIndex: { kind: 'ivf', minRows: 40, targetSize: 50, minSize: 25, maxSize: 100 } });
    expect(await ix.indexNamespace('via-server', true)).toMatchObject({ result: 'published' });
    const grown = await routerOf('via-server');
    expect(grown.vindex!.version).toBeGreaterThan(was.vindex!.version);
    expect(grown.vindex!.probes_min).toBe(res.chosen);
    // Measuring through a server without a store to record in is refused before measuring.
    await expect(runTune({ ns: 'via-server', target: 0.9, body: SAMPLE, url: app.url })).rejects.toThrow(/give --store URI \(or ELAX_STORE\), or --dry-run/);
  });

  it('should refuse a target outside (0, 1], probes on a namespace without clustered parts, and bad probes', async () => {
    for (const target of [0, 1.5, -1, Number.NaN]) {
      await expect(runTune({ ns: NS, target, body: SAMPLE, store: dir })).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringMatching(/target must be a number in \(0, 1\]/) });
    }
    const e = engineOn();
    await expect(e.recall('flat', { probes: 2 })).rejects.toMatchObject({ code: 'ELAX_ERR_NO_CLUSTERED_INDEX', message: expect.stringMatching(/'flat' has no clustered \(IVF, format-3\) parts/) });
    await expect(runTune({ ns: 'flat', target: 0.9, body: SAMPLE, store: dir })).rejects.toMatchObject({ code: 'ELAX_ERR_NO_CLUSTERED_INDEX' });
    // Without clustered parts the report has no probe depth.
    expect(Object.keys(await e.recall('flat', { num: 2, top_k: 1 })).sort()).toEqual(['avg_ann_count', 'avg_exhaustive_count', 'avg_recall', 'recall_stderr']);
    for (const probes of [0, 1.5, '3', -2]) {
      await expect(e.recall(NS, { probes })).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringMatching(/probes must be an integer in 1\.\./) });
    }
    await expect(e.recall(NS, { seed: -1 })).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringMatching(/seed must be an integer/) });
    const http = await fetch(`${app.url}/v1/namespaces/flat/_debug/recall`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ probes: 4 }) });
    expect(http.status).toBe(400);
    expect(await http.json()).toMatchObject({ code: 'ELAX_ERR_NO_CLUSTERED_INDEX' });
  });

  it('should print the sweep table and the choice from the CLI, show probes_min in router show; measure at a given depth', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [ELAX_BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      });
    const [ok, shown] = await Promise.all([
      run(['recall', '--ns', 'via-server', '--tune', '--target', '0.9', '--dry-run', '--store', dir, '--num', '60', '--seed', '11']),
      run(['router', 'show', '--ns', 'via-server', '--store', dir]),
    ]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^probes_min\\s+${(await routerOf('via-server')).vindex!.probes_min}$`, 'm'));
    expect(shown.stdout).toMatch(/^codebook\s+codebook-0000000002-grow\.cb \(version 2\)$/m);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.split('\n')[0]).toMatch(/^probes\s+eps0\s+avg_recall\s+stderr\s+avg_ann_count$/);
    expect(ok.stdout).toMatch(/^1\s+1\.9\s+0\.\d{4}\s+0\.\d{4}\s+10$/m);
    expect(ok.stdout).toMatch(/^chosen: eps0 = [\d.]+ /m);
    expect(shown.stdout).toMatch(/^eps0\s+/m);
    expect(ok.stdout).toMatch(/chosen: probes_min = \d+ \(the smallest depth whose recall less one standard error is at or above 0\.9\)/);
    expect(ok.stdout).toMatch(/dry run: not recorded/);
    // `elax recall --probes N` (runRecall): one measurement at that depth, reported with its source.
    const [row] = await runRecall({ ns: 'via-server', store: dir, body: { num: 5, top_k: 10, probes: 2 } });
    expect(row).toMatchObject({ namespace: 'via-server', avg_ann_count: 10, probes: 2, probes_source: 'query' });
    const [dflt] = await runRecall({ ns: 'via-server', store: dir, body: { num: 5, top_k: 10 } });
    expect(dflt).toMatchObject({ probes: (await routerOf('via-server')).vindex!.probes_min, probes_source: 'namespace' });
  }, 60_000);
});
