/**
 * Soak test (issue 12): two servers and two indexers on radosgw behind a fault-injecting proxy, processes killed
 * and restarted, store outages; afterwards every acknowledged write must be present, no process may have died
 * except by the harness's kills, and every error a client saw must be a clear ELAX_ERR_* answer (with Retry-After
 * on 429/503). Exits 1 on any violation. See docs/runbooks/soak.md.
 *
 *   eval "$(bash scripts/s3-test-server.sh env)"     # or start one: scripts/s3-test-server.sh start
 *   node bin/run-ts.mjs bench/soak.ts --duration-s 240 --seed 1 [--writers 6] [--readers 2] [--namespaces 3]
 *        [--pool 400] [--chaos-ms 2000,5000] [--faults p5xx=0.03,pResetBefore=0.015,...] [--no-embedded-indexer]
 *        [--gc EVERY_MS,WAL_RETENTION_MS,PART_GRACE_MS] [--keep-store always|on-failure|never] [--json report.json]
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { machine } from './lib.js';
import { runSoak, DEFAULT_FAULTS } from './soak/run.js';
import { formatSummary } from './soak/summary.js';
import type { FaultRates } from './soak/fault-proxy.js';

const { values } = parseArgs({
  options: {
    'duration-s': { type: 'string', default: '240' },
    seed: { type: 'string', default: '1' },
    writers: { type: 'string', default: '6' },
    readers: { type: 'string', default: '2' },
    namespaces: { type: 'string', default: '3' },
    pool: { type: 'string', default: '400' },
    'chaos-ms': { type: 'string', default: '2000,5000' },
    faults: { type: 'string', default: '' },
    'no-embedded-indexer': { type: 'boolean', default: false },
    'catch-up-ms': { type: 'string', default: '75000' },
    'keep-store': { type: 'string', default: 'on-failure' },
    gc: { type: 'string' },
    json: { type: 'string' },
  },
});

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${v}'`);
  return n;
}

/** `p5xx=0.05,delayMs=10-300`: overrides of DEFAULT_FAULTS. */
function parseFaults(spec: string): FaultRates {
  const f: FaultRates = { ...DEFAULT_FAULTS, delayMs: [...DEFAULT_FAULTS.delayMs] };
  for (const part of spec.split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    if (k === 'delayMs') {
      const [a, b] = (v ?? '').split('-').map(Number);
      if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`--faults delayMs=MIN-MAX, got '${v}'`);
      f.delayMs = [a!, b!];
    } else if (k && k in f) (f as unknown as Record<string, number>)[k] = positive(`faults ${k}`, v ?? '');
    else throw new Error(`--faults: unknown fault '${k}' (known: ${Object.keys(f).join(', ')})`);
  }
  return f;
}

const endpoint = process.env.ELAX_TEST_S3_ENDPOINT;
if (!endpoint) {
  console.error('ELAX_TEST_S3_ENDPOINT is not set: eval "$(bash scripts/s3-test-server.sh env)" (or `start`) first');
  process.exit(2);
}
const [cmin, cmax] = values['chaos-ms']!.split(',').map(Number);
let gc: { everyMs: number; walRetentionMs: number; partGraceMs: number } | undefined;
if (values.gc) {
  const [everyMs, walRetentionMs, partGraceMs] = values.gc.split(',').map((x) => positive('gc', x));
  if (everyMs === undefined || walRetentionMs === undefined || partGraceMs === undefined) throw new Error('--gc EVERY_MS,WAL_RETENTION_MS,PART_GRACE_MS, e.g. 10000,30000,90000');
  gc = { everyMs, walRetentionMs, partGraceMs };
}
const keep = values['keep-store'];
if (keep !== 'always' && keep !== 'on-failure' && keep !== 'never') throw new Error(`--keep-store must be always, on-failure or never`);
console.log(`machine: ${machine()}`);
const report = await runSoak({
  s3: {
    endpoint,
    bucket: process.env.ELAX_TEST_S3_BUCKET ?? 'elax-test',
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    region: process.env.AWS_REGION ?? 'us-east-1',
  },
  seed: positive('seed', values.seed!),
  durationS: positive('duration-s', values['duration-s']!),
  writers: positive('writers', values.writers!),
  readers: positive('readers', values.readers!),
  namespaces: Math.max(1, positive('namespaces', values.namespaces!)),
  poolSize: Math.max(1, positive('pool', values.pool!)),
  chaosEveryMs: [cmin ?? 2000, cmax ?? cmin ?? 5000],
  faults: parseFaults(values.faults!),
  embeddedIndexer: !values['no-embedded-indexer'],
  catchUpMs: positive('catch-up-ms', values['catch-up-ms']!),
  keepStore: keep,
  gc,
  log: (l) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${l}`),
});
console.log(formatSummary(report));
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
process.exit(report.violations.length === 0 ? 0 : 1);
