/**
 * Answers written straight to the socket, for requests no route will answer: a request head over Node's header
 * limit (431), a malformed request (400), a request that did not arrive in time (408, possibly while a route was
 * waiting for its body). Same JSON body as every other error (`{status, error, code}`), `Connection: close`, then
 * the connection is closed: after such an error the byte stream cannot be trusted to hold a next request.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../crates-ts/core/index.js';

export type ClientErrorReason = 'headers_too_large' | 'malformed' | 'request_timeout' | 'headers_idle' | 'body_idle';

/** How long a client that does not read our error answer may keep the socket. */
const LINGER_MS = 5_000;
/** Sockets that already got an answer from here (a timeout and a parse error may both fire). */
const answered = new WeakSet<Socket>();

/** `responseStarted`: some of another answer already went out on this socket; then only close (Node's own rule). */
export function answerAndClose(socket: Socket, status: number, code: ErrorCode, message: string, responseStarted: boolean): void {
  if (socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  if (socket.writable && !responseStarted) {
    const body = JSON.stringify({ status: 'error', error: message, code });
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    // end() sends the answer and a FIN; close for good once it is out (or after a grace, if the client never reads).
    socket.once('finish', () => socket.destroy());
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  } else {
    socket.destroy();
  }
}

/** What Node's clientError codes mean for the client, and the answer each gets. */
export function classifyClientError(err: NodeJS.ErrnoException): { reason: ClientErrorReason; status: number; code: ErrorCode; message: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return {
      reason: 'headers_too_large',
      status: 431,
      code: 'ELAX_ERR_HEADERS_TOO_LARGE',
      message: `the request line and headers exceed the server limit of ${http.maxHeaderSize} bytes: shorten the URL or headers (filters belong in the body)`,
    };
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      reason: 'request_timeout',
      status: 408,
      code: 'ELAX_ERR_REQUEST_TIMEOUT',
      message: 'the request headers or body did not arrive within the server timeout (headers or request timeout); the connection is closed',
    };
  }
  return { reason: 'malformed', status: 400, code: 'ELAX_ERR_INVALID_REQUEST', message: `malformed HTTP request (${err.code ?? err.message})` };
}
