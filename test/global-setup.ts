/**
 * vitest global setup: makes a real S3-compatible server (Ceph radosgw, the one that honours conditional writes
 * here) available to the tests. Reuses ELAX_TEST_S3_ENDPOINT if already set; otherwise runs
 * scripts/s3-test-server.sh start (installing Ceph from Debian packages on first use) and stops it afterwards.
 * ELAX_SKIP_GLOBAL_SETUP=1 skips all of it for quick partial runs; S3 suites then fail loudly, not silently.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const script = path.join(repo, 'scripts', 's3-test-server.sh');
let startedHere = false;

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
  }
  return env;
}

export default function setup(): () => void {
  if (process.env.ELAX_SKIP_GLOBAL_SETUP === '1' || process.env.ELAX_TEST_S3_ENDPOINT) return () => undefined;
  const already = (() => {
    try {
      execFileSync('bash', [script, 'status'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  const t0 = Date.now();
  const out = execFileSync('bash', [script, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
  startedHere = !already;
  // Test workers are forked after global setup: they inherit these variables.
  Object.assign(process.env, parseEnv(out));
  if (!process.env.ELAX_TEST_S3_ENDPOINT) throw new Error(`scripts/s3-test-server.sh start printed no ELAX_TEST_S3_ENDPOINT:\n${out}`);
  console.log(`[global-setup] S3 test server at ${process.env.ELAX_TEST_S3_ENDPOINT} (${already ? 'reused' : `started in ${Date.now() - t0} ms`})`);
  return () => {
    if (startedHere) execFileSync('bash', [script, 'stop'], { stdio: 'inherit' });
  };
}
