/**
 * `elax reindex --ns NS`: rebuild every part of a namespace from its current rows (after changing HNSW or
 * text-analysis settings) and cut over with one router CAS (indexer/reindex.ts). `--dry-run` only reports.
 */
import { randomBytes } from 'node:crypto';
import { Option, type Command } from 'commander';
import { invalid, systemClock } from '../../crates-ts/core/index.js';
import { validateNamespaceName } from '../../crates-ts/engine/index.js';
import { planReindex, reindexNamespace, type ReindexPlan } from '../../indexer/index.js';
import { withStore, printJson, printTable } from '../store-option.js';
import { ivfMinRowsOption, ivfOf, vectorIndexOf, vectorIndexOption } from '../vector-index-option.js';

interface ReindexFlags {
  ns: string;
  store?: string;
  dryRun?: boolean;
  json?: boolean;
  partFormat: string;
  hnswM?: string;
  hnswEfConstruction?: string;
  flatThreshold?: string;
  maxRowsPerPart?: string;
  vectorIndex: string;
  ivfMinRows: string;
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw invalid(`${flag} must be a positive integer, got '${v}'`);
  return n;
}

function printPlan(p: ReindexPlan): void {
  const src = p.parameters.source;
  console.log(`namespace     ${p.ns}`);
  console.log(`epoch         ${p.epoch} (a reindex publishes ${p.epoch + 1} or later)`);
  console.log(`indexed_wal   ${p.indexed_wal} (rebuilt parts cover up to here; ${p.tail_entries} tail entries stay in the WAL)`);
  console.log(`would rebuild ${p.source_parts.length} parts, ${p.rows} stored rows, ${p.bytes} bytes`);
  console.log(
    `parameters    M ${p.parameters.M} (${src.M}), ef_construction ${p.parameters.ef_construction} (${src.ef_construction}), flat below ${p.parameters.flat_threshold} vectors, ` +
      (p.parameters.max_rows_per_part === null ? 'one part' : `at most ${p.parameters.max_rows_per_part} rows per part`),
  );
  if (p.source_parts.length) printTable(p.source_parts as unknown as Record<string, unknown>[], ['id', 'wal_start', 'wal_end', 'rows', 'bytes', 'level', 'index_kind', 'M', 'ef_construction']);
  for (const w of p.warnings) console.log(`note: ${w}`);
}

export function registerReindexCommands(program: Command): void {
  program
    .command('reindex')
    .description('rebuild all parts of a namespace from its current rows (after changing HNSW or text-analysis settings) and switch to them atomically')
    .requiredOption('--ns <namespace>', 'namespace')
    .addOption(new Option('--store <uri>', 'object store: a path, file:///path or s3://bucket/prefix (env ELAX_STORE)'))
    .option('--dry-run', 'print what would be rebuilt (parts, rows, bytes, parameters) and change nothing')
    .option('--hnsw-m <n>', 'HNSW M for the rebuilt parts (the schema\'s vector.ann.m wins when set)')
    .option('--hnsw-ef-construction <n>', 'HNSW ef_construction for the rebuilt parts (the schema\'s vector.ann.ef_construction wins when set)')
    .option('--flat-threshold <n>', 'parts with fewer vectors than this get no HNSW index (exact scan)')
    .option('--max-rows-per-part <n>', 'split the rebuilt rows into WAL-contiguous parts of at most this many rows (default: one part)')
    .option('--part-format <n>', 'format of rebuilt format-2 parts (with --vector-index hnsw, or parts too small for a codebook): 2 (block files, default) or 1', '2')
    .addOption(vectorIndexOption())
    .addOption(ivfMinRowsOption())
    .option('--json', 'machine-readable output')
    .action(async (o: ReindexFlags) => {
      if (o.partFormat !== '1' && o.partFormat !== '2') throw new Error(`--part-format must be 1 or 2, got '${o.partFormat}'`);
      validateNamespaceName(o.ns);
      const hnsw = {
        M: positiveInt(o.hnswM, '--hnsw-m'),
        efConstruction: positiveInt(o.hnswEfConstruction, '--hnsw-ef-construction'),
        flatThreshold: positiveInt(o.flatThreshold, '--flat-threshold'),
      };
      const maxRowsPerPart = positiveInt(o.maxRowsPerPart, '--max-rows-per-part');
      const ivf = ivfOf(vectorIndexOf(o));
      if (o.dryRun) {
        const plan = await withStore(o.store, (s) => planReindex(s, o.ns, { hnsw, maxRowsPerPart }));
        return o.json ? printJson(plan) : printPlan(plan);
      }
      const out = await withStore(o.store, (s) =>
        reindexNamespace(s, o.ns, {
          clock: systemClock,
          nonce: () => `r${process.pid.toString(36)}${randomBytes(4).toString('hex')}`,
          hnsw,
          maxRowsPerPart,
          partFormat: Number(o.partFormat),
          ...ivf,
          log: o.json ? undefined : (msg, f) => console.error(`${msg} ${JSON.stringify(f)}`),
        }),
      );
      if (out.result !== 'reindexed' && out.result !== 'nothing') process.exitCode = 1;
      if (o.json) return printJson(out);
      if (out.result === 'reindexed') {
        console.log(`replaced ${out.replaced.length} parts by ${out.parts.length} (${out.rows} rows): ${out.parts.map((p) => p.id).join(', ')}; epoch ${out.epoch}`);
        console.log('the replaced parts are deleted by `elax gc` (or the embedded indexer) after the grace period');
      } else console.log(`${out.result}: ${out.reason}`);
    });
}
