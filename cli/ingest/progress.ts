/**
 * Progress on stderr: a bar on a TTY (rows, MB, rows/s, ETA, throttle state), plain lines every few seconds
 * otherwise (logs, CI), nothing with --quiet. It samples a snapshot function; it never drives the ingest.
 */
import cliProgress from 'cli-progress';

export interface ProgressSnapshot {
  rowsOk: number;
  rowsFailed: number;
  /** Rows counted as done from the checkpoint (not processed by this run). */
  rowsSkipped: number;
  /** Input bytes covered so far (skipped included). */
  bytes: number;
  /** Input bytes covered by this run's own work (for rates). */
  bytesThisRun: number;
  totalBytes: number | null;
  state: string;
}

export type ProgressMode = 'bar' | 'lines' | 'none';

const MB = 1024 * 1024;

function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function progressFields(s: ProgressSnapshot, elapsedMs: number) {
  const sec = Math.max(elapsedMs / 1000, 1e-3);
  const rows = s.rowsOk + s.rowsFailed;
  const byteRate = s.bytesThisRun / sec;
  const eta = s.totalBytes !== null && byteRate > 0 ? (s.totalBytes - s.bytes) / byteRate : NaN;
  return {
    rows: rows + s.rowsSkipped,
    failed: s.rowsFailed,
    mb: (s.bytes / MB).toFixed(1),
    total_mb: s.totalBytes !== null ? (s.totalBytes / MB).toFixed(1) : '?',
    rps: Math.round(rows / sec),
    mbps: (byteRate / MB).toFixed(1),
    // Not `eta`: cli-progress fills its own {eta} token, which would shadow this one.
    remaining: fmtDuration(eta),
    pct: s.totalBytes ? Math.min(100, Math.floor((100 * s.bytes) / s.totalBytes)) : null,
    state: s.state,
  };
}

/** One plain progress line. */
export function progressLine(s: ProgressSnapshot, elapsedMs: number): string {
  const f = progressFields(s, elapsedMs);
  const pct = f.pct !== null ? ` (${f.pct}%)` : '';
  return `ingest: ${f.rows} rows${f.failed ? `, ${f.failed} failed` : ''}, ${f.mb}/${f.total_mb} MB${pct}, ${f.rps} rows/s, ${f.mbps} MB/s, eta ${f.remaining}, ${f.state}`;
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private timer: NodeJS.Timeout | null = null;
  private started = 0;

  constructor(
    private readonly mode: ProgressMode,
    private readonly out: NodeJS.WritableStream,
    private readonly snapshot: () => ProgressSnapshot,
    private readonly intervalMs = 5000,
  ) {}

  start(): void {
    if (this.mode === 'none') return;
    this.started = Date.now();
    if (this.mode === 'bar') {
      const s = this.snapshot();
      const total = s.totalBytes ?? 0;
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.out,
          format: total > 0
            ? '{bar} {percentage}% | {rows} rows | {mb}/{total_mb} MB | {rps} rows/s | ETA {remaining} | {state}'
            : '{rows} rows | {mb} MB | {rps} rows/s | {state}',
          hideCursor: true,
          barsize: 24,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(total, 1), 0, progressFields(s, 0));
      this.timer = setInterval(() => this.render(), 200);
    } else {
      this.timer = setInterval(() => this.out.write(progressLine(this.snapshot(), Date.now() - this.started) + '\n'), this.intervalMs);
    }
    this.timer.unref();
  }

  private render(): void {
    const s = this.snapshot();
    this.bar?.update(s.bytes, progressFields(s, Date.now() - this.started));
  }

  /** Stops updates; the bar shows its final state, lines mode prints one last line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.bar) {
      this.render();
      this.bar.stop();
      this.bar = null;
    } else if (this.mode === 'lines' && this.started > 0) {
      this.out.write(progressLine(this.snapshot(), Date.now() - this.started) + '\n');
    }
  }
}
