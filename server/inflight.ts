/**
 * The node-wide budget of requests and request-body bytes in flight: what keeps memory bounded when many large
 * requests arrive at once (each body is buffered whole, then parsed into documents several times its size).
 *
 *  - A request is admitted when it arrives (its head has been read, its body not yet) if the node has fewer than
 *    `maxRequests` in flight and its declared Content-Length fits the bytes left; otherwise it gets 503
 *    ELAX_ERR_OVERLOADED with Retry-After before a byte of its body is read (Node then drains and drops the body).
 *  - A body without Content-Length (chunked), or one that decompresses to more than it declared, is charged as it
 *    streams; the chunk that would overflow the budget fails the request with the same 503, and the connection is
 *    closed (the rest of that body is not worth reading).
 *  - The charge is returned when the response is finished or the connection closes (success, error, abort).
 * /health, /readyz, /metrics and /admin/* are exempt: an overloaded node must still answer its operators.
 */
import { Transform, type Readable } from 'node:stream';
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import { ElaxError } from '../crates-ts/core/index.js';

/** Envoy's default circuit-breaker limit of concurrent requests; far above what 2-16 cores serve at once. */
export const DEFAULT_MAX_INFLIGHT_REQUESTS = 1024;
/** Seconds a rejected client should wait: in-flight requests finish in about that time. */
const RETRY_AFTER_SECONDS = 1;

/**
 * A quarter of V8's heap limit (but at least one body of the size limit, so any allowed body can get in): a JSON
 * body lives as bytes, then as a string, then as parsed documents, which together take several times its size.
 */
export function defaultMaxInflightBytes(bodyLimit: number): number {
  return Math.max(bodyLimit, Math.floor(getHeapStatistics().heap_size_limit / 4));
}

export type OverloadLimit = 'requests' | 'bytes';

export class InflightBudget {
  requests = 0;
  bytes = 0;

  constructor(
    readonly maxRequests: number,
    readonly maxBytes: number,
    private readonly onReject: (limit: OverloadLimit) => void = () => {},
  ) {
    for (const [name, v] of [['maxRequests', maxRequests], ['maxBytes', maxBytes]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
    }
  }

  /** Admit a request declaring `declared` body bytes, or throw ELAX_ERR_OVERLOADED. */
  admit(declared: number): InflightTicket {
    if (this.requests >= this.maxRequests) {
      throw this.overloaded('requests', `${this.requests} requests in flight on this node (limit ${this.maxRequests})`);
    }
    if (this.bytes + declared > this.maxBytes) {
      throw this.overloaded('bytes', `${this.bytes} request bytes in flight on this node; ${declared} more would exceed the limit of ${this.maxBytes}`);
    }
    this.requests++;
    this.bytes += declared;
    return new InflightTicket(this, declared);
  }

  /** @internal (InflightTicket) */
  grow(extra: number): void {
    if (this.bytes + extra > this.maxBytes) {
      throw this.overloaded('bytes', `${this.bytes} request bytes in flight on this node; this body's next ${extra} would exceed the limit of ${this.maxBytes}`);
    }
    this.bytes += extra;
  }

  /** @internal (InflightTicket) */
  release(bytes: number): void {
    this.requests--;
    this.bytes -= bytes;
  }

  private overloaded(limit: OverloadLimit, why: string): ElaxError {
    this.onReject(limit);
    return new ElaxError('ELAX_ERR_OVERLOADED', `overloaded: ${why}; retry after ${RETRY_AFTER_SECONDS} s`, { retryAfter: RETRY_AFTER_SECONDS });
  }
}

/** One admitted request's share of the budget. */
export class InflightTicket {
  private released = false;

  constructor(
    private readonly budget: InflightBudget,
    private charged: number,
  ) {}

  /** Charge the body up to `total` bytes received so far (throws ELAX_ERR_OVERLOADED if that does not fit). */
  chargeUpTo(total: number): void {
    if (this.released || total <= this.charged) return;
    this.budget.grow(total - this.charged);
    this.charged = total;
  }

  /** Return the charge (idempotent). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.release(this.charged);
  }
}

const EXEMPT = new Set(['/health', '/readyz', '/metrics']);
const exempt = (path: string) => EXEMPT.has(path) || path.startsWith('/admin/');

/**
 * Admission (onRequest) and body counting (preParsing). Register after the hooks that should run first (API-key
 * check: an unauthenticated request is a 401, not a 503) and after the gzip preParsing hook (so decompressed
 * bytes, what is buffered, are counted). Bodies declared larger than `bodyLimit` are left to fastify's 413.
 */
export function registerInflightBudget(app: FastifyInstance, budget: InflightBudget, bodyLimit: number): void {
  const tickets = new WeakMap<object, InflightTicket>();
  app.addHook('onRequest', async (request, reply) => {
    if (exempt(request.url.split('?')[0] ?? '')) return;
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > bodyLimit) return;
    const ticket = budget.admit(Number.isFinite(declared) && declared > 0 ? declared : 0);
    tickets.set(request.raw, ticket);
    reply.raw.once('close', () => ticket.release());
  });

  app.addHook('preParsing', async (request, reply, payload: Readable) => {
    const ticket = tickets.get(request.raw);
    if (!ticket) return payload;
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        // Past the body limit fastify answers 413 on this very chunk: that is not an overload.
        if (received <= bodyLimit) {
          try {
            ticket.chargeUpTo(received);
          } catch (e) {
            reply.header('connection', 'close');
            return done(e as Error);
          }
        }
        done(null, chunk);
      },
    });
    // Fastify checks Content-Length against the encoded length the gzip stream reports.
    Object.defineProperty(counter, 'receivedEncodedLength', { get: () => (payload as Readable & { receivedEncodedLength?: number }).receivedEncodedLength });
    payload.on('error', (e) => counter.destroy(e));
    return payload.pipe(counter);
  });
}
