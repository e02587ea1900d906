/**
 * The ingest's HTTP client: POST a write with its idempotency key, retrying what may succeed later (429, 408, 409,
 * 5xx, connection errors, timeouts) with backoff and Retry-After, and classifying the rest:
 *  - 'rejected': a 4xx about the content (400, 413, 422): retrying the same bytes would fail again;
 *  - IngestAbort (thrown): a 4xx about the request itself (401, 403, 404, a bad namespace name, a distance_metric
 *    problem) or retries exhausted: every later request would fail the same way, so the run stops.
 * Retrying a write whose answer was lost is safe because the server applies each idempotency key once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { retryDelay, parseRetryAfter, type BackoffOptions } from './backoff.js';
import type { Aimd, ThrottleMeter } from './throttle.js';
import type { RetryOptions } from './types.js';

export class IngestAbort extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'IngestAbort';
  }
}

export type SendOutcome = { kind: 'ok'; deduplicated: boolean } | { kind: 'rejected'; status: number; message: string; code?: string };

export interface Counters {
  requests: number;
  requests_deduplicated: number;
  retries: number;
  rate_limited: number;
  server_errors: number;
  network_errors: number;
  bytes_sent: number;
}

export function newCounters(): Counters {
  return { requests: 0, requests_deduplicated: 0, retries: 0, rate_limited: 0, server_errors: 0, network_errors: 0, bytes_sent: 0 };
}

export interface ClientOptions {
  url: string;
  apiKey?: string;
  gzip?: boolean;
  retry?: RetryOptions;
  random: () => number;
  counters: Counters;
  aimd: Aimd;
  meter: ThrottleMeter;
}

const RETRYABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/** A 400 whose cause is the request as a whole, not some row in it: no subset of rows would pass either. */
export function isRequestLevel(status: number, message: string, code?: string): boolean {
  if (status === 401 || status === 403 || status === 404 || status === 405 || status === 415) return true;
  if (code === 'ELAX_ERR_INVALID_NAMESPACE') return true;
  return /distance_metric/.test(message) && !/upsert_rows\[\d+\]/.test(message);
}

interface ErrorBody {
  error?: string;
  code?: string;
}

export class IngestClient {
  private readonly base: string;
  private readonly retry: Required<RetryOptions>;
  private readonly backoff: BackoffOptions;

  constructor(private readonly o: ClientOptions) {
    this.base = o.url.replace(/\/+$/, '');
    this.retry = { maxRetries: 10, baseDelayMs: 200, maxDelayMs: 30_000, requestTimeoutMs: 300_000, ...o.retry };
    this.backoff = { baseDelayMs: this.retry.baseDelayMs, maxDelayMs: this.retry.maxDelayMs };
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (this.o.apiKey) h.authorization = `Bearer ${this.o.apiKey}`;
    return h;
  }

  /** One write request, retried until it is applied, rejected, or retries run out (IngestAbort). */
  async write(ns: string, body: Buffer, key: string): Promise<SendOutcome> {
    const url = `${this.base}/v2/namespaces/${encodeURIComponent(ns)}`;
    const payload = this.o.gzip ? gzipSync(body, { level: 1 }) : body;
    const headers = this.headers({ 'content-type': 'application/json', 'idempotency-key': key });
    if (this.o.gzip) headers['content-encoding'] = 'gzip';
    const c = this.o.counters;
    let lastProblem = '';
    for (let attempt = 0; ; attempt++) {
      let retryAfterMs: number | undefined;
      let rateLimited = false;
      try {
        const res = await fetch(url, { method: 'POST', headers, body: payload, signal: AbortSignal.timeout(this.retry.requestTimeoutMs) });
        const text = await res.text();
        if (res.ok) {
          c.requests++;
          c.bytes_sent += payload.length;
          let deduplicated = false;
          try {
            const j = JSON.parse(text) as { message?: string };
            deduplicated = typeof j.message === 'string' && j.message.startsWith('already applied');
          } catch {
            /* a 2xx without JSON still means applied */
          }
          if (deduplicated) c.requests_deduplicated++;
          this.o.aimd.onSuccess();
          return { kind: 'ok', deduplicated };
        }
        let err: ErrorBody = {};
        try {
          err = JSON.parse(text) as ErrorBody;
        } catch {
          err = { error: text.slice(0, 500) };
        }
        const message = err.error ?? `HTTP ${res.status}`;
        if (!RETRYABLE.has(res.status)) {
          if (isRequestLevel(res.status, message, err.code)) {
            throw new IngestAbort(`the server refused the write (${res.status}${err.code ? ` ${err.code}` : ''}): ${message}`, res.status, err.code);
          }
          c.requests++;
          return { kind: 'rejected', status: res.status, message, code: err.code };
        }
        lastProblem = `${res.status}${err.code ? ` ${err.code}` : ''}: ${message}`;
        if (res.status === 429) {
          c.rate_limited++;
          rateLimited = true;
          this.o.aimd.onRateLimited(Date.now());
        } else if (res.status >= 500) c.server_errors++;
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), Date.now());
      } catch (e) {
        if (e instanceof IngestAbort) throw e;
        c.network_errors++;
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        lastProblem = `${(e as Error).name === 'TimeoutError' ? 'timed out' : 'connection error'}: ${cause?.code ?? cause?.message ?? (e as Error).message}`;
      }
      if (attempt >= this.retry.maxRetries) {
        throw new IngestAbort(`gave up after ${attempt + 1} attempts; last answer ${lastProblem}`);
      }
      c.retries++;
      const wait = retryDelay(attempt, retryAfterMs, this.o.random, this.backoff);
      const hold = rateLimited ? this.o.meter.enter() : null;
      try {
        await sleep(wait);
      } finally {
        hold?.();
      }
    }
  }

  private async getJson(path: string): Promise<unknown | null> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { headers: this.headers(), signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new IngestAbort(`cannot reach the server at ${this.base}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    const text = await res.text();
    if (res.status === 404) return null;
    if (!res.ok) {
      let msg = text.slice(0, 500);
      try {
        msg = (JSON.parse(text) as ErrorBody).error ?? msg;
      } catch {
        /* not JSON */
      }
      if (res.status === 401 || res.status === 403) throw new IngestAbort(`the server refused ${path} (${res.status}): ${msg}`, res.status);
      throw new Error(`GET ${path}: HTTP ${res.status}: ${msg}`);
    }
    return JSON.parse(text);
  }

  /** Unindexed WAL bytes of the namespace (0 when up to date or absent). */
  async unindexedBytes(ns: string): Promise<number> {
    const m = (await this.getJson(`/v1/namespaces/${encodeURIComponent(ns)}/metadata`)) as { index?: { unindexed_bytes?: number } } | null;
    return m?.index?.unindexed_bytes ?? 0;
  }

  /** The namespace's schema as the API renders it, or null if the namespace does not exist. */
  async schema(ns: string): Promise<Record<string, unknown> | null> {
    return (await this.getJson(`/v1/namespaces/${encodeURIComponent(ns)}/schema`)) as Record<string, unknown> | null;
  }
}
