/**
 * runIngest: inputs → chunks → settled write requests, with flow control, a checkpoint and a report.
 *
 * One producer reads the inputs in order and cuts chunks; before sending each it takes a slot from the gate
 * (AIMD window, WAL-lag pause), so at most window+1 chunks are in memory. The first chunk of a run is settled
 * alone, so the schema and metric it establishes are in place before concurrent chunks infer types. A settled
 * chunk (landed, or its bad rows reported) is recorded in the checkpoint; fatal answers and exhausted retries stop
 * the run (in-flight chunks finish, the checkpoint is saved) and it can be resumed.
 */
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { ElaxError, invalid } from '../../crates-ts/core/index.js';
import { parseDistanceMetric } from '../../crates-ts/schema/index.js';
import { validateNamespaceName } from '../../crates-ts/engine/index.js';
import {
  DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS, DEFAULT_CONCURRENCY, DEFAULT_MAX_LAG_BYTES, SERVER_BODY_LIMIT,
  type IngestOptions, type IngestSummary, type RowError, type SourceRow,
} from './types.js';
import { openSource, START, type OpenedSource } from './sources.js';
import { chunkRows, type Chunk } from './chunker.js';
import { buildBody, requestKey } from './request.js';
import { IngestClient, IngestAbort, newCounters } from './http.js';
import { settleRows } from './settle.js';
import { Aimd, Gate, LagWatcher, ThrottleMeter } from './throttle.js';
import { Checkpoint, loadCheckpoint, CHECKPOINT_VERSION, type Chunking, type CheckpointData, type FileProgress, type FileTracker } from './checkpoint.js';
import { ErrorReport } from './errors-report.js';
import { DryRunValidator } from './validate.js';
import { Progress, type ProgressMode } from './progress.js';

const MB = 1024 * 1024;

function positiveInt(v: number | undefined, flag: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1 || v > max) throw invalid(`${flag} must be an integer from 1 to ${max}, got ${v}`);
  return v;
}

async function defaultCheckpointPath(src: OpenedSource, ns: string): Promise<string> {
  const base = `${src.name}.${ns}.ingest-checkpoint.json`;
  if (src.path !== '-') {
    const dir = path.dirname(src.path);
    try {
      await access(dir, constants.W_OK);
      return path.join(dir, base);
    } catch {
      /* read-only input directory: fall back to cwd */
    }
  }
  return path.resolve(base);
}

function freshProgress(src: OpenedSource): FileProgress {
  return {
    path: src.path, name: src.name, format: src.format, size: src.size, mtime_ms: src.mtimeMs,
    prefix: { chunks: 0, cursor: { ...START } }, done: [], total_chunks: null,
  };
}

function fmtBytes(n: number): string {
  return n >= 1024 * MB ? `${(n / 1024 / MB).toFixed(2)} GiB` : `${(n / MB).toFixed(1)} MiB`;
}

interface Plan {
  chunking: Chunking;
  data: CheckpointData;
  resumed: boolean;
}

/** The checkpoint to continue (--resume) or a fresh one; refuses to resume over a changed input. */
async function plan(opts: IngestOptions, sources: OpenedSource[], wanted: Chunking, cpPath: string | undefined, notice: (m: string) => void): Promise<Plan> {
  const fresh = (): CheckpointData => ({
    version: CHECKPOINT_VERSION, ns: opts.ns, chunking: wanted, files: sources.map(freshProgress), updated_at: new Date().toISOString(),
  });
  if (!cpPath) return { chunking: wanted, data: fresh(), resumed: false };
  const prev = await loadCheckpoint(cpPath);
  if (!opts.resume || !prev) {
    if (prev) notice(`${cpPath} is from an earlier run; starting over (pass --resume to continue it; chunks the server already applied are acknowledged without being written again)`);
    else if (opts.resume) notice(`no checkpoint at ${cpPath}: starting from the beginning`);
    return { chunking: wanted, data: fresh(), resumed: false };
  }
  if (prev.ns !== opts.ns) throw invalid(`checkpoint ${cpPath} belongs to namespace '${prev.ns}', not '${opts.ns}'; pass --checkpoint to use another file`);
  const asked: [keyof Chunking, unknown, string][] = [
    ['batch_bytes', opts.batchBytes, '--batch-bytes'],
    ['batch_rows', opts.batchRows, '--batch-rows'],
    ['distance_metric', opts.distanceMetric, '--distance-metric'],
    ['key_salt', opts.keySalt, '--key-salt'],
  ];
  for (const [k, v, flag] of asked) {
    if (v !== undefined && v !== prev.chunking[k]) notice(`${flag} ${v} ignored: resuming with the checkpoint's ${prev.chunking[k]} (chunks and their keys must match the earlier run)`);
  }
  const files = sources.map((src) => {
    const old = prev.files.find((f) => f.path === src.path);
    if (!old) return freshProgress(src);
    if (src.path !== '-' && (old.size !== src.size || old.mtime_ms !== src.mtimeMs || old.format !== src.format)) {
      throw invalid(`input ${src.path} changed since checkpoint ${cpPath} was written (size/mtime differ); run without --resume to start over`);
    }
    return old;
  });
  return { chunking: prev.chunking, data: { ...prev, files }, resumed: true };
}

export async function runIngest(opts: IngestOptions): Promise<IngestSummary> {
  const started = Date.now();
  validateNamespaceName(opts.ns);
  if (opts.files.length === 0) throw invalid('no input files (use - for stdin)');
  if (opts.files.filter((f) => f === '-').length > 1) throw invalid('stdin (-) can be given only once');
  const metric = opts.distanceMetric === undefined ? undefined : parseDistanceMetric(opts.distanceMetric, '--distance-metric');
  const wanted: Chunking = {
    batch_bytes: positiveInt(opts.batchBytes, '--batch-bytes', DEFAULT_BATCH_BYTES, SERVER_BODY_LIMIT),
    batch_rows: positiveInt(opts.batchRows, '--batch-rows', DEFAULT_BATCH_ROWS),
    distance_metric: metric ?? null,
    key_salt: opts.keySalt ?? null,
  };
  const concurrency = positiveInt(opts.concurrency, '--concurrency', DEFAULT_CONCURRENCY, 256);
  const maxLagBytes = opts.maxLagBytes ?? DEFAULT_MAX_LAG_BYTES;
  if (!(maxLagBytes >= 0)) throw invalid(`--max-lag-bytes must be ≥ 0, got ${opts.maxLagBytes}`);
  const stderr = opts.stderr ?? process.stderr;
  const notice = (m: string) => {
    if (!opts.quiet) stderr.write(`elax ingest: ${m}\n`);
  };

  const sources: OpenedSource[] = [];
  for (const f of opts.files) sources.push(await openSource(f, { format: opts.format, stdin: opts.stdin }));
  const dryRun = !!opts.dryRun;
  if (opts.resume && opts.checkpoint === false) throw invalid('--resume needs a checkpoint (drop --no-checkpoint)');
  const cpPath = dryRun || opts.checkpoint === false ? undefined : path.resolve(opts.checkpoint ?? (await defaultCheckpointPath(sources[0]!, opts.ns)));
  const { chunking, data, resumed } = await plan(opts, sources, wanted, cpPath, notice);
  const cp = cpPath ? new Checkpoint(cpPath, data) : null;
  const trackers: FileTracker[] = cp ? cp.trackers : new Checkpoint('', data).trackers;
  if (cp) await cp.flush();
  const chunkMetric = chunking.distance_metric ?? undefined;

  const counters = newCounters();
  const meter = new ThrottleMeter(() => Date.now());
  const aimd = new Aimd(concurrency);
  const gate = new Gate(aimd, meter);
  const client = new IngestClient({ url: opts.url, apiKey: opts.apiKey, gzip: opts.gzip, retry: opts.retry, random: opts.random ?? Math.random, counters, aimd, meter });
  const report = new ErrorReport(opts.errorsFile, resumed);

  let rowsOk = 0;
  let rowsFailed = 0;
  let rowsSkipped = 0;
  let chunks = 0;
  let chunksSkipped = 0;
  let bytesDone = 0;
  let bytesThisRun = 0;
  let aborted: string | undefined;
  let validator: DryRunValidator | null = null;
  let watcher: LagWatcher | null = null;
  const abort = (why: string) => {
    aborted ??= why;
    watcher?.stop();
    gate.unpause();
  };

  const totalBytes = sources.every((s) => s.size !== null) ? sources.reduce((a, s) => a + s.size!, 0) : null;
  const state = () => {
    if (dryRun) return 'validating';
    if (gate.paused) return `paused: WAL lag ${fmtBytes(gate.lagBytes ?? 0)} > ${fmtBytes(maxLagBytes)}`;
    if (meter.holding > 0) return `429 backoff, window ${aimd.window}/${concurrency}`;
    return `in flight ${gate.inflight}/${aimd.window}`;
  };
  const mode: ProgressMode = opts.quiet || opts.progress === 'none' ? 'none' : opts.progress === 'bar' || opts.progress === 'lines' ? opts.progress : stderr.isTTY ? 'bar' : 'lines';
  const progress = new Progress(mode, stderr, () => ({ rowsOk, rowsFailed, rowsSkipped, bytes: bytesDone, bytesThisRun, totalBytes, state: state() }), opts.progressIntervalMs);

  const onSignal = () => abort('interrupted');
  opts.signal?.addEventListener('abort', onSignal);
  if (opts.signal?.aborted) abort('interrupted');

  const settleChunk = async (src: OpenedSource, tracker: FileTracker, chunk: Chunk) => {
    const keyCtx = { ns: opts.ns, salt: chunking.key_salt ?? undefined, source: src.name };
    const send = (rows: readonly SourceRow[]) => {
      const body = buildBody(rows, chunkMetric);
      return validator ? validator.send(body) : client.write(opts.ns, body, requestKey(keyCtx, rows, body));
    };
    const errors: RowError[] = chunk.bad.map((b) => ({ file: src.name, line: b.line, row: b.index, id: b.id, error: b.error }));
    if (chunk.rows.length > 0) {
      const res = await settleRows(chunk.rows, send);
      rowsOk += res.landed.length;
      for (const r of res.rejected) errors.push({ file: src.name, line: r.row.line, row: r.row.index, id: r.row.id, error: r.error, code: r.code });
    }
    errors.sort((a, b) => a.row - b.row);
    rowsFailed += errors.length;
    // On disk before the chunk counts as settled (a resumed run must not lose them, nor report them twice).
    await report.add(errors);
    tracker.markDone(chunk.index, chunk.end);
    cp?.touch();
    const covered = src.progressBytes(chunk.end.offset) - src.progressBytes(chunk.start.offset);
    bytesDone += covered;
    bytesThisRun += covered;
  };

  const inflight = new Set<Promise<void>>();
  try {
    if (dryRun) validator = new DryRunValidator(await client.schema(opts.ns));
    else {
      // Fail fast on a wrong URL or API key rather than after a write's retries run out.
      await client.unindexedBytes(opts.ns);
      if (maxLagBytes > 0 && !aborted) {
        watcher = new LagWatcher(() => client.unindexedBytes(opts.ns), gate, maxLagBytes, opts.lagPollMs ?? 1000);
        await watcher.start();
      }
    }
    progress.start();
    let first = true;
    files: for (let fi = 0; fi < sources.length; fi++) {
      const src = sources[fi]!;
      const tr = trackers[fi]!;
      if (tr.complete) {
        rowsSkipped += tr.p.prefix.cursor.index;
        chunks += tr.p.prefix.chunks;
        chunksSkipped += tr.p.prefix.chunks;
        bytesDone += src.progressBytes(tr.p.prefix.cursor.offset);
        continue;
      }
      // Seek past the settled prefix; stdin cannot seek, so it re-reads and skips settled chunks by index.
      const seek = src.seekable && tr.p.prefix.chunks > 0;
      const start = seek ? tr.p.prefix.cursor : START;
      const firstIndex = seek ? tr.p.prefix.chunks : 0;
      if (seek) {
        rowsSkipped += start.index;
        chunks += firstIndex;
        chunksSkipped += firstIndex;
        bytesDone += src.progressBytes(start.offset);
      }
      let next = firstIndex;
      for await (const chunk of chunkRows(src.items(start), { batchBytes: chunking.batch_bytes, batchRows: chunking.batch_rows, distanceMetric: chunkMetric, firstIndex, start })) {
        if (aborted) break files;
        next = chunk.index + 1;
        chunks++;
        if (tr.isDone(chunk.index)) {
          chunksSkipped++;
          rowsSkipped += chunk.rows.length + chunk.bad.length;
          tr.markDone(chunk.index, chunk.end);
          bytesDone += src.progressBytes(chunk.end.offset) - src.progressBytes(chunk.start.offset);
          continue;
        }
        await gate.acquire();
        if (aborted) {
          gate.release();
          break files;
        }
        const task: Promise<void> = settleChunk(src, tr, chunk)
          .catch((e: unknown) => abort(e instanceof IngestAbort || e instanceof ElaxError ? e.message : `unexpected error: ${(e as Error).stack ?? e}`))
          .finally(() => {
            gate.release();
            inflight.delete(task);
          });
        inflight.add(task);
        if (first || validator) {
          // The first chunk alone establishes the schema; a dry run validates in order like one writer.
          first = false;
          await task;
        }
      }
      tr.setTotal(next);
      cp?.touch();
    }
  } catch (e) {
    abort(e instanceof IngestAbort || e instanceof ElaxError ? e.message : `unexpected error: ${(e as Error).stack ?? e}`);
  } finally {
    await Promise.allSettled([...inflight]);
    opts.signal?.removeEventListener('abort', onSignal);
    watcher?.stop();
    progress.stop();
    await report.done();
    if (cp) await cp.flush();
  }

  const duration = Date.now() - started;
  const sec = Math.max(duration / 1000, 1e-3);
  const summary: IngestSummary = {
    ok: !aborted && rowsFailed === 0,
    ns: opts.ns,
    dry_run: dryRun,
    files: sources.map((s) => s.path),
    rows_ok: rowsOk,
    rows_failed: rowsFailed,
    rows_skipped: rowsSkipped,
    chunks,
    chunks_skipped: chunksSkipped,
    ...counters,
    source_bytes: bytesDone,
    duration_ms: duration,
    rows_per_s: Math.round((rowsOk + rowsFailed) / sec),
    mb_per_s: Math.round((bytesThisRun / MB / sec) * 100) / 100,
    throttled_ms: meter.throttledMs(),
    lag_paused_ms: meter.lagPausedMs(),
    final_concurrency: aimd.window,
    min_concurrency: aimd.min,
    errors_sample: report.sample,
  };
  if (cpPath) summary.checkpoint = cpPath;
  if (opts.errorsFile) summary.errors_file = path.resolve(opts.errorsFile);
  if (aborted) summary.aborted = aborted;
  return summary;
}

