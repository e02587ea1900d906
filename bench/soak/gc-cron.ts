/**
 * Optional: `elax gc` every few seconds during the chaos, through the fault proxy, as an operator's cron job
 * would run it — with a short WAL retention and a part grace period just above the 60 s an eventual read may hold
 * an old router, so GC really deletes while servers read. A gc run may fail under store faults, but only with a
 * clear `elax: … [ELAX_ERR_*]` line; a crash (stack trace, signal) is a violation.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ELAX_BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'elax.mjs');

export interface GcCronOptions {
  everyMs: number;
  walRetentionMs: number;
  partGraceMs: number;
}

export interface GcCronStats {
  runs: number;
  failed: number;
  walEntriesDeleted: number;
  partsDeleted: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runGcCron(
  o: GcCronOptions & { store: string; env: Record<string, string>; until: () => boolean; log: (l: string) => void },
): Promise<{ stats: GcCronStats; violations: string[] }> {
  const stats: GcCronStats = { runs: 0, failed: 0, walEntriesDeleted: 0, partsDeleted: 0 };
  const violations: string[] = [];
  while (!o.until()) {
    await sleep(o.everyMs);
    if (o.until()) break;
    const args = [ELAX_BIN, 'gc', '--store', o.store, '--wal-retention-ms', String(o.walRetentionMs), '--part-grace-ms', String(o.partGraceMs), '--json'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    stats.runs++;
    if (code === 0) {
      try {
        for (const r of JSON.parse(out) as { wal_entries: number[]; parts: string[] }[]) {
          stats.walEntriesDeleted += r.wal_entries.length;
          stats.partsDeleted += r.parts.length;
          if (r.parts.length) o.log(`gc: deleted parts ${r.parts.join(', ')}`);
        }
      } catch {
        violations.push(`elax gc exited 0 with output that is not its JSON report: ${out.slice(0, 300)}`);
      }
      continue;
    }
    stats.failed++;
    if (signal !== null || !/^elax: .*\[ELAX_ERR_[A-Z_]+\]$/m.test(err)) {
      violations.push(`elax gc crashed (exit ${code}, signal ${signal}) instead of failing with a clear ELAX_ERR_* message; stderr tail:\n${err.slice(-2000)}`);
    }
  }
  return { stats, violations };
}
