/**
 * `elax recall --ns NS | --all`: ANN recall against exhaustive kNN per namespace, through a server's
 * `/_debug/recall` (`--url`) or the same evaluation in process against the store (`--store`). Prints a table (or
 * JSON) and exits 3 when any namespace is below `--min-recall`, so cron and CI can run it.
 */
import type { Command } from 'commander';
import { ElaxError, isElaxError, systemClock } from '../../crates-ts/core/index.js';
import { Engine, listNamespaces } from '../../crates-ts/engine/index.js';
import { callServer, printJson, printTable, serverUrl, withStore } from '../store-option.js';

/** Exit code when a namespace is below --min-recall (1 is taken by errors). */
export const EXIT_BELOW_MIN_RECALL = 3;

export interface RecallRow {
  namespace: string;
  avg_recall: number | null;
  avg_ann_count: number | null;
  avg_exhaustive_count: number | null;
  latency_ms: number;
  /** Why the namespace was not evaluated (e.g. it has no vectors). */
  skipped?: string;
  below_min?: boolean;
}

interface RecallBody {
  num: number;
  top_k: number;
  filters?: unknown;
}

type Evaluate = (ns: string, body: RecallBody) => Promise<{ avg_recall: number; avg_ann_count: number; avg_exhaustive_count: number }>;

async function evaluateAll(names: string[], body: RecallBody, evaluate: Evaluate, minRecall: number | undefined): Promise<RecallRow[]> {
  const rows: RecallRow[] = [];
  for (const ns of names) {
    const t0 = performance.now();
    try {
      const r = await evaluate(ns, body);
      const row: RecallRow = { namespace: ns, ...r, latency_ms: Math.round(performance.now() - t0) };
      if (minRecall !== undefined) row.below_min = r.avg_recall < minRecall;
      rows.push(row);
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
      return evaluateAll(names, o.body, async (ns, body) => (await engine.recall(ns, body)) as Awaited<ReturnType<Evaluate>>, o.minRecall);
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
    .option('--store <uri>', 'evaluate in process, straight from the store, instead of through a server')
    .option('--api-key <key>', 'API key (env ELAX_API_KEY)')
    .option('--num <n>', 'query vectors sampled from the namespace', '25')
    .option('--top-k <k>', 'neighbours compared per query', '10')
    .option('--filters <json>', 'filters applied to both the ANN and the exhaustive search, e.g. \'["kind","Eq","a"]\'')
    .option('--min-recall <x>', 'exit 3 when any namespace averages below this (0..1)')
    .option('--json', 'machine-readable output')
    .action(async (o: { ns?: string; all?: boolean; url?: string; store?: string; apiKey?: string; num: string; topK: string; filters?: string; minRecall?: string; json?: boolean }) => {
      const body: RecallBody = { num: Number(o.num), top_k: Number(o.topK) };
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
          ['namespace', 'avg_recall', 'avg_ann_count', 'avg_exhaustive_count', 'latency_ms', ...(minRecall !== undefined ? ['below_min'] : [])],
        );
      }
      const below = rows.filter((r) => r.below_min);
      if (below.length > 0) {
        console.error(`recall below ${minRecall}: ${below.map((r) => `${r.namespace} (${r.avg_recall?.toFixed(4)})`).join(', ')}`);
        process.exitCode = EXIT_BELOW_MIN_RECALL;
      }
    });
}
