/**
 * `elax writes ingest`: bulk backfill of a namespace through a running server's write API, from NDJSON, JSON
 * arrays or Parquet (files or stdin). Batches rows into ~MB requests, several in flight, retries with backoff,
 * slows down on 429 (AIMD) and on WAL lag, checkpoints progress for --resume, and sends every chunk with a
 * deterministic idempotency key so nothing is applied twice. --dry-run validates rows against the namespace's
 * schema with the server's own parser and writes nothing.
 *
 * Owns: the `writes ingest` command and the runIngest API (also used by `verify --repair`). It does not touch the
 * store: everything goes through HTTP.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { invalid } from '../../crates-ts/core/index.js';
import { runIngest } from './run.js';
import { formatSummary } from './summary.js';
import { formatRowError } from './errors-report.js';
import { DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS, DEFAULT_CONCURRENCY, DEFAULT_MAX_LAG_BYTES, DEFAULT_URL, type InputFormat } from './types.js';

export { runIngest } from './run.js';
export { formatSummary } from './summary.js';
export { DEFAULT_URL } from './types.js';
export type { IngestOptions, IngestSummary, RowError, RetryOptions, InputFormat } from './types.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `4194304`, `4MiB`, `4m`, `512k` (binary units). */
export function parseSize(v: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw invalid(`${flag} must be a size like 4194304, 4MiB or 512k, got '${v}'`);
  return Math.round(Number(m[1]) * unit);
}

function int(v: string, flag: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw invalid(`${flag} must be a non-negative integer, got '${v}'`);
  return n;
}

interface CliOptions {
  ns: string;
  url?: string;
  apiKey?: string;
  format?: InputFormat;
  batchBytes?: string;
  batchRows?: string;
  concurrency?: string;
  maxLagBytes?: string;
  lagPollMs?: string;
  maxRetries?: string;
  checkpoint?: string | false;
  resume?: boolean;
  dryRun?: boolean;
  errors?: string;
  distanceMetric?: string;
  keySalt?: string;
  gzip?: boolean;
  json?: boolean;
  quiet?: boolean;
  progress?: 'auto' | 'bar' | 'lines' | 'none';
}

const MiB = 1024 * 1024;

function writesGroup(program: Command): Command {
  // `writes` may also be registered by other commands (e.g. export): share one group.
  return program.commands.find((c) => c.name() === 'writes') ?? program.command('writes').description('bulk writes through a running server');
}

export function registerIngestCommands(program: Command): void {
  writesGroup(program)
    .command('ingest')
    .description('bulk-load rows (NDJSON, JSON array or Parquet; - for stdin) into a namespace through a running server')
    .argument('<files...>', 'input files; - reads stdin')
    .requiredOption('--ns <namespace>', 'namespace to write')
    .option('--url <url>', `server URL (env ELAX_URL; default ${DEFAULT_URL})`)
    .option('--api-key <key>', 'API key (env ELAX_API_KEY)')
    .addOption(new Option('--format <format>', 'input format (default: by extension, else sniffed)').choices(['ndjson', 'json', 'parquet']))
    .option('--batch-bytes <size>', `target request body size (default ${DEFAULT_BATCH_BYTES / MiB}MiB; max 512MiB)`)
    .option('--batch-rows <n>', `max rows per request (default ${DEFAULT_BATCH_ROWS})`)
    .option('--concurrency <n>', `max requests in flight (default ${DEFAULT_CONCURRENCY}; lowered on 429)`)
    .option('--max-lag-bytes <size>', `pause while the namespace's unindexed WAL exceeds this (default ${DEFAULT_MAX_LAG_BYTES / MiB / 1024}GiB; 0 = never)`)
    .option('--lag-poll-ms <ms>', 'how often to poll the WAL lag (default 1000)')
    .option('--max-retries <n>', 'retries per request before the run stops (default 10)')
    .option('--checkpoint <file>', 'progress file (default <first input>.<ns>.ingest-checkpoint.json)')
    .option('--no-checkpoint', 'keep no progress file')
    .option('--resume', 'continue from the checkpoint: skip chunks it records as done')
    .option('--dry-run', 'validate every row against the namespace schema; write nothing')
    .option('--errors <file>', 'write rejected rows as JSONL {file, line|row, id, error}')
    .option('--distance-metric <metric>', 'cosine_distance or euclidean_squared (needed for a namespace\'s first vectors)')
    .option('--key-salt <salt>', 'mix into idempotency keys (re-applies chunks an earlier run already wrote)')
    .option('--gzip', 'gzip request bodies')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--quiet', 'no progress output')
    .addOption(new Option('--progress <mode>', 'progress display (default auto: a bar on a TTY, lines otherwise)').choices(['auto', 'bar', 'lines', 'none']))
    .action(async (files: string[], o: CliOptions) => {
      const ac = new AbortController();
      const onSigint = () => {
        if (ac.signal.aborted) process.exit(130);
        process.stderr.write('\nelax ingest: interrupted: finishing requests in flight and saving the checkpoint (Ctrl-C again to quit now)\n');
        ac.abort();
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        const summary = await runIngest({
          url: o.url ?? process.env.ELAX_URL ?? DEFAULT_URL,
          apiKey: o.apiKey ?? process.env.ELAX_API_KEY,
          ns: o.ns,
          files,
          format: o.format,
          batchBytes: o.batchBytes !== undefined ? parseSize(o.batchBytes, '--batch-bytes') : undefined,
          batchRows: o.batchRows !== undefined ? int(o.batchRows, '--batch-rows') : undefined,
          concurrency: o.concurrency !== undefined ? int(o.concurrency, '--concurrency') : undefined,
          maxLagBytes: o.maxLagBytes !== undefined ? parseSize(o.maxLagBytes, '--max-lag-bytes') : undefined,
          lagPollMs: o.lagPollMs !== undefined ? int(o.lagPollMs, '--lag-poll-ms') : undefined,
          retry: o.maxRetries !== undefined ? { maxRetries: int(o.maxRetries, '--max-retries') } : undefined,
          checkpoint: o.checkpoint,
          resume: o.resume,
          dryRun: o.dryRun,
          errorsFile: o.errors,
          distanceMetric: o.distanceMetric,
          keySalt: o.keySalt,
          gzip: o.gzip,
          quiet: o.quiet,
          progress: o.progress,
          signal: ac.signal,
        });
        if (o.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        if (!o.quiet || !summary.ok) {
          if (!summary.errors_file && summary.rows_failed > 0) {
            for (const e of summary.errors_sample) process.stderr.write(`  ${formatRowError(e)}\n`);
            if (summary.rows_failed > summary.errors_sample.length) process.stderr.write(`  ... ${summary.rows_failed - summary.errors_sample.length} more (use --errors FILE for all)\n`);
          }
          process.stderr.write(formatSummary(summary) + '\n');
        }
        process.exitCode = summary.ok ? 0 : summary.aborted === 'interrupted' ? 130 : 1;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}
