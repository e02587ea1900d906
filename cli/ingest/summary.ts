/** The end-of-run summary as text (stderr); `--json` prints the IngestSummary object itself. */
import type { IngestSummary } from './types.js';

const MB = 1024 * 1024;

export function formatSummary(s: IngestSummary): string {
  const lines: string[] = [];
  const verb = s.dry_run ? 'validated' : 'ingested';
  const head = s.aborted ? `ingest into ${s.ns} STOPPED: ${s.aborted}` : `${s.dry_run ? 'dry run of' : 'ingest into'} ${s.ns} finished`;
  lines.push(head);
  lines.push(
    `  rows: ${s.rows_ok} ${verb}, ${s.rows_failed} failed${s.rows_skipped ? `, ${s.rows_skipped} already done (checkpoint)` : ''}` +
      ` in ${(s.duration_ms / 1000).toFixed(1)} s (${s.rows_per_s} rows/s, ${s.mb_per_s} MB/s of input)`,
  );
  if (!s.dry_run) {
    lines.push(
      `  requests: ${s.requests} (${s.requests_deduplicated} already applied), ${(s.bytes_sent / MB).toFixed(1)} MB sent, ${s.retries} retries` +
        ` (${s.rate_limited} × 429, ${s.server_errors} × 5xx, ${s.network_errors} connection errors)`,
    );
    lines.push(
      `  throttled: ${(s.throttled_ms / 1000).toFixed(1)} s (WAL lag pauses ${(s.lag_paused_ms / 1000).toFixed(1)} s); concurrency ended at ${s.final_concurrency} (min ${s.min_concurrency})`,
    );
  }
  if (s.errors_file && s.rows_failed) lines.push(`  rejected rows: ${s.errors_file}`);
  if (s.checkpoint) lines.push(`  checkpoint: ${s.checkpoint}${s.aborted ? ' (continue with --resume)' : ''}`);
  return lines.join('\n');
}
