/**
 * Raw TCP clients for tests of the HTTP layer itself (timeouts, header limits, admission before the body is
 * read): fetch cannot send half a request and then go quiet, a socket can.
 */
import net from 'node:net';
import { once } from 'node:events';

export interface RawClient {
  sock: net.Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves with the time (Date.now()) the connection closed. */
  closed: Promise<number>;
  /** Resolves once the server has sent a complete response (headers + Content-Length body). */
  response(): Promise<RawResponse>;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json(): Record<string, unknown>;
}

export async function rawConnect(port: number): Promise<RawClient> {
  const sock = net.connect(port, '127.0.0.1');
  let data = '';
  const waiters: (() => void)[] = [];
  sock.on('data', (c: Buffer) => {
    data += c.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  sock.on('error', () => {}); // EPIPE / ECONNRESET after the server closed: the test looks at what was received
  const closed = new Promise<number>((resolve) =>
    sock.once('close', () => {
      for (const w of waiters.splice(0)) w();
      resolve(Date.now());
    }),
  );
  await once(sock, 'connect');
  const response = async (): Promise<RawResponse> => {
    for (;;) {
      const parsed = parseResponse(data);
      if (parsed) return parsed;
      if (sock.destroyed) throw new Error(`connection closed without a complete response; received: ${JSON.stringify(data)}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { sock, received: () => data, closed, response };
}

/** The first complete HTTP response in `text`, or null if it has not fully arrived. */
export function parseResponse(text: string): RawResponse | null {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(statusLine!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (text.length < end + 4 + length) return null;
  const body = text.slice(end + 4, end + 4 + length);
  return { status, headers, body, json: () => JSON.parse(body) as Record<string, unknown> };
}

/** The head of a POST with a JSON body of `length` bytes (the body itself is sent separately). */
export function postHead(path: string, length: number, extra: Record<string, string> = {}): string {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${length}`];
  for (const [k, v] of Object.entries(extra)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A write body of exactly `bytes` bytes: one row whose `pad` attribute fills the rest. */
export function writeBodyOfSize(bytes: number, id = 1): string {
  const head = `{"upsert_rows":[{"id":${id},"pad":"`;
  const tail = '"}]}';
  const pad = bytes - head.length - tail.length;
  if (pad < 0) throw new Error(`a write body cannot be as small as ${bytes} bytes`);
  return head + 'x'.repeat(pad) + tail;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
