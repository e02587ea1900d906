/**
 * Full-text-search configuration (turbopuffer FullTextSearchConfig): validation and defaults.
 *
 * A schema says `full_text_search: true` or a partial object; everything downstream works on the complete,
 * validated FullTextConfig this returns, so analysis never has to guess a default.
 */
import { invalid, type FullTextConfig } from '../core/index.js';
import { LANGUAGES, TOKENIZERS, stemmingSupported } from './languages.js';

/**
 * Defaults. turbopuffer documents language english, stemming false, remove_stopwords true, case_sensitive false,
 * ascii_folding false, max_token_length 39, k1 1.2, b 0.75. Its newest client says tokenizer `word_v4`; elax
 * defaults to `word_v3` (all word_v* tokenizers share one implementation here, see analyzer.ts).
 */
export const DEFAULT_FULL_TEXT_CONFIG: Readonly<FullTextConfig> = Object.freeze({
  language: 'english',
  stemming: false,
  remove_stopwords: true,
  case_sensitive: false,
  ascii_folding: false,
  max_token_length: 39,
  tokenizer: 'word_v3',
  k1: 1.2,
  b: 0.75,
});

/** max_token_length bounds (FullTextSearchConfig: "Has to be between 1 and 254 (inclusive)"). */
export const MIN_TOKEN_LENGTH = 1;
export const MAX_TOKEN_LENGTH = 254;

const BOOL_KEYS = ['stemming', 'remove_stopwords', 'case_sensitive', 'ascii_folding'] as const;
const KNOWN_KEYS = new Set<string>(Object.keys(DEFAULT_FULL_TEXT_CONFIG));

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'string' ? `'${v}'` : typeof v === 'object' ? 'object' : String(v);
}

/**
 * The complete config for `raw` (`true` or a partial object) on attribute `attr`.
 * Throws a 400 (ELAX_ERR_INVALID_REQUEST) naming the attribute and the offending key for anything else.
 */
export function normalizeFullTextConfig(raw: unknown, attr: string): FullTextConfig {
  const where = `full_text_search of attribute '${attr}'`;
  if (raw === true) return { ...DEFAULT_FULL_TEXT_CONFIG };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(`${where} must be true or an object, got ${describe(raw)}`);
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KNOWN_KEYS.has(k)) {
      throw invalid(`${where}: unknown option '${k}'; valid options: ${[...KNOWN_KEYS].join(', ')}`);
    }
  }
  const cfg: FullTextConfig = { ...DEFAULT_FULL_TEXT_CONFIG };
  if (o.language !== undefined) {
    if (typeof o.language !== 'string' || !LANGUAGES.includes(o.language)) {
      throw invalid(`${where}: language must be one of ${LANGUAGES.join(', ')}; got ${describe(o.language)}`);
    }
    cfg.language = o.language;
  }
  for (const k of BOOL_KEYS) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw invalid(`${where}: ${k} must be a boolean, got ${describe(v)}`);
    cfg[k] = v;
  }
  if (o.max_token_length !== undefined) {
    const v = o.max_token_length;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_TOKEN_LENGTH || v > MAX_TOKEN_LENGTH) {
      throw invalid(`${where}: max_token_length must be an integer between ${MIN_TOKEN_LENGTH} and ${MAX_TOKEN_LENGTH}, got ${describe(v)}`);
    }
    cfg.max_token_length = v;
  }
  if (o.tokenizer !== undefined) {
    if (typeof o.tokenizer !== 'string' || !TOKENIZERS.includes(o.tokenizer)) {
      throw invalid(`${where}: tokenizer must be one of ${TOKENIZERS.join(', ')}; got ${describe(o.tokenizer)}`);
    }
    cfg.tokenizer = o.tokenizer;
  }
  if (o.k1 !== undefined) {
    if (typeof o.k1 !== 'number' || !Number.isFinite(o.k1) || o.k1 < 0) {
      throw invalid(`${where}: k1 must be a finite number >= 0, got ${describe(o.k1)}`);
    }
    cfg.k1 = o.k1;
  }
  if (o.b !== undefined) {
    if (typeof o.b !== 'number' || !Number.isFinite(o.b) || o.b < 0 || o.b > 1) {
      throw invalid(`${where}: b must be a number between 0 and 1, got ${describe(o.b)}`);
    }
    cfg.b = o.b;
  }
  if (cfg.stemming && !stemmingSupported(cfg.language)) {
    throw invalid(`${where}: stemming is not supported yet for language '${cfg.language}'`);
  }
  return cfg;
}

/**
 * The config of a schema entry's `full_text_search`, or null when the attribute has none. Tolerates a schema that
 * still holds the raw `true` / partial form (it is normalized here) so callers need not care which they got.
 */
export function fullTextConfigOf(fts: unknown, attr: string): FullTextConfig | null {
  if (fts === undefined || fts === null || fts === false) return null;
  return normalizeFullTextConfig(fts, attr);
}

/** A stable string identifying everything about a config that changes analysis (not k1/b). */
export function analysisKey(c: FullTextConfig): string {
  return `${c.tokenizer}|${c.language}|${c.stemming ? 1 : 0}${c.remove_stopwords ? 1 : 0}${c.case_sensitive ? 1 : 0}${c.ascii_folding ? 1 : 0}|${c.max_token_length}`;
}
