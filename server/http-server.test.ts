import { describe, it, expect } from 'vitest';
import { DEFAULT_HTTP_TIMEOUTS, resolveHttpTimeouts } from './http-server.js';
import { classifyClientError } from './client-errors.js';

describe('resolveHttpTimeouts', () => {
  it('should fill unset fields with the defaults', () => {
    expect(resolveHttpTimeouts()).toEqual(DEFAULT_HTTP_TIMEOUTS);
    expect(resolveHttpTimeouts({ idleTimeoutMs: 5 })).toEqual({ ...DEFAULT_HTTP_TIMEOUTS, idleTimeoutMs: 5 });
    // A whole request may take much longer than its headers, and than any pause.
    expect(DEFAULT_HTTP_TIMEOUTS.requestTimeoutMs).toBeGreaterThan(10 * DEFAULT_HTTP_TIMEOUTS.idleTimeoutMs);
  });

  it('should refuse non-positive values and headers longer than the whole request', () => {
    expect(() => resolveHttpTimeouts({ idleTimeoutMs: 0 })).toThrow(/idleTimeoutMs/);
    expect(() => resolveHttpTimeouts({ keepAliveTimeoutMs: 1.5 })).toThrow(/keepAliveTimeoutMs/);
    expect(() => resolveHttpTimeouts({ headersTimeoutMs: 2000, requestTimeoutMs: 1000 })).toThrow(/--headers-timeout-ms 2000.*--request-timeout-ms 1000/);
  });
});

describe('classifyClientError', () => {
  const c = (code: string) => classifyClientError(Object.assign(new Error('x'), { code }));
  it('should map Node parser and timeout errors to status and code', () => {
    expect(c('HPE_HEADER_OVERFLOW')).toMatchObject({ status: 431, code: 'ELAX_ERR_HEADERS_TOO_LARGE', reason: 'headers_too_large' });
    expect(c('ERR_HTTP_REQUEST_TIMEOUT')).toMatchObject({ status: 408, code: 'ELAX_ERR_REQUEST_TIMEOUT', reason: 'request_timeout' });
    expect(c('HPE_INVALID_METHOD')).toMatchObject({ status: 400, code: 'ELAX_ERR_INVALID_REQUEST', reason: 'malformed' });
  });
});
