/**
 * Failure visibility for the indexer: a namespace whose next WAL range cannot be indexed (an undecodable entry, a
 * part build that throws, a store error) is retried with capped exponential backoff, per namespace, while the other
 * namespaces keep moving; after `maxAttempts` attempts the failure is recorded in router.json so `elax status`
 * shows it. Nothing is ever skipped: the entry stays in the WAL tail (queries keep reading it there, or fail loudly
 * if it is unreadable), the indexer keeps retrying at the capped backoff, and the record is cleared by the first
 * publish that gets past it.
 *
 * ## `router.indexer` (free-form bookkeeping, shown by `elax status`)
 *
 * ```ts
 * router.indexer = {
 *   last_success_at?: string,   // ISO time of the last part an indexer published (set on every publish)
 *   last_part?: string,         // id of that part
 *   last_failure_at?: string,   // ISO time of the most recent recorded failure; kept as history after recovery
 *   last_error?: string,        // its message; kept as history after recovery
 *   failed_entries?: FailedEntry[], // present and non-empty ⇔ the namespace is currently stuck (at most 1 today:
 *                                   // the range at the head of the tail); removed once indexing gets past it
 *   last_reindex?: ReindexRecord,   // see reindex.ts: written only by `elax reindex`
 * }
 * FailedEntry = {
 *   seq: number,             // first WAL seq of the range that failed (the unindexed head, indexed_wal + 1)
 *   wal_end: number,         // last seq of that range; == seq once the failure is isolated to one entry
 *   stage: 'read' | 'decode' | 'build' | 'upload' | 'publish',
 *   error: string,           // message of the last attempt's error
 *   attempts: number,        // attempts so far (≥ maxAttempts, default 5)
 *   first_failed_at: string, // ISO time of the first failed attempt at this seq
 *   last_failed_at: string,  // ISO time of the latest failed attempt
 *   next_retry_at: string,   // ISO time of the next attempt (backoff doubles per attempt, capped)
 * }
 * ```
 * A reader must treat a FailedEntry as stale (already resolved) when `seq <= router.indexed_wal`,
 * `seq < router.wal_start`, or the router is `deleted`: a delete or revive can copy the field forward before an
 * indexer gets to clear it.
 */
import type { Clock } from '../crates-ts/core/index.js';
import type { Router } from '../crates-ts/router/index.js';

export type FailureStage = 'read' | 'decode' | 'build' | 'upload' | 'publish';

export interface FailedEntry {
  seq: number;
  wal_end: number;
  stage: FailureStage;
  error: string;
  attempts: number;
  first_failed_at: string;
  last_failed_at: string;
  next_retry_at: string;
}

export interface FailurePolicy {
  /** Attempts before the failure is recorded in router.json. Default 5. */
  maxAttempts: number;
  /** Delay after the first failed attempt; doubles per attempt. Default 1 s. */
  baseMs: number;
  /** Cap on the delay between attempts. Default 60 s. */
  maxMs: number;
}

export const DEFAULT_FAILURE_POLICY: FailurePolicy = { maxAttempts: 5, baseMs: 1_000, maxMs: 60_000 };

/** Delay before the attempt after `attempts` failed ones: base · 2^(attempts-1), capped. Pure. */
export function backoffMs(attempts: number, policy: FailurePolicy): number {
  if (attempts <= 0) return 0;
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempts - 1, 40));
}

/**
 * Thrown by Indexer.indexNamespace when a step fails after the WAL range is known: which range, which stage.
 * `seq` null means the failure happened before the range was known (router read, WAL list): backed off, not recorded.
 */
export class IndexAttemptError extends Error {
  constructor(
    readonly ns: string,
    readonly seq: number | null,
    readonly walEnd: number | null,
    readonly stage: FailureStage,
    cause: unknown,
  ) {
    super(`${stage} failed for ${ns}${seq === null ? '' : ` at WAL ${seq === walEnd ? seq : `${seq}..${walEnd}`}`}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'IndexAttemptError';
  }
}

/** One namespace's failure streak, in memory. */
export interface FailureState {
  seq: number | null;
  walEnd: number | null;
  stage: FailureStage;
  error: string;
  attempts: number;
  firstFailedAt: number;
  lastFailedAt: number;
  nextAttemptAt: number;
  /** Cap on entries per part for the next attempt: halved after each failed build, so a poison entry is isolated. */
  rangeCap?: number;
}

/** Per-namespace backoff bookkeeping of one indexer process. Deterministic: time comes from the injected clock. */
export class FailureTracker {
  private readonly states = new Map<string, FailureState>();

  constructor(
    readonly policy: FailurePolicy,
    private readonly clock: Clock,
  ) {}

  /** May `ns` be attempted now? */
  due(ns: string): boolean {
    const s = this.states.get(ns);
    return !s || this.clock.now() >= s.nextAttemptAt;
  }

  get(ns: string): FailureState | undefined {
    return this.states.get(ns);
  }

  namespaces(): string[] {
    return [...this.states.keys()];
  }

  /** Count a failed attempt. A failure at another seq than the streak's starts a new streak (the head moved). */
  fail(ns: string, e: unknown): FailureState {
    const now = this.clock.now();
    const err = e instanceof IndexAttemptError ? e : new IndexAttemptError(ns, null, null, 'read', e);
    const prev = this.states.get(ns);
    const same = prev !== undefined && prev.seq === err.seq;
    const attempts = same ? prev.attempts + 1 : 1;
    const rangeLen = err.seq !== null && err.walEnd !== null ? err.walEnd - err.seq + 1 : undefined;
    const state: FailureState = {
      seq: err.seq,
      walEnd: err.walEnd,
      stage: err.stage,
      error: causeMessage(err),
      attempts,
      firstFailedAt: same ? prev.firstFailedAt : now,
      lastFailedAt: now,
      nextAttemptAt: now + backoffMs(attempts, this.policy),
      rangeCap: err.stage === 'build' && rangeLen !== undefined ? Math.max(1, Math.ceil(rangeLen / 2)) : same ? prev.rangeCap : undefined,
    };
    this.states.set(ns, state);
    return state;
  }

  /** The namespace made progress (or has nothing to do): forget its streak. Returns whether there was one. */
  succeed(ns: string): boolean {
    return this.states.delete(ns);
  }

  /** Should this streak be written to router.json? */
  shouldRecord(s: FailureState): boolean {
    return s.seq !== null && s.attempts >= this.policy.maxAttempts;
  }
}

function causeMessage(e: IndexAttemptError): string {
  const c = e.cause as Error | undefined;
  return c?.message ?? e.message;
}

/** The failure records of a router (empty if none or malformed). */
export function failedEntriesOf(r: Pick<Router, 'indexer'>): FailedEntry[] {
  const f = r.indexer?.failed_entries;
  return Array.isArray(f) ? (f as FailedEntry[]).filter((x) => x && typeof x.seq === 'number') : [];
}

/** Are any of the router's failure records already resolved (see the doc comment at the top)? */
export function hasStaleFailures(r: Router): boolean {
  return failedEntriesOf(r).some((f) => r.deleted !== undefined || f.seq <= r.indexed_wal || f.seq < r.wal_start);
}

/** `indexer` without the failure records that are resolved in `r` (all of them if deleted). Pure. */
export function withoutStaleFailures(r: Router): Record<string, unknown> {
  const keep = r.deleted ? [] : failedEntriesOf(r).filter((f) => f.seq > r.indexed_wal && f.seq >= r.wal_start);
  return withFailedEntries(r.indexer, keep);
}

/** `indexer` after a publish that indexed everything up to `walEnd`: records at or below it are cleared. Pure. */
export function clearFailuresUpTo(indexer: Record<string, unknown> | undefined, walEnd: number): Record<string, unknown> {
  return withFailedEntries(indexer, failedEntriesOf({ indexer }).filter((f) => f.seq > walEnd));
}

/**
 * `indexer` with the streak `s` recorded (replacing any record of the same seq and dropping records of other seqs:
 * only the head of the tail can be stuck). The attempt count and first failure time carry over from a record
 * another indexer process (or this one before a restart) wrote for the same seq. Pure.
 */
export function withFailureRecorded(indexer: Record<string, unknown> | undefined, s: FailureState): Record<string, unknown> {
  if (s.seq === null) throw new Error('withFailureRecorded: a failure without a WAL seq is not recorded');
  const iso = (ms: number) => new Date(ms).toISOString();
  const existing = failedEntriesOf({ indexer }).find((f) => f.seq === s.seq);
  const entry: FailedEntry = {
    seq: s.seq,
    wal_end: s.walEnd ?? s.seq,
    stage: s.stage,
    error: s.error,
    attempts: Math.max(s.attempts, existing ? existing.attempts + 1 : 0),
    first_failed_at: existing && Date.parse(existing.first_failed_at) < s.firstFailedAt ? existing.first_failed_at : iso(s.firstFailedAt),
    last_failed_at: iso(s.lastFailedAt),
    next_retry_at: iso(s.nextAttemptAt),
  };
  return { ...withFailedEntries(indexer, [entry]), last_failure_at: entry.last_failed_at, last_error: `WAL ${entry.seq}${entry.wal_end !== entry.seq ? `..${entry.wal_end}` : ''} (${entry.stage}): ${entry.error}` };
}

function withFailedEntries(indexer: Record<string, unknown> | undefined, entries: FailedEntry[]): Record<string, unknown> {
  const { failed_entries: _old, ...rest } = indexer ?? {};
  return entries.length > 0 ? { ...rest, failed_entries: entries } : rest;
}
