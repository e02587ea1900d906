/**
 * One soak run: a fault proxy in front of radosgw, two `elax serve` and two `elax indexer` processes behind it,
 * writer and reader clients, and a chaos loop (SIGKILL / SIGTERM of a random process, then a restart; brief store
 * outages) for `durationS` seconds. Then faults stop, every slot runs again, in-flight ops drain, and the checks
 * run (see checks.ts). Returns a report; `violations` empty means the run passed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { S3Store } from '../../crates-ts/store/index.js';
import { rng, percentile } from '../lib.js';
import { startFaultProxy, NO_FAULTS, type FaultCounts, type FaultRates } from './fault-proxy.js';
import { Supervisor, type ExitRecord, type Slot } from './procs.js';
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
  /** How long the indexers get, after faults stop, to index every namespace's tail. */
  catchUpMs: number;
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
  chaos: { sigkill: number; sigterm: number; outages: number; starts: Record<string, number> };
  unexpectedExits: ExitRecord[];
  final: FinalReport | null;
  violations: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type ChaosAction = 'kill-server' | 'kill-indexer' | 'term-any' | 'outage';
const CHAOS_DECK: ChaosAction[] = ['kill-server', 'kill-server', 'kill-indexer', 'kill-indexer', 'term-any', 'outage'];

function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const prefix = `soak-${o.seed}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const store = `s3://${o.s3.bucket}/${prefix}`;
  // Children's part caches (os.tmpdir()/elax-cache-<pid>) land here and go with it.
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
  const chaos = { sigkill: 0, sigterm: 0, outages: 0 };
  let final: FinalReport | null = null;
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
    const chaosRandom = rng(o.seed ^ 0x5eed);
    const end = Date.now() + o.durationS * 1000;
    const restarting = new Map<Slot, Promise<void>>();
    const restart = async (slot: Slot) => {
      await sleep(200 + chaosRandom() * 1300);
      // A start that fails (the process exits on its own) is an unexpected death already recorded; try again.
      for (let i = 0; i < 5 && !(await slot.start()); i++) await sleep(1000);
    };
    // Actions come from shuffled decks so even a short run kills servers and indexers and has an outage.
    const deck: ChaosAction[] = [];
    while (Date.now() < end) {
      await sleep(Math.min(end - Date.now(), o.chaosEveryMs[0] + chaosRandom() * (o.chaosEveryMs[1] - o.chaosEveryMs[0])));
      if (Date.now() >= end) break;
      if (deck.length === 0) deck.push(...shuffle([...CHAOS_DECK], chaosRandom));
      const action = deck.pop()!;
      // Only processes that are up (not being restarted) are candidates; restarts run in the background, so an
      // outage or another kill can hit a process while it starts.
      const pick = (xs: Slot[]) => {
        const up = xs.filter((s) => s.alive && !restarting.has(s));
        return up.length ? up[Math.floor(chaosRandom() * up.length)]! : null;
      };
      if (action === 'outage') {
        const ms = 1000 + chaosRandom() * 3000;
        chaos.outages++;
        log(`chaos: store outage ${Math.round(ms)} ms`);
        proxy.outage(ms);
        continue;
      }
      const slot = action === 'kill-server' ? pick(sup.servers()) : action === 'kill-indexer' ? pick(sup.slots.filter((s) => s.spec.kind === 'indexer')) : pick(sup.slots);
      const signal = action === 'term-any' ? 'SIGTERM' : 'SIGKILL';
      if (!slot) continue;
      chaos[signal === 'SIGTERM' ? 'sigterm' : 'sigkill']++;
      log(`chaos: ${signal} ${slot.name} (pid ${slot.child?.pid})`);
      const done = (async () => {
        await slot.kill(signal);
        await restart(slot);
      })().finally(() => restarting.delete(slot));
      restarting.set(slot, done);
    }
    await Promise.all(restarting.values());

    log('chaos over: faults off, every process up, draining in-flight ops');
    proxy.setRates(NO_FAULTS);
    for (const s of sup.slots) if (!s.alive) await restart(s);
    await workload.stop();
    final = await finalChecks({
      store,
      directStore,
      namespaces,
      models: workload.models,
      keyOutcomes: workload.keyOutcomes,
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
    chaos: { ...chaos, starts: Object.fromEntries(sup.slots.map((s) => [s.name, s.starts])) },
    unexpectedExits: sup.unexpectedExits(),
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
