/** Access to the S3 test server started by test/global-setup.ts. */
import { randomBytes } from 'node:crypto';
import { S3Store } from '../../crates-ts/store/index.js';

export interface S3TestConfig {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export function s3TestConfig(): S3TestConfig {
  const endpoint = process.env.ELAX_TEST_S3_ENDPOINT;
  if (!endpoint) {
    throw new Error(
      'ELAX_TEST_S3_ENDPOINT is not set: the S3 suites need the radosgw test server that test/global-setup.ts starts ' +
        '(do not set ELAX_SKIP_GLOBAL_SETUP=1 for a full run, or start it yourself: eval "$(scripts/s3-test-server.sh start)")',
    );
  }
  return {
    endpoint,
    bucket: process.env.ELAX_TEST_S3_BUCKET ?? 'elax-test',
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    region: process.env.AWS_REGION ?? 'us-east-1',
  };
}

/** A unique key prefix so tests never see each other's objects. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

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
