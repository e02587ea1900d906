/**
 * Soak (issue 12, availability): the bench/soak.ts driver for a short run with a fixed seed — two servers and two
 * indexers on radosgw behind a fault-injecting proxy, processes killed and restarted, a store outage — must end
 * with zero violations: every acknowledged write present with its value, no process dead except by the
 * harness's kills, every client-visible error a clear ELAX_ERR_* answer with Retry-After on 429/503.
 * Also checks the harness's own parts: the state model and the proxy (SigV4 through it, writes that land although
 * the caller saw a reset).
 */
import { describe, it, expect } from 'vitest';
import { S3Store } from '../crates-ts/store/s3.js';
import { runSoak, DEFAULT_FAULTS } from '../bench/soak/run.js';
import { formatSummary } from '../bench/soak/summary.js';
import { startFaultProxy, NO_FAULTS } from '../bench/soak/fault-proxy.js';
import { ABSENT, StateModel, stateOfRow, docFor } from '../bench/soak/model.js';
import { s3TestConfig, uniquePrefix } from './helpers/s3-env.js';

describe('soak state model', () => {
  it('should require the acknowledged state and accept both sides of an unknown write', () => {
    const m = new StateModel();
    m.apply([1, 2], { kind: 'upsert', v: 1 }, 'acked');
    m.apply([1], { kind: 'patch', p: 5 }, 'unknown');
    m.apply([2], { kind: 'delete' }, 'refused');
    expect(m.check(1, '1')).toBeNull();
    expect(m.check(1, '1/5')).toBeNull();
    expect(m.check(1, ABSENT)).toMatch(/id 1: read absent/);
    expect(m.check(2, '1')).toBeNull();
    expect(m.check(2, ABSENT)).not.toBeNull();
    m.apply([1], { kind: 'delete' }, 'acked'); // an acknowledged write settles the earlier unknown one
    expect(m.exact(1)).toBe(true);
    expect(m.check(1, '1/5')).not.toBeNull();
    m.apply([3], { kind: 'patch', p: 9 }, 'acked'); // patching a missing id is a no-op
    expect(m.check(3, ABSENT)).toBeNull();
    m.quarantine([2], { kind: 'upsert', v: 7 });
    expect(m.quarantined.has(2)).toBe(true);
    expect([m.check(2, '1'), m.check(2, '7')]).toEqual([null, null]);
  });

  it('should reject a row whose attributes do not belong to its version', () => {
    const row = { ...docFor(5, 3), p: 2 };
    expect(stateOfRow(row)).toEqual({ state: '3/2' });
    expect(stateOfRow({ ...row, tag: 'zz' })).toHaveProperty('bad');
    expect(stateOfRow({ ...row, vector: row.vector.map((x) => x + 0.5) })).toHaveProperty('bad');
  });
});

describe('soak fault proxy', () => {
  const store = (endpoint: string, prefix: string) => {
    const c = s3TestConfig();
    return new S3Store({
      bucket: c.bucket,
      prefix,
      endpoint,
      region: c.region,
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    });
  };

  it('should forward signed requests unchanged and land writes whose response it drops', async () => {
    const c = s3TestConfig();
    const proxy = await startFaultProxy(c.endpoint, 1, NO_FAULTS);
    const prefix = uniquePrefix('soak-proxy');
    const via = store(proxy.url, prefix);
    const direct = store(c.endpoint, prefix);
    try {
      await via.put('a', new TextEncoder().encode('one')); // SigV4 over the proxy's Host verifies at radosgw
      expect(new TextDecoder().decode((await via.get('a'))!.bytes)).toBe('one');

      proxy.setRates({ ...NO_FAULTS, pDropAfterWrite: 1 });
      await expect(via.put('b', new TextEncoder().encode('two'))).rejects.toMatchObject({ code: 'ELAX_ERR_STORE_UNAVAILABLE' });
      expect(proxy.counts.droppedAfterWrite).toBe(1);
      expect(new TextDecoder().decode((await direct.get('b'))!.bytes)).toBe('two'); // it landed all the same

      proxy.setRates({ ...NO_FAULTS, p5xx: 1 });
      await expect(via.get('a')).rejects.toMatchObject({ code: 'ELAX_ERR_STORE_UNAVAILABLE' });
      expect(proxy.counts.e5xx).toBe(1);
      proxy.setRates(NO_FAULTS);
      proxy.outage(60_000);
      await expect(via.head('a')).rejects.toMatchObject({ code: 'ELAX_ERR_STORE_UNAVAILABLE' });
      expect(proxy.counts.outage503).toBe(1);
    } finally {
      await proxy.close();
      for (const k of ['a', 'b']) await direct.delete(k);
      await Promise.all([via.close(), direct.close()]);
    }
  });
});

describe('soak: servers and indexers under store faults and kills', () => {
  it('should keep every acknowledged write, lose no process, and answer every error with a clear code', { timeout: 420_000 }, async () => {
    const log: string[] = [];
    const report = await runSoak({
      s3: s3TestConfig(),
      seed: 95,
      durationS: 25,
      minAckedUpserts: 30, // the guard below wants > 10: on a busy machine, run longer rather than check little
      maxExtraS: 60,
      namespaces: 2,
      writers: 4,
      readers: 2,
      poolSize: 150,
      chaosEveryMs: [1500, 3000],
      faults: DEFAULT_FAULTS,
      embeddedIndexer: true,
      catchUpMs: 75_000, // indexing retries back off up to 60 s: give a backed-off indexer its next attempt
      keepStore: 'never',
      log: (l) => log.push(`[${new Date().toISOString().slice(11, 23)}] ${l}`),
    });
    const summary = `${log.join('\n')}\n${formatSummary(report)}`;
    console.log(summary);
    // Vacuity guards: the run did exercise acks, kills and injected faults.
    expect(report.workload.writes.upsert.acked, summary).toBeGreaterThan(10);
    expect(report.chaos.sigkill, summary).toBeGreaterThan(0);
    expect(report.faults.droppedAfterWrite + report.faults.e5xx + report.faults.resetBefore, summary).toBeGreaterThan(0);
    expect(report.final, summary).not.toBeNull();
    expect(report.violations, summary).toEqual([]);
  });
});
