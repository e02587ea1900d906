/**
 * Access to the S3 test server (Ceph radosgw) that test/global-setup.ts starts. Tests that need S3 call
 * s3TestConfig() or makeTestS3Store(): without a server they FAIL with a message saying how to get one, never skip.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { S3Store } from '../../crates-ts/store/s3.js';

export interface S3TestConfig {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

function variable(name: string): string | undefined {
  if (process.env[name]) return process.env[name];
  try {
    return inject('elaxS3Env')?.[name];
  } catch {
    return undefined; // not inside a vitest worker
  }
}

export function s3TestConfig(): S3TestConfig {
  const endpoint = variable('ELAX_TEST_S3_ENDPOINT');
  if (!endpoint) {
    const why =
      process.env.ELAX_SKIP_GLOBAL_SETUP === '1'
        ? 'ELAX_SKIP_GLOBAL_SETUP=1 is set, so test/global-setup.ts did not start the S3 test server (that flag is for partial local runs without S3 suites)'
        : 'test/global-setup.ts did not provide an S3 test server';
    throw new Error(
      `ELAX_TEST_S3_ENDPOINT is not set: ${why}. Run the full suite without ELAX_SKIP_GLOBAL_SETUP, or start the server yourself: ` +
        'eval "$(bash scripts/s3-test-server.sh start)"',
    );
  }
  return {
    endpoint,
    bucket: variable('ELAX_TEST_S3_BUCKET') ?? 'elax-test',
    accessKeyId: variable('AWS_ACCESS_KEY_ID') ?? '',
    secretAccessKey: variable('AWS_SECRET_ACCESS_KEY') ?? '',
    region: variable('AWS_REGION') ?? 'us-east-1',
  };
}

/** A unique key prefix so tests (and concurrent test runs) never see each other's objects. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** An S3Store on the test bucket under a fresh unique prefix. */
export function makeTestS3Store(label: string): S3Store {
  const c = s3TestConfig();
  return new S3Store({
    bucket: c.bucket,
    prefix: uniquePrefix(label),
    endpoint: c.endpoint,
    region: c.region,
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
  });
}

/** Environment for a child `elax` process using the S3 test server. */
export function s3ChildEnv(): Record<string, string> {
  const c = s3TestConfig();
  return { ELAX_S3_ENDPOINT: c.endpoint, AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_REGION: c.region };
}
