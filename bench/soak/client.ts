/**
 * The soak's HTTP client: behaves like a careful real client (retries what is safe to retry, honours
 * Retry-After, sends an Idempotency-Key with writes) and audits every error answer it gets:
 *  - the body must be JSON with `code` matching /^ELAX_ERR_/ (else: violation "malformed error");
 *  - 429 and 503 must carry Retry-After (else: violation "no Retry-After");
 *  - under transient store faults and process kills, only retry-safe codes are expected: 429 BACKPRESSURE,
 *    503 STORE_UNAVAILABLE / OVERLOADED / CLOSED, 409 CAS_CONFLICT, 408 REQUEST_TIMEOUT. Any other code (a 500
 *    INTERNAL or CORRUPT, a 4xx for a valid request) is a violation "unexpected error code".
 * Outcomes of writes feed the state model: acked (200), refused (definitely not applied: connection refused,
 * 429, a 4xx), unknown (5xx, reset, the server died mid-request), or late (we stopped waiting while the server
 * lives: it may still apply the write after our next one).
 */
import type { Slot } from './procs.js';

export const EXPECTED_CODES: Record<string, number> = {
  ELAX_ERR_BACKPRESSURE: 429,
  ELAX_ERR_STORE_UNAVAILABLE: 503,
  ELAX_ERR_OVERLOADED: 503,
  ELAX_ERR_CLOSED: 503,
  ELAX_ERR_CAS_CONFLICT: 409,
  ELAX_ERR_REQUEST_TIMEOUT: 408,
};

const RETRY_STATUS = new Set([408, 409, 429, 500, 502, 503, 504]);
const REQUEST_TIMEOUT_MS = 20_000;
/** A Retry-After longer than this is clamped (and noted): the soak must keep moving. */
const MAX_RETRY_AFTER_S = 10;

export interface ErrorAudit {
  /** Count per "status code" key, e.g. "503 ELAX_ERR_STORE_UNAVAILABLE". */
  byCode: Map<string, number>;
  /** Network failures per kind: refused, died (its server was killed or stopped meanwhile), timeout, unexplained. */
  network: Map<string, number>;
  violations: string[];
  /** One sample message per status+code, for the summary. */
  samples: Map<string, string>;
}

export function newAudit(): ErrorAudit {
  return { byCode: new Map(), network: new Map(), violations: [], samples: new Map() };
}

const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

export interface Servers {
  /** Live servers to talk to (empty while every server is down). */
  live(): Slot[];
  /** True once the run is tearing down: give up retrying. */
  aborted(): boolean;
}

export type CallResult =
  | { kind: 'ok'; status: number; body: unknown }
  | { kind: 'http'; status: number; code: string; retryAfterS: number | null }
  | { kind: 'net'; why: 'refused' | 'died' | 'timeout' | 'unexplained'; message: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function causeCode(e: unknown): string {
  const c = (e as { cause?: { code?: string; cause?: { code?: string } } }).cause;
  return c?.code ?? c?.cause?.code ?? (e as { name?: string }).name ?? '';
}

/** One HTTP attempt against one server, with the error answer audited. */
export async function attempt(audit: ErrorAudit, slot: Slot, what: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<CallResult> {
  const startedAt = Date.now();
  const deathsBefore = slot.deaths;
  const signalsBefore = slot.signals;
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${slot.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await res.text();
  } catch (e) {
    const code = causeCode(e);
    let why: 'refused' | 'died' | 'timeout' | 'unexplained';
    if (code === 'ECONNREFUSED') why = 'refused';
    else if (code === 'TimeoutError' || (e as Error).name === 'TimeoutError') why = 'timeout';
    else {
      // The exit event can trail the socket error by a moment: look again before calling it unexplained.
      await sleep(300);
      // A server being stopped gracefully may still commit the write while it flushes: wait until it has exited,
      // so the outcome is settled (applied or not) before this client's next write.
      if (slot.signals > signalsBefore && slot.deaths === deathsBefore && slot.alive) await Promise.race([slot.waitExit(), sleep(20_000)]);
      // A keep-alive socket pooled from the slot's previous process (killed just before) fails the same way.
      const recentDeath = slot.lastExitAt > startedAt - 3_000;
      why = slot.deaths > deathsBefore || !slot.alive || recentDeath ? 'died' : 'unexplained';
    }
    bump(audit.network, why);
    if (why === 'unexplained' && audit.samples.size < 200) {
      const c = (e as { cause?: { message?: string } }).cause;
      audit.samples.set(`net ${what} ${code}`, `${new Date().toISOString().slice(11, 23)} ${slot.name} pid ${slot.child?.pid}: ${(e as Error).message}: ${c?.message ?? ''}`);
    }
    return { kind: 'net', why, message: `${code} ${(e as Error).message}` };
  }
  if (res.ok) {
    try {
      return { kind: 'ok', status: res.status, body: JSON.parse(text) };
    } catch {
      audit.violations.push(`${res.status} with a non-JSON body (${what}): ${text.slice(0, 200)}`);
      return { kind: 'http', status: 500, code: 'non-json-2xx', retryAfterS: null };
    }
  }
  let code = '';
  let message = '';
  try {
    const j = JSON.parse(text) as { code?: unknown; error?: unknown };
    code = typeof j.code === 'string' ? j.code : '';
    message = typeof j.error === 'string' ? j.error : '';
  } catch {
    /* not JSON: reported below */
  }
  const key = `${res.status} ${code || '(no code)'}`;
  bump(audit.byCode, key);
  if (!audit.samples.has(key)) audit.samples.set(key, `${what}: ${message || text.slice(0, 300)}`);
  if (!/^ELAX_ERR_/.test(code)) audit.violations.push(`${res.status} without an ELAX_ERR_* code in a JSON body (${what}): ${text.slice(0, 300)}`);
  else if (EXPECTED_CODES[code] !== res.status) audit.violations.push(`${res.status} ${code}, not a retry-safe answer to transient faults (${what}): ${message.slice(0, 300)}`);
  const ra = res.headers.get('retry-after');
  let retryAfterS: number | null = null;
  if (ra !== null) {
    const n = Number(ra);
    if (!Number.isFinite(n) || n < 0) audit.violations.push(`${res.status} ${code} with an unparseable Retry-After ${JSON.stringify(ra)} (${what})`);
    else retryAfterS = n;
  }
  if ((res.status === 429 || res.status === 503) && ra === null) audit.violations.push(`${res.status} ${code || '(no code)'} without Retry-After (${what}): ${message.slice(0, 200)}`);
  return { kind: 'http', status: res.status, code, retryAfterS };
}

export interface CallOutcome {
  /** The 2xx body, if any attempt succeeded. */
  body?: unknown;
  /** For writes: acked / refused / unknown / late (see module doc). */
  outcome: 'acked' | 'refused' | 'unknown' | 'late';
  attempts: number;
  /** One line per attempt ("hh:mm:ss.mmm server-1 pid 123: 503 ELAX_ERR_STORE_UNAVAILABLE"), for a violation's history. */
  trail: string[];
}

const clock = (t: number) => new Date(t).toISOString().slice(11, 23);

function describe(slot: string, pid: number | undefined, startedAt: number, r: CallResult): string {
  const what = r.kind === 'ok' ? String(r.status) : r.kind === 'http' ? `${r.status} ${r.code}` : `net ${r.why} (${r.message.slice(0, 80)})`;
  return `${clock(startedAt)}-${clock(Date.now())} ${slot} pid ${pid ?? '-'}: ${what}`;
}

/**
 * Retries one request across live servers until it succeeds, a non-retryable answer comes, the op's deadline
 * passes or the run aborts. Waits Retry-After (clamped) on 429/503, a short jittered backoff otherwise.
 */
export async function call(
  audit: ErrorAudit,
  servers: Servers,
  random: () => number,
  what: string,
  path: string,
  body: unknown,
  opts: {
    headers?: Record<string, string>;
    deadlineMs: number;
    /**
     * false: stop after the first attempt that may have been applied (a writer without an Idempotency-Key cannot
     * retry it without risking a second application; only attempts that were refused outright are retried).
     */
    retryUnknown?: boolean;
  },
): Promise<CallOutcome> {
  const deadline = Date.now() + opts.deadlineMs;
  let unknown = false;
  let late = false;
  let attempts = 0;
  let backoff = 100;
  const trail: string[] = [];
  while (Date.now() < deadline && !servers.aborted()) {
    const live = servers.live();
    if (live.length === 0) {
      await sleep(100);
      continue;
    }
    const slot = live[Math.floor(random() * live.length)]!;
    attempts++;
    const startedAt = Date.now();
    const pid = slot.child?.pid;
    const r = await attempt(audit, slot, what, path, body, opts.headers);
    trail.push(describe(slot.name, pid, startedAt, r));
    if (r.kind === 'ok') return { body: r.body, outcome: 'acked', attempts, trail };
    let waitMs = backoff * (0.5 + random());
    backoff = Math.min(backoff * 2, 2_000);
    if (r.kind === 'net') {
      if (r.why === 'timeout' || r.why === 'unexplained') late = true;
      else if (r.why === 'died') unknown = true;
      if (r.why === 'refused') waitMs = 100;
    } else {
      if (!RETRY_STATUS.has(r.status)) break; // a 4xx: retrying unchanged fails again (already a violation)
      if (r.status !== 429) unknown = true; // a 5xx/408/409 may hide an applied write; a 429 is refused up front
      if (r.retryAfterS !== null) waitMs = Math.min(r.retryAfterS, MAX_RETRY_AFTER_S) * 1000 + random() * 100;
    }
    if ((unknown || late) && opts.retryUnknown === false) break;
    await sleep(Math.max(0, Math.min(waitMs, deadline - Date.now())));
  }
  return { outcome: late ? 'late' : unknown ? 'unknown' : 'refused', attempts, trail };
}
