/**
 * --vector-index / --ivf-min-rows (RFC-0008; indexer/vector-index.ts): shared by serve, indexer, compact and reindex.
 * IVF is the default of every entry point ("Choice of index" in RFC-0008); `hnsw` keeps writing format-2 parts.
 */
import { Option } from 'commander';
import { DEFAULT_IVF_MIN_ROWS } from '../indexer/vector-index.js';

/** The options as the numbers the embedded indexer's worker takes (plain data crosses to it). */
export function vectorIndexOf(o: { vectorIndex: string; ivfMinRows: string }): { vectorIndexIvf: number; ivfMinRows: number } {
  if (o.vectorIndex !== 'ivf' && o.vectorIndex !== 'hnsw') throw new Error(`--vector-index (or ELAX_VECTOR_INDEX) must be ivf or hnsw, got '${o.vectorIndex}'`);
  const minRows = Number(o.ivfMinRows);
  if (!Number.isInteger(minRows) || minRows < 1) throw new Error(`--ivf-min-rows must be a positive integer, got '${o.ivfMinRows}'`);
  return { vectorIndexIvf: o.vectorIndex === 'ivf' ? 1 : 0, ivfMinRows: minRows };
}

export const vectorIndexOption = () =>
  new Option(
    '--vector-index <kind>',
    'vector index of new parts: ivf (default: clusters with RaBitQ codes against a codebook the namespace shares, part format 3) or hnsw (one HNSW graph per part, format 2); env ELAX_VECTOR_INDEX',
  ).default(process.env.ELAX_VECTOR_INDEX || 'ivf');

export const ivfMinRowsOption = () =>
  new Option('--ivf-min-rows <n>', 'with --vector-index ivf: vectors a part needs to train the first codebook (smaller parts stay flat, exact, until then)').default(String(DEFAULT_IVF_MIN_ROWS));

export const ivfOf = (v: { vectorIndexIvf: number; ivfMinRows: number }) => (v.vectorIndexIvf ? { vectorIndex: { kind: 'ivf' as const, minRows: v.ivfMinRows } } : {});
