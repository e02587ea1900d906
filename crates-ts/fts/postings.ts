/**
 * The per-part postings file of one full_text_search attribute: term -> (row ordinal, term frequency) lists, the
 * length of every row's text, and the statistics BM25 needs. Written by the indexer, read by the query path.
 *
 * Layout (little-endian; every section 4-byte aligned). The dictionary comes before the postings, so a reader can
 * fetch [0, postingsStart) with one range request and then exactly the byte ranges of the terms a query names:
 *
 *   magic "ELXP", u32 version, u32 headerLen, header JSON (padded)
 *       header: { attr, analysis, rows, docCount, totalTokens, terms, postingsStart, postingsBytes }
 *   i32[rows]      docLen per row ordinal (-1: the row has no text in this attribute; it is not counted)
 *   u32[terms]     df        documents containing the term
 *   u32[terms]     maxTf     highest tf of the term in one document   } per-term score upper bounds
 *   u32[terms]     minLen    shortest document containing the term    } for max-score pruning
 *   u32[terms+1]   postOff   byte offset of each term's list inside the postings section
 *   u32[terms+1]   termOff   byte offset of each term inside the terms blob
 *   u8[]           terms blob: UTF-8 terms, sorted by JS string order (code units), padded
 *   u8[]           postings: per term, df varint ordinal deltas then df varint tfs
 *
 * Offsets are u32: a postings file holds at most 4 GiB (parts are far smaller; compaction caps them).
 */
import { ElaxError, type Doc } from '../core/index.js';
import type { TextAnalyzer } from './analyzer.js';
import { analysisKey } from './config.js';

const MAGIC = 0x50584c45; // "ELXP" little-endian
const VERSION = 1;

export interface PostingsHeader {
  attr: string;
  /** analysisKey() of the config the file was built with: a query with another analysis must not use it. */
  analysis: string;
  rows: number;
  docCount: number;
  totalTokens: number;
  terms: number;
  postingsStart: number;
  postingsBytes: number;
}

export interface PostingList {
  /** Row ordinals, ascending. */
  readonly ords: Uint32Array;
  /** Term frequency of each entry. */
  readonly tfs: Uint32Array;
}

const pad4 = (n: number) => (n + 3) & ~3;

class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  length = 0;
  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  varint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.length++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.length++] = v;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * Build the postings file of `attr` over `docs` (row ordinal = index). Deterministic: same input, same bytes.
 * `read` gives a document's analysed tokens (null when it has no text value), so build and query analyse alike.
 */
export function buildPostings(docs: readonly Doc[], attr: string, analyzer: TextAnalyzer, read: (doc: Doc) => readonly string[] | null): Uint8Array {
  const rows = docs.length;
  const docLens = new Int32Array(rows).fill(-1);
  const lists = new Map<string, { ords: number[]; tfs: number[]; maxTf: number; minLen: number }>();
  let docCount = 0;
  let totalTokens = 0;
  const counts = new Map<string, number>();
  for (let ord = 0; ord < rows; ord++) {
    const tokens = read(docs[ord]!);
    if (tokens === null) continue;
    docCount++;
    totalTokens += tokens.length;
    docLens[ord] = tokens.length;
    counts.clear();
    for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [t, tf] of counts) {
      let l = lists.get(t);
      if (l === undefined) lists.set(t, (l = { ords: [], tfs: [], maxTf: 0, minLen: 0xffffffff }));
      l.ords.push(ord);
      l.tfs.push(tf);
      if (tf > l.maxTf) l.maxTf = tf;
      if (tokens.length < l.minLen) l.minLen = tokens.length;
    }
  }
  const terms = [...lists.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const n = terms.length;
  const df = new Uint32Array(n);
  const maxTf = new Uint32Array(n);
  const minLen = new Uint32Array(n);
  const postOff = new Uint32Array(n + 1);
  const termOff = new Uint32Array(n + 1);
  const postings = new ByteWriter();
  const termBytes: Uint8Array[] = [];
  let termBlobLen = 0;
  terms.forEach((t, i) => {
    const l = lists.get(t)!;
    df[i] = l.ords.length;
    maxTf[i] = l.maxTf;
    minLen[i] = l.minLen;
    postOff[i] = postings.length;
    let prev = 0;
    for (const o of l.ords) {
      postings.varint(o - prev);
      prev = o;
    }
    for (const tf of l.tfs) postings.varint(tf);
    const tb = Buffer.from(t, 'utf8');
    termOff[i] = termBlobLen;
    termBytes.push(tb);
    termBlobLen += tb.length;
  });
  postOff[n] = postings.length;
  termOff[n] = termBlobLen;
  if (postings.length > 0xffffffff || termBlobLen > 0xffffffff) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `postings of '${attr}' exceed 4 GiB; build smaller parts`);
  }

  const fixed = 4 * rows + 4 * n * 3 + 4 * (n + 1) * 2 + pad4(termBlobLen);
  const header: PostingsHeader = { attr, analysis: analysisKey(analyzer.config), rows, docCount, totalTokens, terms: n, postingsStart: 0, postingsBytes: postings.length };
  // postingsStart depends on the header length, which depends on postingsStart's digits: iterate to a fixed point.
  let headerBytes = Buffer.from(JSON.stringify(header));
  for (;;) {
    const start = 12 + pad4(headerBytes.length) + fixed;
    if (header.postingsStart === start) break;
    header.postingsStart = start;
    headerBytes = Buffer.from(JSON.stringify(header));
  }
  const out = new Uint8Array(header.postingsStart + postings.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  let at = 12 + pad4(headerBytes.length);
  const put = (a: Int32Array | Uint32Array) => {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  };
  put(docLens);
  put(df);
  put(maxTf);
  put(minLen);
  put(postOff);
  put(termOff);
  for (const tb of termBytes) {
    out.set(tb, at);
    at += tb.length;
  }
  at = pad4(at);
  out.set(postings.bytes(), at);
  return out;
}

function corrupt(where: string, what: string): ElaxError {
  return new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${what}`);
}

/**
 * A decoded view of a postings file. Typed arrays alias the file's bytes (no copy); terms are decoded to strings
 * on first lookup; posting lists are decoded on first use and kept (bounded by the file's own size).
 */
export class PostingsFile {
  readonly header: PostingsHeader;
  readonly docLens: Int32Array;
  readonly df: Uint32Array;
  readonly maxTf: Uint32Array;
  readonly minLen: Uint32Array;
  private readonly postOff: Uint32Array;
  private readonly termOff: Uint32Array;
  private readonly blob: Uint8Array;
  private readonly postings: Uint8Array;
  private termStrings: string[] | null = null;
  private readonly decoded = new Map<number, PostingList>();

  constructor(bytes: Uint8Array, where: string) {
    if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice(); // typed-array views need 4-byte alignment
    if (bytes.byteLength < 12) throw corrupt(where, 'truncated postings file');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(0, true) !== MAGIC) throw corrupt(where, 'not a postings file (bad magic)');
    const version = dv.getUint32(4, true);
    if (version !== VERSION) throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `${where}: postings format ${version}; this build reads ${VERSION}`);
    const hlen = dv.getUint32(8, true);
    let h: PostingsHeader;
    try {
      h = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 12, hlen).toString('utf8')) as PostingsHeader;
    } catch (cause) {
      throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: postings header is not JSON`, { cause });
    }
    this.header = h;
    const n = h.terms;
    let at = bytes.byteOffset + 12 + pad4(hlen);
    const u32 = (len: number) => {
      const a = new Uint32Array(bytes.buffer, at, len);
      at += 4 * len;
      return a;
    };
    if (h.postingsStart + h.postingsBytes !== bytes.byteLength) throw corrupt(where, `postings file is ${bytes.byteLength} bytes; its header says ${h.postingsStart + h.postingsBytes}`);
    this.docLens = new Int32Array(bytes.buffer, at, h.rows);
    at += 4 * h.rows;
    this.df = u32(n);
    this.maxTf = u32(n);
    this.minLen = u32(n);
    this.postOff = u32(n + 1);
    this.termOff = u32(n + 1);
    this.blob = new Uint8Array(bytes.buffer, at, this.termOff[n]!);
    this.postings = bytes.subarray(h.postingsStart);
  }

  get rows(): number {
    return this.header.rows;
  }

  private terms(): string[] {
    if (this.termStrings === null) {
      const dec = new TextDecoder();
      const n = this.header.terms;
      const out = new Array<string>(n);
      for (let i = 0; i < n; i++) out[i] = dec.decode(this.blob.subarray(this.termOff[i]!, this.termOff[i + 1]!));
      this.termStrings = out;
    }
    return this.termStrings;
  }

  /** First term index >= `key` in term order. */
  private lowerBound(key: string): number {
    const terms = this.terms();
    let lo = 0;
    let hi = terms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (terms[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Term index of `term`, or -1. */
  lookup(term: string): number {
    const i = this.lowerBound(term);
    return i < this.header.terms && this.terms()[i] === term ? i : -1;
  }

  /** Term indexes of the terms starting with `prefix`: [start, end). */
  prefixRange(prefix: string): [number, number] {
    const start = this.lowerBound(prefix);
    const terms = this.terms();
    let end = start;
    while (end < terms.length && terms[end]!.startsWith(prefix)) end++;
    return [start, end];
  }

  /** The posting list of term index `i` (decoded once, then cached). */
  list(i: number): PostingList {
    let l = this.decoded.get(i);
    if (l !== undefined) return l;
    const n = this.df[i]!;
    const ords = new Uint32Array(n);
    const tfs = new Uint32Array(n);
    const p = this.postings;
    let at = this.postOff[i]!;
    const readVarint = () => {
      let v = 0;
      let shift = 0;
      for (;;) {
        const b = p[at++]!;
        v += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return v;
        shift += 7;
      }
    };
    let prev = 0;
    for (let j = 0; j < n; j++) ords[j] = prev += readVarint();
    for (let j = 0; j < n; j++) tfs[j] = readVarint();
    l = { ords, tfs };
    this.decoded.set(i, l);
    return l;
  }
}
