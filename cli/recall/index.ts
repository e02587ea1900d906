/**
 * `elax recall --ns NS | --all`: ANN recall against exhaustive kNN per namespace, through a server's
 * `/_debug/recall` (`--url`) or the same evaluation in process against the store (`--store`). Prints a table (or
 * JSON) and exits 3 when any namespace is below `--min-recall`, so cron and CI can run it. Namespaces with clustered
 * (IVF) parts also report the probe depth used and where it came from; `--probes N` measures at depth N, and
 * `--tune --target X` finds and records the namespace's depth (tune.ts, RFC-0008 §5).
 */
import type { Command } from 'commander';
import { ElaxError, isElaxError, systemClock } from '../../crates-ts/core/index.js';
import { Engine, listNamespaces, type RecallReport } from '../../crates-ts/engine/index.js';
import { describeTune, runTune } from './tune.js';
import { callServer, printJson, printTable, serverUrl, withStore } from '../store-option.js';

/** Exit code when a namespace is below --min-recall (1 is taken by errors). */
export const EXIT_BELOW_MIN_RECALL = 3;

export interface RecallRow {
  namespace: string;
  /** The vector column measured: `vector`, or another one with ANN (RFC-0014; /_debug/recall's `columns`). */
  attribute?: string;
  avg_recall: number | null;
  avg_ann_count: number | null;
  avg_exhaustive_count: number | null;
  /** Clustered parts only: the probe depth the ANN queries used, and where it came from (query, schema, namespace, default). */
  probes?: number;
  probes_source?: string;
  latency_ms: number;
  /** Why the namespace was not evaluated (e.g. it has no vectors). */
  skipped?: string;
  below_min?: boolean;
}

interface RecallBody {
  num: number;
  top_k: number;
  filters?: unknown;
  probes?: number;
  seed?: number;
}

type Evaluate = (ns: string, body: RecallBody) => Promise<RecallReport>;

async function evaluateAll(names: string[], body: RecallBody, evaluate: Evaluate, minRecall: number | undefined): Promise<RecallRow[]> {
  const rows: RecallRow[] = [];
  for (const ns of names) {
    const t0 = performance.now();
    try {
      const r = await evaluate(ns, body);
      const row: RecallRow = {
        namespace: ns,
        avg_recall: r.avg_recall,
        avg_ann_count: r.avg_ann_count,
        avg_exhaustive_count: r.avg_exhaustive_count,
        ...(r.probes !== undefined ? { probes: r.probes, probes_source: r.probes_source } : {}),
        latency_ms: Math.round(performance.now() - t0),
      };
      if (minRecall !== undefined) row.below_min = r.avg_recall < minRecall;
      const columns = Object.entries(r.columns ?? {});
      // Other vector columns (RFC-0014): one row per column the server measured (`vector` included), not the top level.
      if (columns.length === 0) rows.push(row);
      for (const [attribute, c] of columns) {
        const col: RecallRow = { ...(attribute === 'vector' ? row : { namespace: ns, latency_ms: row.latency_ms }), attribute, avg_recall: c.avg_recall, avg_ann_count: c.avg_ann_count, avg_exhaustive_count: c.avg_exhaustive_count };
        if (minRecall !== undefined) col.below_min = c.avg_recall < minRecall;
        rows.push(col);
      }
    } catch (e) {
      const msg = (e as Error).message;
      // A namespace without vectors has nothing to evaluate: note it, do not fail the run.
      if (/has no vectors/.test(msg)) rows.push({ namespace: ns, avg_recall: null, avg_ann_count: null, avg_exhaustive_count: null, latency_ms: 0, skipped: 'no vectors' });
      else throw e;
    }
  }
  return rows;
}

export async function runRecall(o: { ns?: string; all?: boolean; url?: string; store?: string; apiKey?: string; body: RecallBody; minRecall?: number }): Promise<RecallRow[]> {
  if (!o.ns === !o.all) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', 'give exactly one of --ns NS or --all');
  if (o.store !== undefined) {
    return withStore(o.store, async (store) => {
      const engine = new Engine(store, { clock: systemClock, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random });
      const names = o.ns ? [o.ns] : await allNames((cursor) => listNamespaces(engine.catalog, { cursor, pageSize: 1000 }));
      return evaluateAll(names, o.body, async (ns, body) => await engine.recall(ns, body), o.minRecall);
    });
  }
  const url = serverUrl(o.url);
  const names = o.ns
    ? [o.ns]
    : await allNames((cursor) => callServer(url, `/v1/namespaces?page_size=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { apiKey: o.apiKey }));
  return evaluateAll(names, o.body, (ns, body) => callServer(url, `/v1/namespaces/${encodeURIComponent(ns)}/_debug/recall`, { apiKey: o.apiKey, body }), o.minRecall);
}

async function allNames(page: (cursor?: string) => Promise<{ namespaces: { id: string }[]; next_cursor?: string }>): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const p = await page(cursor);
    out.push(...p.namespaces.map((n) => n.id));
    if (!p.next_cursor) return out;
    cursor = p.next_cursor;
  }
}

export function registerRecallCommands(program: Command): void {
  program
    .command('recall')
    .description('ANN recall@k against exhaustive search per namespace; exits 3 below --min-recall (for cron / CI)')
    .option('--ns <namespace>', 'one namespace')
    .option('--all', 'every namespace (those without vectors are listed as skipped)')
    .option('--url <url>', 'server (env ELAX_URL; default http://127.0.0.1:3000)')
    .option('--store <uri>', 'evaluate in process, straight from the store, instead of through a server (--tune records there; through a server it records in ELAX_STORE)')
    .option('--api-key <key>', 'API key (env ELAX_API_KEY)')
    .option('--num <n>', 'query vectors sampled from the namespace (default 25; 100 with --tune)')
    .option('--top-k <k>', 'neighbours compared per query', '10')
    .option('--filters <json>', 'filters applied to both the ANN and the exhaustive search, e.g. \'["kind","Eq","a"]\'')
    .option('--min-recall <x>', 'exit 3 when any namespace averages below this (0..1)')
    .option('--probes <n>', 'measure the clustered (IVF) parts at this probe depth instead of the namespace\'s')
    .option('--seed <n>', 'sample the query vectors with this seed (reproducible samples)')
    .option('--tune', 'sweep the probe depth and record the smallest meeting --target as the namespace\'s probes_min (--ns only)')
    .option('--target <x>', 'recall target of --tune, in (0, 1]', '0.95')
    .option('--dry-run', 'with --tune: measure and choose, record nothing')
    .option('--keep-eps0', 'with --tune: tune the probe depth only, leave the namespace\'s eps0 as it is')
    .option('--json', 'machine-readable output')
    .action(async (o: RecallCliOptions) => {
      const int = (flag: string, v: string | undefined): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `${flag} must be a non-negative integer, got ${v}`);
        return n;
      };
      if (o.tune) return tuneAction(o, int('--num', o.num) ?? 100, int('--seed', o.seed));
      const body: RecallBody = { num: int('--num', o.num) ?? 25, top_k: Number(o.topK) };
      const probes = int('--probes', o.probes);
      if (probes !== undefined) body.probes = probes;
      const seed = int('--seed', o.seed);
      if (seed !== undefined) body.seed = seed;
      if (o.filters !== undefined) {
        try {
          body.filters = JSON.parse(o.filters);
        } catch {
          throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `--filters must be JSON, got ${o.filters}`);
        }
      }
      const minRecall = o.minRecall === undefined ? undefined : Number(o.minRecall);
      if (minRecall !== undefined && !(minRecall >= 0)) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `--min-recall must be a number >= 0, got ${o.minRecall}`);
      let rows: RecallRow[];
      try {
        rows = await runRecall({ ...o, body, minRecall });
      } catch (e) {
        if (isElaxError(e)) throw e;
        throw new ElaxError('ELAX_ERR_INVALID_REQUEST', (e as Error).message);
      }
      if (o.json) printJson(rows);
      else if (rows.length === 0) console.log('no namespaces');
      else {
        printTable(
          rows.map((r) => ({ ...r, avg_recall: r.avg_recall === null ? `skipped (${r.skipped})` : r.avg_recall.toFixed(4), below_min: r.below_min ? 'BELOW' : '' })) as unknown as Record<string, unknown>[],
          ['namespace', ...(rows.some((r) => r.attribute !== undefined) ? ['attribute'] : []), 'avg_recall', 'avg_ann_count', 'avg_exhaustive_count', ...(rows.some((r) => r.probes !== undefined) ? ['probes', 'probes_source'] : []), 'latency_ms', ...(minRecall !== undefined ? ['below_min'] : [])],
        );
      }
      const below = rows.filter((r) => r.below_min);
      if (below.length > 0) {
        console.error(`recall below ${minRecall}: ${below.map((r) => `${r.namespace}${r.attribute !== undefined ? ` ${r.attribute}` : ''} (${r.avg_recall?.toFixed(4)})`).join(', ')}`);
        process.exitCode = EXIT_BELOW_MIN_RECALL;
      }
    });
}

interface RecallCliOptions {
  ns?: string;
  all?: boolean;
  url?: string;
  store?: string;
  apiKey?: string;
  num?: string;
  topK: string;
  filters?: string;
  minRecall?: string;
  probes?: string;
  seed?: string;
  tune?: boolean;
  target: string;
  dryRun?: boolean;
  keepEps0?: boolean;
  json?: boolean;
}

/** `--tune`: one namespace, a seeded sample, the sweep table and the choice; exit 3 when no depth meets the target. */
async function tuneAction(o: RecallCliOptions, num: number, seed: number | undefined): Promise<void> {
  if (!o.ns || o.all) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', '--tune tunes one namespace: give --ns NS (not --all)');
  if (o.probes !== undefined || o.minRecall !== undefined) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', '--tune chooses the probe depth itself: drop --probes / --min-recall (use --target)');
  const body = { num, top_k: Number(o.topK), seed: seed ?? Math.floor(Math.random() * 0xffffffff) };
  if (o.filters !== undefined) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', '--tune measures unfiltered queries: drop --filters');
  let result;
  try {
    result = await runTune({ ns: o.ns, target: Number(o.target), body, store: o.store, url: o.url, apiKey: o.apiKey, recordStore: process.env.ELAX_STORE, dryRun: o.dryRun, keepEps0: o.keepEps0 });
  } catch (e) {
    if (isElaxError(e)) throw e;
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', (e as Error).message);
  }
  if (o.json) printJson(result);
  else for (const line of describeTune(result)) console.log(line);
  if (result.chosen === null) process.exitCode = EXIT_BELOW_MIN_RECALL;
}
