/**
 * The checkpoint: which chunks of which inputs are settled, so `--resume` neither re-reads nor re-sends them.
 *
 * Chunks settle out of order (several are in flight), so per file it records a done prefix — the number of
 * chunks settled from the start and the cursor where the next one begins (a resumed run seeks there) — plus the
 * indexes of settled chunks beyond it. It also records what chunk boundaries depend on (batch sizes, metric, key
 * salt), which a resumed run must reuse to reproduce the same chunks and keys, and each file's size and mtime to
 * refuse resuming over a changed input. Written atomically (temp file + rename); losing the last few updates to a
 * crash only means re-sending a few chunks, which the idempotency keys make harmless.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { ElaxError } from '../../crates-ts/core/index.js';
import type { Cursor, InputFormat } from './types.js';

export const CHECKPOINT_VERSION = 1;

export interface Chunking {
  batch_bytes: number;
  batch_rows: number;
  distance_metric: string | null;
  key_salt: string | null;
}

export interface FileProgress {
  path: string;
  name: string;
  format: InputFormat;
  size: number | null;
  mtime_ms: number | null;
  /** Chunks 0..chunks-1 are settled; the next starts at cursor. */
  prefix: { chunks: number; cursor: Cursor };
  /** Settled chunks beyond the prefix. */
  done: number[];
  /** Number of chunks in the file, once the reader reached its end. */
  total_chunks: number | null;
}

export interface CheckpointData {
  version: number;
  ns: string;
  chunking: Chunking;
  files: FileProgress[];
  updated_at: string;
}

export async function loadCheckpoint(file: string): Promise<CheckpointData | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let data: CheckpointData;
  try {
    data = JSON.parse(text) as CheckpointData;
  } catch (e) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `checkpoint ${file} is not valid JSON (${(e as Error).message}); remove it to start over`);
  }
  if (data.version !== CHECKPOINT_VERSION || !Array.isArray(data.files) || typeof data.ns !== 'string') {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `checkpoint ${file} has an unknown format (version ${data.version}); remove it to start over`);
  }
  return data;
}

/** Progress of one file during a run. */
export class FileTracker {
  private readonly done: Set<number>;
  private readonly ends = new Map<number, Cursor>();

  constructor(readonly p: FileProgress) {
    this.done = new Set(p.done);
  }

  get complete(): boolean {
    return this.p.total_chunks !== null && this.p.prefix.chunks >= this.p.total_chunks;
  }

  isDone(index: number): boolean {
    return index < this.p.prefix.chunks || this.done.has(index);
  }

  /** A chunk is settled; `end` is the cursor after it. Advances the prefix over every settled chunk. */
  markDone(index: number, end: Cursor): void {
    if (index < this.p.prefix.chunks) return;
    this.done.add(index);
    this.ends.set(index, end);
    while (this.done.has(this.p.prefix.chunks)) {
      const c = this.p.prefix.chunks;
      const e = this.ends.get(c);
      // A chunk settled in an earlier run has no end cursor here until this run re-reads it (stdin / skipped).
      if (!e) break;
      this.p.prefix.cursor = e;
      this.done.delete(c);
      this.ends.delete(c);
      this.p.prefix.chunks = c + 1;
    }
    this.p.done = [...this.done].sort((a, b) => a - b);
  }

  setTotal(chunks: number): void {
    this.p.total_chunks = chunks;
  }
}

export class Checkpoint {
  readonly trackers: FileTracker[];
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;

  constructor(
    readonly file: string,
    readonly data: CheckpointData,
    private readonly debounceMs = 500,
  ) {
    this.trackers = data.files.map((f) => new FileTracker(f));
  }

  /** Save soon (coalesces bursts of chunk completions into one write). */
  touch(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.debounceMs);
    this.timer.unref();
  }

  /** Save now (atomically); resolves when this state is on disk. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.dirty = false;
    this.data.updated_at = new Date().toISOString();
    const text = JSON.stringify(this.data, null, 1);
    const tmp = `${this.file}.tmp-${process.pid}`;
    this.writing = this.writing.catch(() => undefined).then(async () => {
      await writeFile(tmp, text);
      await rename(tmp, this.file);
    });
    return this.writing;
  }

  get pending(): boolean {
    return this.dirty;
  }
}
