/**
 * Peak memory of loading one HNSW graph into a fresh process (docs/benchmarks.md "Storage engine v2"): the part's
 * graph is loaded through PartData.prepare({index}) — the path a cold ANN query takes — with no disk cache, with an
 * empty disk cache (download, then load) and with the graph already in the disk cache (a restarted node).
 *
 *   node bin/run-ts.mjs bench/graph-load.ts [--from /tmp/elax-bench-v2-1000000-128] [--part PART_ID]
 *
 * The part's head, ids and graph are copied from --from into a temporary store (the source is never written); each
 * scenario runs in a child process of its own, so peaks (VmHWM) do not mix. Prints one JSON line per scenario:
 * RSS before the load, peak during it, RSS after, and the load's wall time.
 */
import { parseArgs } from 'node:util';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { PartData, PartFileCache, readManifest, type PartHeadV2 } from '../crates-ts/part/index.js';
import { BlockCache } from '../crates-ts/cache/index.js';
import { processMemory } from './lib.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: path.join(tmpdir(), 'elax-bench-v2-1000000-128') },
    part: { type: 'string' },
    ns: { type: 'string', default: 'bench' },
    child: { type: 'string' },
    store: { type: 'string' },
    cache: { type: 'string' },
  },
});
const NS = values.ns!;
const repo = path.resolve(import.meta.dirname, '..');

async function child(mode: string): Promise<void> {
  const store = new LocalDirStore(values.store!);
  const head = (await readManifest(store, NS, values.part!)) as PartHeadV2;
  const files = mode === 'no-disk-cache' ? undefined : new PartFileCache(values.cache!, 8 * 1024 ** 3);
  await files?.open();
  const graphs = new BlockCache(8 * 1024 ** 3);
  const data = new PartData(head, store, files, new BlockCache(256 * 1024 ** 2), { graphs });
  const before = processMemory(process.pid);
  const t0 = performance.now();
  const release = await data.prepare({ attrs: [], vectors: false, index: true });
  const ms = Math.round(performance.now() - t0);
  release();
  const after = processMemory(process.pid);
  const graphMib = +(head.files.find((f) => f.name === 'vectors.hnsw')!.bytes / 2 ** 20).toFixed(1);
  console.log(JSON.stringify({ mode, graph_mib: graphMib, rss_before_mib: before.rss_mib, peak_rss_mib: after.peak_rss_mib, peak_over_before_mib: after.peak_rss_mib - before.rss_mib, rss_after_mib: after.rss_mib, load_ms: ms, disk_cache: files?.stats ?? null }));
  await files?.close();
}

function main(): void {
  const src = path.join(values.from!, NS, 'parts');
  const graphBytes = (p: string) => statSync(path.join(src, p, 'vectors.hnsw'), { throwIfNoEntry: false })?.size ?? 0;
  const part = values.part ?? readdirSync(src).sort((a, b) => graphBytes(b) - graphBytes(a))[0]!; // the largest graph
  const work = mkdtempSync(path.join(tmpdir(), 'elax-graph-load-'));
  try {
    const storeDir = path.join(work, 'store');
    const dst = path.join(storeDir, NS, 'parts', part);
    mkdirSync(dst, { recursive: true });
    for (const f of ['manifest.json', 'ids.blk', 'vectors.hnsw']) copyFileSync(path.join(src, part, f), path.join(dst, f));
    const cache = path.join(work, 'cache');
    // no disk cache; empty disk cache (download + load); the graph already on disk (a restarted node).
    for (const mode of ['no-disk-cache', 'empty-disk-cache', 'graph-on-disk']) {
      const out = execFileSync(process.execPath, [...process.execArgv, path.join(repo, 'bin/run-ts.mjs'), process.argv[1]!, '--child', mode, '--store', storeDir, '--cache', cache, '--part', part, '--ns', NS], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      process.stdout.write(out);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (values.child) await child(values.child);
else main();
