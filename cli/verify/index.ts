/**
 * `elax verify --ns NS FILE...`: report-first comparison of source files with a namespace. Reports missing ids (in
 * the source, not in the namespace), extra ids (in the namespace, not in the source) and stale rows (attributes or
 * vector differ) as a summary and a JSONL detail file. `--repair` writes exactly the missing and stale rows through
 * the ingest path (`runIngest`: batched, retried, idempotent); `--delete-extra` also deletes extra ids.
 *
 * Limits: the source is held in memory as id → stored form (fine to a few million rows); the namespace is read in
 * one pass (see export/read.ts for its consistency).
 */
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { ElaxError, type Doc, type Id } from '../../crates-ts/core/index.js';
import { openSource } from '../ingest/sources.js';
import { schemaFromApi } from '../ingest/validate.js';
import { runIngest } from '../ingest/index.js';
import { callServer, printJson, serverUrl } from '../store-option.js';
import { readFromServer, readFromStore } from '../export/read.js';
import { differences, normalizer } from './compare.js';

export interface VerifyOptions {
  ns: string;
  files: string[];
  url?: string;
  store?: string;
  apiKey?: string;
  report?: string;
  repair?: boolean;
  deleteExtra?: boolean;
}

export interface VerifySummary {
  ns: string;
  source_rows: number;
  namespace_rows: number;
  missing: number;
  extra: number;
  stale: number;
  /** Source rows that do not parse or that the server would reject (listed in the report as 'invalid'). */
  invalid: number;
  consistent: boolean;
  repaired?: { rows_written: number; ok: boolean };
  deleted_extra?: number;
  report?: string;
}

type Finding = { kind: 'missing' | 'extra' | 'stale' | 'invalid'; id: unknown; fields?: string[]; error?: string; file?: string; line?: number };

export async function runVerify(o: VerifyOptions): Promise<VerifySummary> {
  if (o.repair && o.store !== undefined && o.url === undefined) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', '--repair writes through a server: give --url (reading with --store is fine alongside it)');
  }
  const url = serverUrl(o.url);
  let ns;
  try {
    ns = o.store !== undefined ? await readFromStore(o.store, o.ns) : await readFromServer(url, o.ns, { apiKey: o.apiKey });
  } catch (e) {
    const status = (e as { status?: number; code?: string }).status ?? ((e as { code?: string }).code === 'ELAX_ERR_NAMESPACE_NOT_FOUND' ? 404 : 0);
    if (status !== 404) throw e;
    ns = { rows: [], schema: {}, consistent: true, passes: 1 }; // no namespace yet: every source row is missing
  }
  const { schema, metric } = schemaFromApi(ns.schema);
  const norm = normalizer(schema, metric);
  const stored = new Map<Id, Doc>();
  for (const r of ns.rows) {
    const d = norm.doc(r);
    if (typeof d === 'string') throw new ElaxError('ELAX_ERR_INTERNAL', `namespace row ${JSON.stringify(r.id)} does not re-parse: ${d}`);
    stored.set(d.id, d);
  }

  const findings: Finding[] = [];
  const toWrite: string[] = [];
  const seen = new Set<Id>();
  let sourceRows = 0;
  for (const file of o.files) {
    const src = await openSource(file);
    for await (const item of src.items()) {
      if (item.kind === 'end') break;
      if (item.kind === 'bad') {
        findings.push({ kind: 'invalid', id: item.bad.id ?? null, error: item.bad.error, file: src.name, line: item.bad.line });
        continue;
      }
      sourceRows++;
      const raw = JSON.parse(item.row.text) as Record<string, unknown>;
      const d = norm.doc(raw);
      if (typeof d === 'string') {
        findings.push({ kind: 'invalid', id: raw.id, error: d, file: src.name, line: item.row.line });
        continue;
      }
      seen.add(d.id);
      const have = stored.get(d.id);
      if (have === undefined) {
        findings.push({ kind: 'missing', id: d.id });
        toWrite.push(item.row.text);
        continue;
      }
      const diff = differences(d, have);
      if (diff.length > 0) {
        findings.push({ kind: 'stale', id: d.id, fields: diff });
        toWrite.push(item.row.text);
      }
    }
  }
  const extras: Id[] = [];
  for (const id of stored.keys()) if (!seen.has(id)) extras.push(id);
  for (const id of extras) findings.push({ kind: 'extra', id });

  const count = (k: Finding['kind']) => findings.filter((f) => f.kind === k).length;
  const summary: VerifySummary = {
    ns: o.ns,
    source_rows: sourceRows,
    namespace_rows: stored.size,
    missing: count('missing'),
    extra: count('extra'),
    stale: count('stale'),
    invalid: count('invalid'),
    consistent: ns.consistent,
  };
  if (o.report) {
    const out = createWriteStream(o.report);
    for (const f of findings) out.write(`${JSON.stringify(f)}\n`);
    await new Promise<void>((r) => out.end(() => r()));
    summary.report = o.report;
  }
  if (o.repair && toWrite.length > 0) {
    const dir = mkdtempSync(path.join(tmpdir(), 'elax-repair-'));
    try {
      const file = path.join(dir, 'repair.ndjson');
      const out = createWriteStream(file);
      for (const t of toWrite) out.write(`${t}\n`);
      await new Promise<void>((r) => out.end(() => r()));
      // A fresh salt: a repair must write even rows an earlier repair wrote (they may have been lost again since).
      const res = await runIngest({ url, apiKey: o.apiKey, ns: o.ns, files: [file], keySalt: `verify-repair-${Date.now()}`, checkpoint: false, quiet: true, ...(metric ? { distanceMetric: metric } : {}) });
      summary.repaired = { rows_written: res.rows_ok, ok: res.ok && res.rows_failed === 0 };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (o.repair && o.deleteExtra && extras.length > 0) {
    for (let i = 0; i < extras.length; i += 1000) {
      await callServer(url, `/v2/namespaces/${encodeURIComponent(o.ns)}`, { apiKey: o.apiKey, body: { deletes: extras.slice(i, i + 1000) } });
    }
    summary.deleted_extra = extras.length;
  }
  return summary;
}

export function registerVerifyCommands(program: Command): void {
  program
    .command('verify')
    .description('compare source files with a namespace: missing, extra and stale rows; --repair writes only what differs')
    .requiredOption('--ns <namespace>', 'namespace')
    .argument('<files...>', 'source files (NDJSON, JSON array, Parquet; - for stdin)')
    .option('--url <url>', 'server (env ELAX_URL; default http://127.0.0.1:3000); needed for --repair')
    .option('--store <uri>', 'read the namespace straight from the store (exact snapshot)')
    .option('--api-key <key>', 'API key (env ELAX_API_KEY)')
    .option('--report <file>', 'JSONL detail: {kind: missing|extra|stale|invalid, id, fields?, error?}')
    .option('--repair', 'write the missing and stale rows (through the ingest path)')
    .option('--delete-extra', 'with --repair: also delete ids the source does not have')
    .option('--json', 'print the summary as JSON')
    .action(async (files: string[], o: { ns: string; url?: string; store?: string; apiKey?: string; report?: string; repair?: boolean; deleteExtra?: boolean; json?: boolean }) => {
      if (o.deleteExtra && !o.repair) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', '--delete-extra only applies with --repair');
      const s = await runVerify({ ...o, files });
      if (o.json) printJson(s);
      else {
        console.log(`${s.ns}: source ${s.source_rows} rows, namespace ${s.namespace_rows} rows`);
        console.log(`missing ${s.missing}  extra ${s.extra}  stale ${s.stale}  invalid ${s.invalid}${s.consistent ? '' : '  (namespace changed while it was read: rerun)'}`);
        if (s.repaired) console.log(`repair: wrote ${s.repaired.rows_written} rows${s.repaired.ok ? '' : ' (with failures)'}${s.deleted_extra ? `, deleted ${s.deleted_extra} extra ids` : ''}; rerun verify to confirm`);
        if (s.report) console.log(`details: ${s.report}`);
      }
      const differencesLeft = s.missing + s.stale + s.invalid + (o.deleteExtra ? 0 : s.extra) > 0;
      if (s.repaired ? !s.repaired.ok : differencesLeft) process.exitCode = 1;
    });
}
