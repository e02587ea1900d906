/**
 * The one error catalogue. Codes and kinds are API (clients and docs/errors.md rely on them); messages are not.
 *
 * kind tells the caller what to do:
 *  - invalid:            the request is wrong; retrying it unchanged fails again (HTTP 4xx)
 *  - not_found:          the namespace or object does not exist (404)
 *  - conflict_retry:     lost a compare-and-swap race; re-read and retry
 *  - unavailable_retry:  a dependency (object store) failed or is throttling; retry with backoff
 *  - corrupt:            stored data violates an invariant; needs an operator
 *  - closed:             the component is shutting down
 */
export type ErrorKind = 'invalid' | 'not_found' | 'unauthorized' | 'conflict_retry' | 'unavailable_retry' | 'corrupt' | 'closed' | 'internal';

interface CatalogueEntry {
  status: number;
  kind: ErrorKind;
  meaning: string;
}

export const ERRORS = {
  ELAX_ERR_INVALID_REQUEST: { status: 400, kind: 'invalid', meaning: 'The request body or parameters are malformed or violate a documented limit.' },
  ELAX_ERR_INVALID_NAMESPACE: { status: 400, kind: 'invalid', meaning: 'The namespace name is not 1-128 characters of [A-Za-z0-9-_.].' },
  ELAX_ERR_INVALID_ID: { status: 400, kind: 'invalid', meaning: 'A document id is not a u64, a UUID or a string of at most 64 bytes.' },
  ELAX_ERR_DUPLICATE_ID: { status: 400, kind: 'invalid', meaning: 'A write request names the same document id more than once (in upserts, patches or deletes).' },
  ELAX_ERR_INVALID_VECTOR: { status: 400, kind: 'invalid', meaning: 'A vector has the wrong dimensions, a non-finite value, or cannot be decoded.' },
  ELAX_ERR_SCHEMA_CONFLICT: { status: 400, kind: 'invalid', meaning: "A value or schema change does not match the attribute's existing type." },
  ELAX_ERR_INVALID_FILTER: { status: 400, kind: 'invalid', meaning: 'A filter uses an unknown operator, a wrong operand, or an attribute that cannot be filtered.' },
  ELAX_ERR_INVALID_QUERY: { status: 400, kind: 'invalid', meaning: 'rank_by, top_k, aggregations or projections are malformed or exceed limits.' },
  ELAX_ERR_FILTER_WRITE_LIMIT: {
    status: 400,
    kind: 'invalid',
    meaning: 'A delete_by_filter or patch_by_filter matches more documents than one request may change (5M / 50k), and *_allow_partial is not set.',
  },
  ELAX_ERR_NO_CLUSTERED_INDEX: {
    status: 400,
    kind: 'invalid',
    meaning: 'The operation (a recall probe depth, recall tuning) needs the namespace to have clustered (IVF, format-3) parts, and it has none.',
  },
  ELAX_ERR_PAYLOAD_TOO_LARGE: { status: 413, kind: 'invalid', meaning: 'The request body exceeds the size cap (512 MiB by default).' },
  ELAX_ERR_HEADERS_TOO_LARGE: { status: 431, kind: 'invalid', meaning: 'The request line or headers exceed the server limit.' },
  ELAX_ERR_REQUEST_TIMEOUT: { status: 408, kind: 'unavailable_retry', meaning: 'The client did not send the request headers or body within the server timeout.' },
  ELAX_ERR_UNAUTHORIZED: { status: 401, kind: 'unauthorized', meaning: 'An API key is configured and the request did not carry a valid one.' },
  ELAX_ERR_NAMESPACE_NOT_FOUND: { status: 404, kind: 'not_found', meaning: 'The namespace does not exist (never written, or deleted).' },
  ELAX_ERR_NOT_FOUND: { status: 404, kind: 'not_found', meaning: 'No such route or object.' },
  ELAX_ERR_BACKPRESSURE: { status: 429, kind: 'unavailable_retry', meaning: 'Too much unindexed WAL for this namespace; retry after the Retry-After delay.' },
  ELAX_ERR_CAS_CONFLICT: { status: 409, kind: 'conflict_retry', meaning: 'Lost a compare-and-swap race on an object; re-read and retry.' },
  ELAX_ERR_QUERY_QUEUE_FULL: { status: 429, kind: 'unavailable_retry', meaning: 'The node is running and queueing as many queries as it allows; retry after the Retry-After delay.' },
  ELAX_ERR_QUERY_TIMEOUT: { status: 504, kind: 'unavailable_retry', meaning: 'The query did not finish within its time budget (--query-timeout-ms or X-Elax-Query-Timeout-Ms) and was stopped.' },
  ELAX_ERR_QUERY_CANCELLED: { status: 499, kind: 'closed', meaning: 'The client closed the connection before the query finished; the query was stopped (nobody receives this response).' },
  ELAX_ERR_OVERLOADED: { status: 503, kind: 'unavailable_retry', meaning: 'The node has too many requests or request bytes in flight; retry after the Retry-After delay.' },
  ELAX_ERR_STORE_UNAVAILABLE: { status: 503, kind: 'unavailable_retry', meaning: 'The object store failed or could not be reached.' },
  ELAX_ERR_STORE_NO_CAS: { status: 500, kind: 'internal', meaning: 'The object store ignores conditional writes (If-None-Match / If-Match); elax refuses to run on it.' },
  ELAX_ERR_CORRUPT: { status: 500, kind: 'corrupt', meaning: 'A stored object is unreadable or violates an invariant.' },
  ELAX_ERR_INCOMPATIBLE_FORMAT: { status: 500, kind: 'corrupt', meaning: 'A stored object has a format version this build cannot read.' },
  ELAX_ERR_CLOSED: { status: 503, kind: 'closed', meaning: 'The server is shutting down.' },
  ELAX_ERR_INTERNAL: { status: 500, kind: 'internal', meaning: 'An unexpected internal error.' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERRORS;

export class ElaxError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly status: number;
  /** Seconds a client should wait before retrying (429/503). */
  retryAfter?: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ElaxError';
    this.code = code;
    this.kind = ERRORS[code].kind;
    this.status = ERRORS[code].status;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

/** Shorthand for the most common error: a 400 naming the problem. */
export function invalid(message: string, code: ErrorCode = 'ELAX_ERR_INVALID_REQUEST'): ElaxError {
  return new ElaxError(code, message);
}

export function isElaxError(e: unknown, code?: ErrorCode): e is ElaxError {
  return e instanceof ElaxError && (code === undefined || e.code === code);
}
