/** The public shapes of `elax writes ingest`: options in, summary out, and the row/chunk records in between. */

/** Where `elax writes ingest` sends writes when neither --url nor ELAX_URL is given. */
export const DEFAULT_URL = 'http://127.0.0.1:3000';
export const DEFAULT_BATCH_BYTES = 4 * 1024 * 1024;
export const DEFAULT_BATCH_ROWS = 10_000;
export const DEFAULT_CONCURRENCY = 4;
/** Half the server's own 2 GiB backpressure limit: pause before the server has to answer 429. */
export const DEFAULT_MAX_LAG_BYTES = 1024 * 1024 * 1024;
/** The server's default request body cap (server/json-body.ts, turbopuffer's 512 MB); one request never exceeds it. */
export const SERVER_BODY_LIMIT = 512 * 1024 * 1024;

export type InputFormat = 'ndjson' | 'json' | 'parquet';

export interface RetryOptions {
  /** Attempts after the first one before a request is given up (default 10). */
  maxRetries?: number;
  /** Exponential backoff base and cap in ms (defaults 200 and 30 000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt timeout in ms (default 300 000). */
  requestTimeoutMs?: number;
}

export interface IngestOptions {
  url: string;
  apiKey?: string;
  ns: string;
  /** Paths; `-` is stdin. */
  files: string[];
  /** Input format for every file; default: by extension, else by sniffing the first bytes. */
  format?: InputFormat;
  /** Target request body size (default 4 MiB). A single larger row travels alone. */
  batchBytes?: number;
  /** Max rows per request (default 10 000). */
  batchRows?: number;
  /** Max requests in flight (default 4); AIMD lowers the working window on 429s. */
  concurrency?: number;
  /** Pause sending while the namespace's unindexed WAL exceeds this (default 1 GiB; 0 disables polling). */
  maxLagBytes?: number;
  /** How often to poll the namespace's unindexed bytes (default 1000 ms). */
  lagPollMs?: number;
  /**
   * Checkpoint file (default: `<first input>.<ns>.ingest-checkpoint.json` next to the first input, else in cwd);
   * false: keep none (a rerun then re-sends everything, which the server acknowledges without writing again).
   */
  checkpoint?: string | false;
  /** Continue from the checkpoint: chunks it records as done are not sent again. */
  resume?: boolean;
  /** Validate every row against the namespace schema; write nothing. */
  dryRun?: boolean;
  /** JSONL report of rejected rows (appended to on --resume). */
  errorsFile?: string;
  /** Sent with every request (required by the server for a namespace's first vectors). */
  distanceMetric?: string;
  /** Mixed into every idempotency key: a different salt re-applies chunks an earlier run already wrote. */
  keySalt?: string;
  /** gzip request bodies. */
  gzip?: boolean;
  /** No progress output at all. */
  quiet?: boolean;
  /** auto (default): a bar on a TTY, periodic lines otherwise. */
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  /** Interval of plain progress lines (default 5000 ms). */
  progressIntervalMs?: number;
  retry?: RetryOptions;
  /** Uniform [0,1) randomness for backoff jitter (default Math.random; tests pass a seeded one). */
  random?: () => number;
  /** Stops producing new chunks; in-flight ones finish and the checkpoint is saved. */
  signal?: AbortSignal;
  /** Where progress and notices go (default process.stderr). */
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Input for `-` (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
}

/** Position in a source from which parsing can restart: byte offset (row index for Parquet), line, row index. */
export interface Cursor {
  offset: number;
  line: number;
  index: number;
}

/** One source row, kept as the JSON text that goes into the request body. */
export interface SourceRow {
  /** 0-based row index within the file (NDJSON: non-blank line ordinal; JSON: array element; Parquet: row). */
  index: number;
  /** 1-based line where the row starts (text formats only). */
  line?: number;
  /** Byte offset where the row starts (Parquet: the row index). */
  offset: number;
  id: unknown;
  text: string;
  /** UTF-8 length of text. */
  bytes: number;
}

/** A row rejected by the client's parser or by the server (one line of the --errors report). */
export interface RowError {
  file: string;
  line?: number;
  row: number;
  id?: unknown;
  error: string;
  code?: string;
}

export interface IngestSummary {
  ok: boolean;
  ns: string;
  dry_run: boolean;
  files: string[];
  /** Rows that landed (or, with --dry-run, validated), including rows of chunks the server had already applied. */
  rows_ok: number;
  /** Rows rejected (by the parser or the server); listed in the errors report. */
  rows_failed: number;
  /** Rows of chunks an earlier run completed (from the checkpoint). */
  rows_skipped: number;
  /** Chunks of the inputs, those done by earlier runs included. */
  chunks: number;
  chunks_skipped: number;
  /** Write requests answered (applied or rejected; retries not counted; sub-requests of split chunks included). */
  requests: number;
  /** Requests the server acknowledged as already applied (idempotency key seen before). */
  requests_deduplicated: number;
  retries: number;
  rate_limited: number;
  server_errors: number;
  network_errors: number;
  /** Request body bytes of successful requests. */
  bytes_sent: number;
  /** Input bytes covered by this run (skipped chunks included). */
  source_bytes: number;
  duration_ms: number;
  rows_per_s: number;
  mb_per_s: number;
  /** Wall time during which sending was held back (WAL lag pause or a Retry-After/backoff wait on 429). */
  throttled_ms: number;
  /** Part of throttled_ms spent paused on WAL lag. */
  lag_paused_ms: number;
  final_concurrency: number;
  min_concurrency: number;
  checkpoint?: string;
  errors_file?: string;
  /** The first few rejected rows (all of them are in errors_file). */
  errors_sample: RowError[];
  /** Set when the run stopped early (fatal server answer, retries exhausted, interrupted). */
  aborted?: string;
}
