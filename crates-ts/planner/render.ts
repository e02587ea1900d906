/**
 * A query plan in words (`explain_query`'s `plan_text`, RFC-0009 §4): one line for the query, then per segment its
 * rows, how the filter is answered (each leaf's index and lookup size, or residual), estimated and actual rows, and
 * how ranking reads it. The WAL tail is always an exhaustive scan.
 */
import type { QueryPlan, SegmentPlan } from './plan.js';

const n = (x: number) => x.toLocaleString('en-US');

function segmentLines(s: SegmentPlan): string[] {
  const out: string[] = [];
  const dead = s.rows - s.live;
  if (s.kind === 'tail') out.push(`tail: ${n(s.rows)} rows (exhaustive scan, no indexes)`);
  else out.push(`part ${s.name}: ${n(s.rows)} rows${dead > 0 ? ` (${n(dead)} dead)` : ''}`);
  if (s.access === 'all') out.push('  filter: none');
  else {
    const access = { index: 'answered by indexes', 'index+residual': 'indexes narrow the rows, residual predicates run on the candidates', scan: 'no index applies: scan of every row' }[s.access];
    out.push(`  filter: ${access}`);
    for (const l of s.leaves) {
      out.push(l.index ? `    ${l.text}: ${l.index.kind} index ${l.index.file}${l.index.kind === 'fuzzy' ? ` (Levenshtein automaton walk of its ${n(l.index.terms ?? 0)} sorted terms, subtrees beyond the edit distance skipped)` : ''}, ${n(l.rows!)} rows` : `    ${l.text}: residual (evaluated per ${s.access === 'scan' ? 'row' : 'candidate row'})`);
    }
    out.push(`  rows: estimated ${n(s.estimate)}${s.candidates !== null ? `, candidates ${n(s.candidates)}` : ''}, actual ${n(s.actual)} live matches`);
  }
  if (s.order) out.push(`  order: ${s.order}`);
  if (s.aggregate) out.push(`  aggregate: ${s.aggregate}`);
  if (s.ann) out.push(s.ann === 'exact' ? `  ann: rank the ${n(s.actual)} matching rows exactly (few matches)` : `  ann: walk the HNSW graph with the allow-bitmap of ${n(s.actual)} rows`);
  return out;
}

export function renderPlan(p: QueryPlan): string {
  const lines = [`query: ${p.query}`];
  // Parts first (in view order), the tail last, as the query reads them.
  for (const s of p.segments) lines.push(...segmentLines(s));
  if (p.ivf) {
    const { parts, rows, matching, choice, walk, byValue } = p.ivf;
    const head = `ann (${parts} clustered parts, ${n(rows)} rows)`;
    lines.push(
      choice === 'exact'
        ? `${head}: rank the ${n(matching)} matching rows exactly (few matches): exact distances from their vectors, the rows within the k-th handed to the exact ranking`
        : walk === 'walk-values'
          ? `${head}: walk with per-candidate filter check by value (${byValue!.attr}: dict index ${byValue!.file}), ${n(matching)} matching rows counted from the dictionary's value counts, no bitmap of the matches; a cluster's matches counted when the walk reaches it, clusters without any skipped; probed clusters estimate only their matching rows`
          : `${head}: probe clusters holding matches, skipping the others, ${n(matching)} matching rows allowed (bitmap of the matches); probed clusters estimate only their matching rows`,
    );
  }
  return lines.join('\n');
}
