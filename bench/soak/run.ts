/**
 * One soak run: a fault proxy in front of radosgw, two `elax serve` and two `elax indexer` processes behind it,
 * writer and reader clients, and the chaos loop (chaos.ts) for `durationS` seconds. Then faults stop, every slot runs again, in-flight ops drain, and the checks
 * run (see checks.ts). Returns a report; `violations` empty means the run passed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { S3Store } from '../../crates-ts/store/s3.js';
import { rng, percentile } from '../lib.js';
import { startFaultProxy, NO_FAULTS, type FaultCounts, type FaultRates } from './fault-proxy.js';
import { Supervisor, type ExitRecord } from './procs.js';
import { Chaos, type ChaosCounts } from './chaos.js';
import { runGcCron, type GcCronOptions, type GcCronStats } from './gc-cron.js';
import { newAudit, call, type Servers } from './client.js';
import { Workload, type WorkloadStats } from './workload.js';
import { docFor } from './model.js';
import { finalChecks, type FinalReport } from './checks.js';

export interface S3Config {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface SoakOptions {
  s3: S3Config;
  seed: number;
  durationS: number;
  namespaces: number;
  writers: number;
  readers: number;
  poolSize: number;
  /** Pause between chaos actions, ms (uniform in [min, max]). */
  chaosEveryMs: [number, number];
  faults: FaultRates;
  /** Run server-1 with its embedded indexer (server-0 never has one). */
  embeddedIndexer: boolean;
  /**
   * Keep the chaos going past `durationS`, in 5 s steps up to `maxExtraS`, until this many upserts were acknowledged
   * (a loaded machine acknowledges fewer in a fixed time, and a run that acknowledged almost nothing checks little).
   */
  minAckedUpserts?: number;
  maxExtraS?: number;
  /** How long the indexers get, after faults stop, to index every namespace's tail. */
  catchUpMs: number;
  /** Run `elax gc` with these settings during the chaos (default: no GC beyond the indexers' own, 1 h retention). */
  gc?: GcCronOptions;
  /** Keep the objects under the run's prefix (for post-mortems); default: deleted after a passing run. */
  keepStore?: 'always' | 'on-failure' | 'never';
  log?: (line: string) => void;
}

export const DEFAULT_FAULTS: FaultRates = { p5xx: 0.03, pResetBefore: 0.015, pDelay: 0.08, delayMs: [20, 600], pDropAfterWrite: 0.03, p5xxAfterWrite: 0.01 };

export interface SoakReport {
  seed: number;
  store: string;
  durationS: number;
  elapsedS: number;
  workload: Omit<WorkloadStats, 'ackLatencyMs'> & { ackP50Ms: number; ackP99Ms: number };
  errorsByCode: Record<string, number>;
  errorSamples: Record<string, string>;
  networkErrors: Record<string, number>;
  faults: FaultCounts;
  chaos: ChaosCounts & { starts: Record<string, number> };
  unexpectedExits: ExitRecord[];
  gc: GcCronStats | null;
  final: FinalReport | null;
  violations: string[];
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const prefix = `soak-${o.seed}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const store = `s3://${o.s3.bucket}/${prefix}`;
  // Children's temporary part caches (--cache-dir temp: under TMPDIR) land here and go with it.
  const tmp = mkdtempSync(path.join(tmpdir(), 'elax-soak-'));
  const proxy = await startFaultProxy(o.s3.endpoint, o.seed, NO_FAULTS);
  const env = {
    ELAX_S3_ENDPOINT: proxy.url,
    AWS_ACCESS_KEY_ID: o.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: o.s3.secretAccessKey,
    AWS_REGION: o.s3.region,
    TMPDIR: tmp,
  };
  const sup = new Supervisor({ store, env, scratchDir: tmp }, [
    { name: 'server-0', kind: 'server', args: ['--no-indexer'] },
    { name: 'server-1', kind: 'server', args: o.embeddedIndexer ? [] : ['--no-indexer'] },
    { name: 'indexer-0', kind: 'indexer', args: ['--interval-ms', '300'] },
    { name: 'indexer-1', kind: 'indexer', args: ['--interval-ms', '300'] },
  ]);
  const audit = newAudit();
  let aborted = false;
  const servers: Servers = { live: () => sup.servers().filter((s) => s.ready), aborted: () => aborted };
  const namespaces = Array.from({ length: o.namespaces }, (_, i) => `soak-${i}`);
  const workload = new Workload({ seed: o.seed, namespaces, writers: o.writers, readers: o.readers, poolSize: o.poolSize, opDeadlineMs: 60_000 }, audit, servers);
  const violations: string[] = [];
  const chaos = new Chaos(sup, proxy, o.seed, log);
  let final: FinalReport | null = null;
  let gcStats: GcCronStats | null = null;
  const directStore = new S3Store({
    bucket: o.s3.bucket,
    prefix,
    endpoint: o.s3.endpoint,
    region: o.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: o.s3.accessKeyId, secretAccessKey: o.s3.secretAccessKey },
  });
  log(`soak seed=${o.seed} store=${store} proxy=${proxy.url} -> ${o.s3.endpoint} duration=${o.durationS}s`);

  try {
    const started = await Promise.all(sup.slots.map((s) => s.start()));
    if (started.some((ok) => !ok)) throw new Error(`a process failed to start without faults:\n${sup.slots.map((s) => `${s.name}: ${s.stderrTail().slice(-1500)}`).join('\n')}`);
    // Namespaces exist (with their schema) before the chaos: an anchor document id 0 in each.
    for (const ns of namespaces) {
      const r = await call(audit, servers, rng(o.seed), `setup ${ns}`, `/v2/namespaces/${ns}`, {
        upsert_rows: [{ ...docFor(0, 0), p: 0 }],
        distance_metric: 'euclidean_squared',
        schema: { text: { type: 'string', full_text_search: true }, tag: { type: 'string', filterable: true } },
      }, { deadlineMs: 30_000 });
      if (r.outcome !== 'acked') throw new Error(`setup write to ${ns} failed (${r.outcome}) without faults`);
      workload.models.get(ns)!.apply([0], { kind: 'upsert', v: 0 }, 'acked');
      workload.models.get(ns)!.apply([0], { kind: 'patch', p: 0 }, 'acked');
    }

    proxy.setRates(o.faults);
    workload.start();
    let chaosOver = false;
    const gc = o.gc ? runGcCron({ ...o.gc, store, env, until: () => chaosOver, log }) : null;
    await chaos.run(o.durationS * 1000, o.chaosEveryMs);
    for (let extra = 0; workload.stats.writes.upsert.acked < (o.minAckedUpserts ?? 0) && extra < (o.maxExtraS ?? 0); extra += 5) {
      log(`only ${workload.stats.writes.upsert.acked} upserts acknowledged so far: 5 s more`);
      await chaos.run(5000, o.chaosEveryMs);
    }
    chaosOver = true;
    if (gc) {
      const g = await gc;
      gcStats = g.stats;
      violations.push(...g.violations);
    }

    log('chaos over: faults off, every process up, draining in-flight ops');
    proxy.setRates(NO_FAULTS);
    for (const s of sup.slots) if (!s.alive) await chaos.restart(s);
    await workload.stop();
    final = await finalChecks({
      store,
      directStore,
      namespaces,
      models: workload.models,
      keyOutcomes: workload.keyOutcomes,
      walCollected: o.gc !== undefined,
      env: { ...env, ELAX_S3_ENDPOINT: o.s3.endpoint },
      chaosServers: sup.servers(),
      scratchDir: tmp,
      catchUpMs: o.catchUpMs,
      log,
    });
    violations.push(...final.violations);
  } catch (e) {
    violations.push(`harness: ${(e as Error).stack ?? String(e)}`);
  } finally {
    aborted = true;
    await workload.stop();
    await sup.stopAll();
    await proxy.close();
  }

  for (const x of sup.unexpectedExits()) {
    violations.push(`process ${x.slot} (pid ${x.pid}) died unexpectedly at ${sup.since(x.at)}: ${x.reason}: ${firstError(x.stderrTail)}; stderr tail:\n${indent(cleanTail(x.stderrTail).slice(-3000))}`);
  }
  violations.push(...sup.violations);
  violations.push(...audit.violations.map((v) => `client saw: ${v}`));
  violations.push(...workload.readViolations);

  const keep = o.keepStore ?? 'on-failure';
  if (keep === 'never' || (keep === 'on-failure' && violations.length === 0)) await deletePrefix(directStore).catch((e) => log(`cleanup of ${store} failed: ${(e as Error).message}`));
  else log(`objects kept under ${store}`);
  await directStore.close();
  rmSync(tmp, { recursive: true, force: true });

  const lat = [...workload.stats.ackLatencyMs].sort((a, b) => a - b);
  const { ackLatencyMs: _drop, ...stats } = workload.stats;
  return {
    seed: o.seed,
    store,
    durationS: o.durationS,
    elapsedS: Math.round((Date.now() - t0) / 100) / 10,
    workload: { ...stats, ackP50Ms: percentile(lat, 50), ackP99Ms: percentile(lat, 99) },
    errorsByCode: Object.fromEntries(audit.byCode),
    errorSamples: Object.fromEntries(audit.samples),
    networkErrors: Object.fromEntries(audit.network),
    faults: { ...proxy.counts },
    chaos: { ...chaos.counts, starts: Object.fromEntries(sup.slots.map((s) => [s.name, s.starts])) },
    unexpectedExits: sup.unexpectedExits(),
    gc: gcStats,
    final,
    violations,
  };
}

/** Drops the AWS SDK's Node-version notice (printed by every process) and blank lines. */
function cleanTail(stderr: string): string {
  return stderr
    .replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?trace-warnings[^\n]*\n/g, '')
    .replace(/\n\s*\n/g, '\n');
}

/** The line that names the fatal error (for grouping deaths by cause), e.g. "ElaxError: ... GET x/router.json failed". */
function firstError(stderr: string): string {
  const lines = stderr.split('\n');
  const i = lines.findIndex((l) => /^\s*(\w*Error\b|elax: )/.test(l));
  return i < 0 ? '(no error line in stderr)' : lines[i]!.trim().slice(0, 300);
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

async function deletePrefix(store: S3Store): Promise<void> {
  const { objects } = await store.list('');
  for (let i = 0; i < objects.length; i += 32) await Promise.all(objects.slice(i, i + 32).map((x) => store.delete(x.key)));
}
