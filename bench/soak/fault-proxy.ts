/**
 * A fault-injecting HTTP proxy between elax processes and an S3 endpoint (radosgw). Requests are forwarded
 * byte for byte with their Host header unchanged, so SigV4 signatures made for the proxy's address still verify
 * at the upstream (radosgw checks the signature against the Host it receives, and path-style addressing does not
 * depend on it).
 *
 * Faults, drawn per request from one seeded RNG (the sequence of draws is reproducible; which request gets which
 * draw depends on arrival order, so a run is reproducible in distribution, not request by request):
 *  - `p5xx`:             answer 500 InternalError / 503 SlowDown / 503 ServiceUnavailable (S3 XML body), not forwarded;
 *  - `pResetBefore`:     reset the connection before forwarding (nothing reaches the store);
 *  - `pDelay`:           hold the request `delayMs` (random in [min, max]) before forwarding;
 *  - `pDropAfterWrite`:  forward a PUT/POST/DELETE, let the store apply it, then reset the connection instead of
 *                        answering: the caller cannot tell whether its (conditional) write landed;
 *  - `p5xxAfterWrite`:   same, but answer 500 InternalError instead of the store's 2xx.
 * `outage(ms)` answers every request with 503 SlowDown for a while (a brief store brown-out).
 * The proxy keeps forwarding a request whose client went away (a killed process's PUT can still land), as a real
 * network would deliver bytes already sent.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { rng } from '../lib.js';

export interface FaultRates {
  p5xx: number;
  pResetBefore: number;
  pDelay: number;
  delayMs: [number, number];
  pDropAfterWrite: number;
  p5xxAfterWrite: number;
}

export const NO_FAULTS: FaultRates = { p5xx: 0, pResetBefore: 0, pDelay: 0, delayMs: [0, 0], pDropAfterWrite: 0, p5xxAfterWrite: 0 };

export interface FaultCounts {
  requests: number;
  writes: number;
  e5xx: number;
  resetBefore: number;
  delayed: number;
  droppedAfterWrite: number;
  e5xxAfterWrite: number;
  outage503: number;
  /** Upstream connection failures (radosgw unreachable): answered 503 to the caller. */
  upstreamErrors: number;
}

export interface FaultProxy {
  /** http://127.0.0.1:port — pass as ELAX_S3_ENDPOINT / --s3-endpoint. */
  url: string;
  counts: FaultCounts;
  setRates(r: FaultRates): void;
  /** Every request is answered 503 SlowDown for `ms` milliseconds from now. */
  outage(ms: number): void;
  close(): Promise<void>;
}

const S3_ERRORS: [number, string, string][] = [
  [503, 'SlowDown', 'Please reduce your request rate.'],
  [500, 'InternalError', 'We encountered an internal error. Please try again.'],
  [503, 'ServiceUnavailable', 'Service is unable to handle request.'],
];

function s3Error(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string): void {
  const body =
    req.method === 'HEAD'
      ? ''
      : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>soak-fault</RequestId></Error>`;
  // Drain what the caller sends so the keep-alive connection stays usable.
  req.resume();
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'soak-fault' });
  res.end(body);
}

/** An RST, not a FIN: the caller sees ECONNRESET, as with a load balancer or a crashed store node. */
function reset(socket: Socket): void {
  const s = socket as Socket & { resetAndDestroy?: () => void };
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else socket.destroy();
}

const isWrite = (method: string | undefined) => method === 'PUT' || method === 'POST' || method === 'DELETE';

export async function startFaultProxy(upstream: string, seed: number, rates: FaultRates = NO_FAULTS): Promise<FaultProxy> {
  const target = new URL(upstream);
  const random = rng(seed);
  let r: FaultRates = { ...rates };
  let outageUntil = 0;
  const counts: FaultCounts = { requests: 0, writes: 0, e5xx: 0, resetBefore: 0, delayed: 0, droppedAfterWrite: 0, e5xxAfterWrite: 0, outage503: 0, upstreamErrors: 0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;

  const server = http.createServer((req, res) => {
    counts.requests++;
    const write = isWrite(req.method);
    if (write) counts.writes++;
    if (Date.now() < outageUntil) {
      counts.outage503++;
      return s3Error(req, res, 503, 'SlowDown', 'Please reduce your request rate.');
    }
    // One draw per fault kind keeps each rate independent of the others' settings.
    const d5xx = random();
    const dReset = random();
    const dDelay = random();
    const dAfter = random();
    const delay = r.delayMs[0] + random() * (r.delayMs[1] - r.delayMs[0]);
    if (d5xx < r.p5xx) {
      counts.e5xx++;
      const [status, code, message] = pick(S3_ERRORS);
      return s3Error(req, res, status, code, message);
    }
    if (dReset < r.pResetBefore) {
      counts.resetBefore++;
      return reset(req.socket);
    }
    const dropAfter = write && dAfter < r.pDropAfterWrite;
    const errorAfter = write && !dropAfter && dAfter < r.pDropAfterWrite + r.p5xxAfterWrite;
    const forward = () => {
      const up = http.request(
        { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (upRes) => {
          const ok = (upRes.statusCode ?? 500) < 300;
          if (ok && dropAfter) {
            counts.droppedAfterWrite++;
            upRes.resume();
            return upRes.on('end', () => reset(req.socket));
          }
          if (ok && errorAfter) {
            counts.e5xxAfterWrite++;
            upRes.resume();
            return upRes.on('end', () => s3Error(req, res, 500, 'InternalError', 'We encountered an internal error. Please try again.'));
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => {
        counts.upstreamErrors++;
        if (!res.headersSent) s3Error(req, res, 503, 'ServiceUnavailable', 'proxy: upstream unreachable');
        else res.destroy();
      });
      req.pipe(up);
    };
    if (dDelay < r.pDelay) {
      counts.delayed++;
      // Buffer nothing: the body stays in the socket until forwarding starts (backpressure holds the sender).
      req.pause();
      setTimeout(forward, delay);
    } else {
      forward();
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setRates(next) {
      r = { ...next };
    },
    outage(ms) {
      outageUntil = Math.max(outageUntil, Date.now() + ms);
    },
    close() {
      outageUntil = 0;
      server.closeAllConnections();
      agent.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
