/**
 * A fault-injecting HTTP proxy for ingest tests: sits in front of a real elax server and, with seeded randomness,
 * answers writes with 429 (+ Retry-After) or 503 before forwarding, resets the connection, or — the case
 * idempotency keys exist for — forwards the write (it lands) and then answers 503 or resets anyway. It can also
 * report a fake WAL lag on the first metadata polls. Everything it did is counted, so tests can compare the
 * client's summary against the faults actually injected.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rng } from '../../bench/lib.js';

export interface FaultOptions {
  /** Probabilities per write request (evaluated in this order; the rest pass through). */
  p429?: number;
  p503Before?: number;
  pResetBefore?: number;
  p503After?: number;
  pResetAfter?: number;
  /** Retry-After values for 429s, picked at random (default ['0']). */
  retryAfter?: string[];
  /** The first `lagPolls` metadata answers claim `lagBytes` unindexed bytes. */
  lagPolls?: number;
  lagBytes?: number;
}

export interface FaultStats {
  writes: number;
  e429: number;
  e503: number;
  resets: number;
  /** Faults injected after the write was forwarded and the server answered 200. */
  landedThenFailed: number;
  lagAnswers: number;
}

export interface FaultProxy {
  url: string;
  stats: FaultStats;
  /** Idempotency keys of writes that landed although the client was told they failed. */
  landedKeys: Set<string>;
  /** Change fault rates on the fly (e.g. "the server comes back"). */
  set(o: FaultOptions): void;
  close(): Promise<void>;
}

const HOP = new Set(['host', 'connection', 'content-length', 'keep-alive', 'transfer-encoding']);

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

export async function startFaultProxy(target: string, seed: number, initial: FaultOptions = {}): Promise<FaultProxy> {
  const random = rng(seed);
  let o: FaultOptions = { ...initial };
  let lagLeft = o.lagPolls ?? 0;
  const stats: FaultStats = { writes: 0, e429: 0, e503: 0, resets: 0, landedThenFailed: 0, lagAnswers: 0 };
  const landedKeys = new Set<string>();
  const error = (res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ status: 'error', error: message, code: status === 429 ? 'ELAX_ERR_BACKPRESSURE' : 'ELAX_ERR_STORE_UNAVAILABLE' }));
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = req.url ?? '/';
      const isWrite = req.method === 'POST' && /^\/v2\/namespaces\/[^/?]+(\?|$)/.test(url);
      if (isWrite) {
        stats.writes++;
        let r = random();
        if ((r -= o.p429 ?? 0) < 0) {
          stats.e429++;
          const ra = o.retryAfter ?? ['0'];
          return error(res, 429, 'injected backpressure', { 'retry-after': ra[Math.floor(random() * ra.length)]! });
        }
        if ((r -= o.p503Before ?? 0) < 0) {
          stats.e503++;
          return error(res, 503, 'injected outage (before forwarding)');
        }
        if ((r -= o.pResetBefore ?? 0) < 0) {
          stats.resets++;
          return req.socket.destroy();
        }
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && typeof v === 'string') headers[k] = v;
      const upstream = await fetch(target + url, { method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body });
      let text = await upstream.text();
      if (isWrite && upstream.ok) {
        let r = random();
        const key = req.headers['idempotency-key'];
        if ((r -= o.p503After ?? 0) < 0) {
          stats.e503++;
          stats.landedThenFailed++;
          if (typeof key === 'string') landedKeys.add(key);
          return error(res, 503, 'injected outage (after the write landed)');
        }
        if ((r -= o.pResetAfter ?? 0) < 0) {
          stats.resets++;
          stats.landedThenFailed++;
          if (typeof key === 'string') landedKeys.add(key);
          return req.socket.destroy();
        }
      }
      if (req.method === 'GET' && /\/metadata(\?|$)/.test(url) && upstream.status === 200 && lagLeft > 0) {
        lagLeft--;
        stats.lagAnswers++;
        const m = JSON.parse(text) as Record<string, unknown>;
        m.index = { status: 'updating', unindexed_bytes: o.lagBytes ?? 4 * 1024 ** 3 };
        text = JSON.stringify(m);
      }
      const out: Record<string, string> = { 'content-type': upstream.headers.get('content-type') ?? 'application/json' };
      const ra = upstream.headers.get('retry-after');
      if (ra) out['retry-after'] = ra;
      res.writeHead(upstream.status, out);
      res.end(text);
    })().catch((e: unknown) => {
      if (!res.headersSent) error(res, 502, `proxy: ${(e as Error).message}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    landedKeys,
    set(next: FaultOptions) {
      o = { ...next };
      lagLeft = next.lagPolls ?? 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
