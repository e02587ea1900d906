/**
 * The node:http server elax listens on (given to fastify as its serverFactory), and what it does about clients
 * that are slow, stalled or send garbage. Fastify's defaults disable Node's request timeout and set no socket
 * timeout, so a client that sent half a body and went quiet held its connection (and its buffered bytes) forever.
 *
 * Four limits, all on the client's side of the exchange (never on the time the server takes to answer):
 *  - headers:    the request line and headers must arrive within this (slowloris); Node's headersTimeout.
 *  - request:    the whole request, body included, must arrive within this; Node's requestTimeout. Generous,
 *                because a 512 MiB body on a slow link takes long; the idle limit is what catches a stalled one.
 *  - idle:       at most this long without a byte while a request's head or body is arriving, whatever its size.
 *                Silence while the server works on a fully received request is not the client's fault and is
 *                ignored; silence while the client does not read its response closes the connection.
 *  - keep-alive: an idle connection between requests is closed (silently) after this.
 * A stalled or timed-out request gets a 408 JSON answer (ELAX_ERR_REQUEST_TIMEOUT) when nothing of a response has
 * been written yet, then the connection is closed (client-errors.ts).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { answerAndClose, classifyClientError, type ClientErrorReason } from './client-errors.js';

export interface HttpTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: Readonly<HttpTimeouts> = Object.freeze({
  // Node's own default: headers are a few KiB, even a slow link sends them in well under a second.
  headersTimeoutMs: 60_000,
  // 30 min: a 512 MiB body at 2.4 Mbit/s. Only a client that keeps trickling is cut by this; a stalled one is
  // cut by the idle timeout long before.
  requestTimeoutMs: 30 * 60_000,
  // nginx's client_body_timeout is 60 s; 30 s is still far beyond any pause of a healthy upload.
  idleTimeoutMs: 30_000,
  // Longer than the 60 s idle timeout of common load balancers (AWS ALB), so they, not we, close idle
  // connections: a request racing our close would get a 502 from the balancer (fastify's default too).
  keepAliveTimeoutMs: 72_000,
});

/** Unset fields take the defaults; every value must be a positive integer and headers <= request (as Node requires). */
export function resolveHttpTimeouts(t: Partial<HttpTimeouts> = {}): HttpTimeouts {
  const out: HttpTimeouts = { ...DEFAULT_HTTP_TIMEOUTS };
  for (const k of Object.keys(DEFAULT_HTTP_TIMEOUTS) as (keyof HttpTimeouts)[]) {
    const v = t[k];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${k} must be a positive integer number of milliseconds, got ${v}`);
    out[k] = v;
  }
  if (out.headersTimeoutMs > out.requestTimeoutMs) {
    throw new Error(
      `the headers timeout (--headers-timeout-ms ${out.headersTimeoutMs}) must not exceed the request timeout (--request-timeout-ms ${out.requestTimeoutMs})`,
    );
  }
  return out;
}

/** The request being served on a socket, and how many bytes the socket had read when the previous one was done. */
interface SocketState {
  req?: http.IncomingMessage;
  res?: http.ServerResponse;
  doneBytes: number;
}

export type ClientErrorListener = (reason: ClientErrorReason, socket: Socket) => void;

/** Per socket (sockets are unique across servers, so one map serves them all). */
const sockets = new WeakMap<Socket, SocketState>();
const stateOf = (s: Socket) => {
  let st = sockets.get(s);
  if (!st) sockets.set(s, (st = { doneBytes: 0 }));
  return st;
};

/**
 * Fastify's clientErrorHandler (Node's `clientError` event: an unparsable or oversized request head, a headers or
 * request timeout): answer with JSON and close. A reset or already closed socket needs nothing.
 */
export function clientErrorHandler(onClientError: ClientErrorListener) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const c = classifyClientError(err);
    onClientError(c.reason, socket);
    answerAndClose(socket, c.status, c.code, c.message, sockets.get(socket)?.res?.headersSent ?? false);
  };
}

/** A fastify serverFactory: an http.Server with these timeouts and the stalled-client policy above. */
export function httpServerFactory(t: HttpTimeouts, onClientError: ClientErrorListener) {
  return (handler: http.RequestListener): http.Server => {
    const server = http.createServer(
      {
        headersTimeout: t.headersTimeoutMs,
        requestTimeout: t.requestTimeoutMs,
        // How often Node checks the two limits above (default 30 s would make them that coarse).
        connectionsCheckingInterval: Math.max(10, Math.min(5_000, Math.floor(t.headersTimeoutMs / 4))),
      },
      handler,
    );
    server.keepAliveTimeout = t.keepAliveTimeoutMs;
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = req.socket;
      const st = stateOf(socket);
      st.req = req;
      st.res = res;
      // Done = answered and its body fully read (an answered request's unread body is drained by Node).
      const done = () => {
        if (st.res !== res || !res.writableFinished || !req.complete) return;
        st.req = st.res = undefined;
        st.doneBytes = socket.bytesRead;
      };
      res.once('finish', done);
      req.once('end', done);
    });
    // Node re-arms the socket timeout to keepAliveTimeout between requests and back to this one for each request.
    server.setTimeout(t.idleTimeoutMs);
    server.on('timeout', (socket: Socket) => {
      const st = stateOf(socket);
      const { req, res } = st;
      if (req && res) {
        if (!req.complete) {
          // The body stopped arriving.
          if (!res.headersSent) return stalled(socket, 'body_idle');
          return void socket.destroy(); // already answered (e.g. 413/503 before the body): just close
        }
        // Fully received: the server is working on it (not the client's fault), or the client does not read the
        // answer (elax writes each answer whole, so bytes still queued mean the client stopped reading).
        if (res.headersSent && socket.writableLength > 0) socket.destroy();
        return;
      }
      // Between requests: bytes since the last one mean a request head stopped arriving; none, that the connection
      // sat idle (the keep-alive timeout, or a connection that never sent anything).
      if (socket.bytesRead > st.doneBytes) return stalled(socket, 'headers_idle');
      socket.destroy();
    });
    const stalled = (socket: Socket, reason: 'body_idle' | 'headers_idle') => {
      onClientError(reason, socket);
      const what = reason === 'body_idle' ? 'request body' : 'request headers';
      // socket.timeout: the idle timeout, or the keep-alive one when a reused connection's next head stalled.
      const ms = socket.timeout || t.idleTimeoutMs;
      answerAndClose(socket, 408, 'ELAX_ERR_REQUEST_TIMEOUT', `no bytes of the ${what} for ${ms} ms (idle timeout); the connection is closed`, false);
    };
    return server;
  };
}
