/**
 * vitest global setup: makes a real S3-compatible server (Ceph radosgw, the one installable here that honours
 * conditional writes) available to the tests.
 *
 *  - ELAX_SKIP_GLOBAL_SETUP=1: do nothing (quick partial runs). S3 suites then fail with a message saying so,
 *    unless ELAX_TEST_S3_ENDPOINT is set by hand (eval "$(scripts/s3-test-server.sh env)").
 *  - ELAX_TEST_S3_ENDPOINT already set: reuse that server, never stop it.
 *  - otherwise: `scripts/s3-test-server.sh start` (installs Ceph from Debian packages on first use; reuses a server
 *    that is already running), registered as a user with our pid; teardown releases it, which stops the server
 *    only if a test run started it and no other live test run still uses it.
 *
 * The server's variables are put into process.env before any test worker exists, so forked workers inherit them;
 * they are also `provide`d (inject('elaxS3Env')) for pools that do not inherit the environment.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    elaxS3Env: Record<string, string>;
  }
}

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const script = path.join(repo, 'scripts', 's3-test-server.sh');
const S3_VARS = ['ELAX_TEST_S3_ENDPOINT', 'ELAX_TEST_S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'];

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
  }
  return env;
}

function currentS3Env(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of S3_VARS) if (process.env[k]) env[k] = process.env[k]!;
  return env;
}

export default function setup(project: TestProject): (() => void) | undefined {
  if (process.env.ELAX_SKIP_GLOBAL_SETUP === '1') {
    if (!process.env.ELAX_TEST_S3_ENDPOINT) console.log('[global-setup] ELAX_SKIP_GLOBAL_SETUP=1: no S3 test server (S3 suites will fail)');
    project.provide('elaxS3Env', currentS3Env());
    return undefined;
  }
  if (process.env.ELAX_TEST_S3_ENDPOINT) {
    console.log(`[global-setup] using the S3 test server at ${process.env.ELAX_TEST_S3_ENDPOINT} (ELAX_TEST_S3_ENDPOINT was set)`);
    project.provide('elaxS3Env', currentS3Env());
    return undefined;
  }
  const user = String(process.pid);
  const t0 = Date.now();
  const start = () =>
    execFileSync('bash', [script, 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 300_000,
      env: { ...process.env, ELAX_S3_USER: user },
    });
  let out: string;
  try {
    out = start();
  } catch (e) {
    // A single-node Ceph start occasionally fails in one of its steps; a clean second start has always worked.
    console.error(`[global-setup] S3 test server failed to start (${(e as Error).message.split('\n')[0]}); retrying once`);
    execFileSync('bash', [script, 'stop'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
    out = start();
  }
  const env = parseEnv(out);
  if (!env.ELAX_TEST_S3_ENDPOINT) throw new Error(`scripts/s3-test-server.sh start printed no ELAX_TEST_S3_ENDPOINT:\n${out}`);
  Object.assign(process.env, env);
  project.provide('elaxS3Env', env);
  console.log(`[global-setup] S3 test server at ${env.ELAX_TEST_S3_ENDPOINT} ready after ${Date.now() - t0} ms`);
  return () => {
    execFileSync('bash', [script, 'release', user], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
  };
}
