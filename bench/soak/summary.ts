/** The soak report as text: what ran, what was injected, what clients saw, and every violation. */
import type { SoakReport } from './run.js';

const table = (rec: Record<string, number | string>) =>
  Object.entries(rec)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `    ${k.padEnd(40)} ${v}`)
    .join('\n') || '    (none)';

export function formatSummary(r: SoakReport): string {
  const w = r.workload;
  const writes = Object.entries(w.writes)
    .map(([k, s]) => `    ${k.padEnd(8)} sent ${s.sent}, acked ${s.acked}, refused ${s.refused}, unknown ${s.unknown}, late ${s.late}`)
    .join('\n');
  const queries = Object.entries(w.queries)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, q]) => `    ${k.padEnd(24)} ok ${q.ok}, failed ${q.failed}`)
    .join('\n');
  const fin = r.final
    ? r.final.namespaces
        .map(
          (n) =>
            `    ${n.ns}: ${n.rows} rows; ids checked ${n.idsChecked} (exact ${n.exact}, ambiguous ${n.ambiguous}, quarantined ${n.quarantined}); ` +
            `WAL ${n.walHighwater}, indexed ${n.indexedWal}, parts ${n.parts}${n.lastIndexerError ? `; last indexer error: ${n.lastIndexerError.slice(0, 160)}` : ''}`,
        )
        .join('\n') + `\n    indexers caught up: ${r.final.catchUpMs === null ? 'NO' : `${r.final.catchUpMs} ms after faults stopped`}`
    : '    (not reached)';
  const lines = [
    `soak: seed ${r.seed}, ${r.durationS} s of chaos, ${r.elapsedS} s in all, store ${r.store}`,
    `writes (ack p50 ${w.ackP50Ms} ms, p99 ${w.ackP99Ms} ms; ${w.attempts} HTTP attempts in all):`,
    writes,
    `strong read-backs of own ids: ${w.readChecks} checked, ${w.readCheckFailed} gave up`,
    'queries:',
    queries || '    (none)',
    'errors seen by clients (status code):',
    table(r.errorsByCode),
    'network errors seen by clients:',
    table(r.networkErrors),
    'faults injected by the S3 proxy:',
    table(r.faults as unknown as Record<string, number>),
    `chaos: ${r.chaos.sigkill} SIGKILL, ${r.chaos.sigterm} SIGTERM, ${r.chaos.outages} store outages; starts per slot: ${JSON.stringify(r.chaos.starts)}`,
    `unexpected process exits: ${r.unexpectedExits.length}`,
    ...(r.gc ? [`elax gc: ${r.gc.runs} runs (${r.gc.failed} failed), deleted ${r.gc.walEntriesDeleted} WAL entries and ${r.gc.partsDeleted} parts`] : []),
    'final state:',
    fin,
  ];
  if (Object.keys(r.errorSamples).length) lines.push('error samples:', table(Object.fromEntries(Object.entries(r.errorSamples).map(([k, v]) => [k, v.slice(0, 240)]))));
  const groups = groupViolations(r.violations);
  lines.push(
    r.violations.length === 0
      ? 'VIOLATIONS: none — PASS'
      : `VIOLATIONS (${r.violations.length}, ${groups.length} kinds) — FAIL:\n${groups.map((g, i) => `  ${i + 1}. ${g.count > 1 ? `[x${g.count}] ` : ''}${g.sample}`).join('\n')}`,
  );
  return lines.join('\n');
}

/**
 * Violations that differ only in long numbers (ids, pids, ports) or in the request they were seen on (the
 * parenthesised part) or in hex ids (probe keys, part ids) are one kind: first occurrence and a count.
 */
export function groupViolations(violations: string[]): { sample: string; count: number }[] {
  const groups = new Map<string, { sample: string; count: number }>();
  for (const v of violations) {
    const key = v.split('\n')[0]!.replace(/\(.*?\)/g, '()').replace(/[0-9a-f]{8,}/g, 'X').replace(/\d{4,}/g, 'N').slice(0, 120);
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { sample: v, count: 1 });
  }
  return [...groups.values()];
}
