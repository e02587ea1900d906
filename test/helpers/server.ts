/** Test servers: in-process (fast, for API tests) and as child processes (for multi-process and crash tests). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { startServer, type RunningServer } from '../../server/serve.js';

export { startServerProcess, freePort } from '../../bench/lib.js';
export type { ServerProcess } from '../../bench/lib.js';

export interface TestServer extends RunningServer {
  storeDir: string;
  client(opts?: { apiKey?: string; maxRetries?: number }): Turbopuffer;
}

export function tempStoreDir(label = 'api'): string {
  return mkdtempSync(path.join(tmpdir(), `elax-${label}-`));
}

export async function startTestServer(opts: { apiKeys?: string[]; bodyLimit?: number; storeDir?: string; indexer?: boolean } = {}): Promise<TestServer> {
  const storeDir = opts.storeDir ?? tempStoreDir();
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    store: storeDir,
    apiKeys: opts.apiKeys ?? [],
    groupCommitMs: 1,
    bodyLimit: opts.bodyLimit,
    log: false,
    indexer: opts.indexer ?? false,
  });
  return {
    ...server,
    storeDir,
    client: (c = {}) => new Turbopuffer({ apiKey: c.apiKey ?? 'test-key', baseURL: server.url, maxRetries: c.maxRetries ?? 0 }),
  };
}
