/**
 * `elax export --ns NS`: every row of a namespace, ordered by id, as NDJSON or Parquet (the row format
 * `elax writes ingest` reads back), from a server (`--url`) or straight from the store (`--store`).
 * Consistent as of one router epoch: see read.ts for how each source guarantees it.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ElaxError } from '../../crates-ts/core/index.js';
import { MAX_TOP_K } from '../../crates-ts/query/index.js';
import { printJson, serverUrl } from '../store-option.js';
import { readFromServer, readFromStore, type NamespaceRows } from './read.js';
import { rowsToParquet } from './parquet.js';

export { readFromServer, readFromStore, docToRow, type Row, type NamespaceRows } from './read.js';

export interface ExportOptions {
  ns: string;
  url?: string;
  store?: string;
  apiKey?: string;
  format: 'ndjson' | 'parquet';
  /** A path, or '-' for stdout (NDJSON only). */
  out: string;
  pageSize?: number;
}

export interface ExportSummary {
  ns: string;
  rows: number;
  format: string;
  out: string;
  consistent: boolean;
  passes: number;
  duration_ms: number;
}

/** Read the namespace (store or server) and write it out; returns what was written. */
export async function runExport(o: ExportOptions): Promise<ExportSummary> {
  const started = Date.now();
  const data: NamespaceRows = o.store !== undefined ? await readFromStore(o.store, o.ns) : await readFromServer(serverUrl(o.url), o.ns, { apiKey: o.apiKey, pageSize: o.pageSize });
  if (o.format === 'parquet') {
    if (o.out === '-') throw new ElaxError('ELAX_ERR_INVALID_REQUEST', '--format parquet needs --out FILE (Parquet is not streamed to stdout)');
    writeFileSync(o.out, rowsToParquet(data.rows, data.schema));
  } else {
    const stream = o.out === '-' ? process.stdout : createWriteStream(o.out);
    for (const r of data.rows) {
      if (!stream.write(`${JSON.stringify(r)}\n`)) await new Promise<void>((res) => stream.once('drain', () => res()));
    }
    if (stream !== process.stdout) await new Promise<void>((res) => (stream as ReturnType<typeof createWriteStream>).end(() => res()));
  }
  return { ns: o.ns, rows: data.rows.length, format: o.format, out: o.out, consistent: data.consistent, passes: data.passes, duration_ms: Date.now() - started };
}

export function registerExportCommands(program: Command): void {
  program
    .command('export')
    .description('write every row of a namespace, ordered by id, as NDJSON or Parquet (consistent as of one router epoch)')
    .requiredOption('--ns <namespace>', 'namespace')
    .option('--url <url>', 'read from this server (env ELAX_URL; default http://127.0.0.1:3000)')
    .option('--store <uri>', 'read the store directly instead of a server (exact snapshot)')
    .option('--api-key <key>', 'API key (env ELAX_API_KEY)')
    .addOption(new Option('--format <format>', 'output format').choices(['ndjson', 'parquet']).default('ndjson'))
    .option('--out <file>', 'output file, or - for stdout (NDJSON only)', '-')
    .option('--page-size <n>', 'rows per query when reading from a server (max 10000)', '1000')
    .option('--json', 'print the summary as JSON (on stderr when the rows go to stdout)')
    .action(async (o: { ns: string; url?: string; store?: string; apiKey?: string; format: 'ndjson' | 'parquet'; out: string; pageSize: string; json?: boolean }) => {
      const pageSize = Number(o.pageSize);
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_TOP_K) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `--page-size must be 1..${MAX_TOP_K}, got ${o.pageSize}`);
      const s = await runExport({ ns: o.ns, url: o.url, store: o.store, apiKey: o.apiKey, format: o.format, out: o.out, pageSize });
      const toStderr = o.out === '-';
      const line = o.json ? JSON.stringify(s) : `exported ${s.rows} rows of ${s.ns} to ${s.out} (${s.format}, ${s.duration_ms} ms)${s.consistent ? '' : ` — WARNING: writes landed during all ${s.passes} passes; not a snapshot`}`;
      if (toStderr) console.error(line);
      else if (o.json) printJson(s);
      else console.log(line);
      if (!s.consistent) process.exitCode = 1;
    });
}
