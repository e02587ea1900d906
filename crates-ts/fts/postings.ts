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
 *   u32[terms]     crc       CRC-32 of the term's posting list (checked when lists are range-read)
 *   u32[terms+1]   postOff   byte offset of each term's list inside the postings section
 *   u32[terms+1]   termOff   byte offset of each term inside the terms blob
 *   u8[]           terms blob: UTF-8 terms, sorted by JS string order (code units), padded
 *   u8[]           postings: per term, df varint ordinal deltas then df varint tfs
 *
 * The header carries the SHA-256 of the dictionary section (everything between the header and the postings), so a
 * range reader verifies what it fetched without the whole file (the manifest's checksum covers the whole file).
 * Offsets are u32: a postings file holds at most 4 GiB (parts are far smaller; compaction caps them).
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
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
  /** SHA-256 (hex) of the dictionary section: bytes [after the header, postingsStart). */
  dictSha256: string;
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

/** A Uint32Array twice as long holding `a`'s values (the growable arrays of buildPostings). */
function grown(a: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> {
  const next = new Uint32Array(a.length * 2);
  next.set(a);
  return next;
}

/**
 * Build the postings file of `attr` over `docs` (row ordinal = index). Deterministic: same input, same bytes.
 * `read` gives a document's analysed tokens (null when it has no text value), so build and query analyse alike.
 */
export function buildPostings(docs: readonly Doc[], attr: string, analyzer: TextAnalyzer, read: (doc: Doc) => readonly string[] | null): Uint8Array {
  const rows = docs.length;
  const docLens = new Int32Array(rows).fill(-1);
  // Terms get ids in order of first appearance; each (row, term) is one entry, appended in row order to flat typed
  // arrays (no per-row counting map, no per-term JS arrays for the GC to trace and promote): a term seen again in the
  // row it was last seen in (lastOrd) adds to that entry's tf. Then the entries are grouped by term (a stable
  // counting sort: each term's rows stay ascending) in the terms' sorted order. postings.test.ts checks the bytes
  // against a straightforward per-row-map reference.
  const ids = new Map<string, number>();
  const names: string[] = [];
  let termCap = 1024;
  let lastOrd = new Uint32Array(termCap);
  let lastEntry = new Uint32Array(termCap);
  let dfOf = new Uint32Array(termCap);
  let maxTfOf = new Uint32Array(termCap);
  let minLenOf = new Uint32Array(termCap);
  let entryCap = 4096;
  let entryTerm = new Uint32Array(entryCap);
  let entryOrd = new Uint32Array(entryCap);
  let entryTf = new Uint32Array(entryCap);
  let entries = 0;
  let docCount = 0;
  let totalTokens = 0;
  for (let ord = 0; ord < rows; ord++) {
    const tokens = read(docs[ord]!);
    if (tokens === null) continue;
    const len = tokens.length;
    docCount++;
    totalTokens += len;
    docLens[ord] = len;
    for (let i = 0; i < len; i++) {
      const t = tokens[i]!;
      let id = ids.get(t);
      if (id === undefined) {
        id = names.length;
        if (id === termCap) {
          termCap *= 2;
          lastOrd = grown(lastOrd);
          lastEntry = grown(lastEntry);
          dfOf = grown(dfOf);
          maxTfOf = grown(maxTfOf);
          minLenOf = grown(minLenOf);
        }
        ids.set(t, id);
        names.push(t);
        minLenOf[id] = 0xffffffff;
      } else if (lastOrd[id] === ord) {
        const e = lastEntry[id]!;
        const tf = entryTf[e]! + 1;
        entryTf[e] = tf;
        if (tf > maxTfOf[id]!) maxTfOf[id] = tf;
        continue;
      }
      if (entries === entryCap) {
        entryCap *= 2;
        entryTerm = grown(entryTerm);
        entryOrd = grown(entryOrd);
        entryTf = grown(entryTf);
      }
      entryTerm[entries] = id;
      entryOrd[entries] = ord;
      entryTf[entries] = 1;
      lastOrd[id] = ord;
      lastEntry[id] = entries++;
      dfOf[id]!++;
      if (maxTfOf[id]! < 1) maxTfOf[id] = 1;
      if (len < minLenOf[id]!) minLenOf[id] = len;
    }
  }
  const n = names.length;
  // Term ids in sorted term order (JS string order: UTF-16 code units).
  const sortedIds = Uint32Array.from(names.keys()).sort((x, y) => {
    const a = names[x]!;
    const b = names[y]!;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const rank = new Uint32Array(n);
  for (let i = 0; i < n; i++) rank[sortedIds[i]!] = i;
  const df = new Uint32Array(n);
  const maxTf = new Uint32Array(n);
  const minLen = new Uint32Array(n);
  const crc = new Uint32Array(n);
  const postOff = new Uint32Array(n + 1);
  const termOff = new Uint32Array(n + 1);
  // Where each term's entries start in term order, then the entries' positions (stable).
  const start = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const id = sortedIds[i]!;
    df[i] = dfOf[id]!;
    maxTf[i] = maxTfOf[id]!;
    minLen[i] = minLenOf[id]!;
    start[i + 1] = start[i]! + df[i]!;
  }
  const next = start.slice(0, n);
  const byTerm = new Uint32Array(entries);
  for (let e = 0; e < entries; e++) byTerm[next[rank[entryTerm[e]!]!]!++] = e;
  const postings = new ByteWriter();
  const termBytes: Uint8Array[] = [];
  let termBlobLen = 0;
  for (let i = 0; i < n; i++) {
    postOff[i] = postings.length;
    const from = start[i]!;
    const to = start[i + 1]!;
    let prev = 0;
    for (let j = from; j < to; j++) {
      const o = entryOrd[byTerm[j]!]!;
      postings.varint(o - prev);
      prev = o;
    }
    for (let j = from; j < to; j++) postings.varint(entryTf[byTerm[j]!]!);
    const tb = Buffer.from(names[sortedIds[i]!]!, 'utf8');
    termOff[i] = termBlobLen;
    termBytes.push(tb);
    termBlobLen += tb.length;
  }
  postOff[n] = postings.length;
  termOff[n] = termBlobLen;
  const postingBytes = postings.bytes();
  for (let i = 0; i < n; i++) crc[i] = crc32(postingBytes.subarray(postOff[i]!, postOff[i + 1]!));
  if (postings.length > 0xffffffff || termBlobLen > 0xffffffff) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `postings of '${attr}' exceed 4 GiB; build smaller parts`);
  }

  // The dictionary section, assembled first: the header records its checksum and where the postings start.
  const dictLen = 4 * rows + 4 * n * 4 + 4 * (n + 1) * 2 + pad4(termBlobLen);
  const dict = new Uint8Array(dictLen);
  let at = 0;
  const put = (a: Int32Array | Uint32Array) => {
    dict.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  };
  put(docLens);
  put(df);
  put(maxTf);
  put(minLen);
  put(crc);
  put(postOff);
  put(termOff);
  for (const tb of termBytes) {
    dict.set(tb, at);
    at += tb.length;
  }
  const header: PostingsHeader = {
    attr,
    analysis: analysisKey(analyzer.config),
    rows,
    docCount,
    totalTokens,
    terms: n,
    postingsStart: 0,
    postingsBytes: postingBytes.length,
    dictSha256: createHash('sha256').update(dict).digest('hex'),
  };
  // postingsStart depends on the header length, which depends on postingsStart's digits: iterate to a fixed point.
  let headerBytes = Buffer.from(JSON.stringify(header));
  for (;;) {
    const start = 12 + pad4(headerBytes.length) + dictLen;
    if (header.postingsStart === start) break;
    header.postingsStart = start;
    headerBytes = Buffer.from(JSON.stringify(header));
  }
  const out = new Uint8Array(header.postingsStart + postingBytes.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  out.set(dict, 12 + pad4(headerBytes.length));
  out.set(postingBytes, header.postingsStart);
  return out;
}

function corrupt(where: string, what: string): ElaxError {
  return new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${what}`);
}

/** What a text query needs from one attribute's postings: the lists of these terms and of terms with these prefixes. */
export interface TextNeed {
  attr: string;
  terms: readonly string[];
  prefixes: readonly string[];
}

/** Term indexes a TextNeed names in `file`. */
export function neededLists(file: PostingsFile, need: TextNeed): number[] {
  const out: number[] = [];
  for (const t of need.terms) {
    const i = file.lookup(t);
    if (i >= 0) out.push(i);
  }
  for (const p of need.prefixes) {
    const [start, end] = file.prefixRange(p);
    for (let i = start; i < end; i++) out.push(i);
  }
  return out;
}

/**
 * Memory estimates (memoryBytes()), measured by bench/micro/postings-memory.ts on Node 20 x64: the typed-array views
 * and the object of an open file; a V8 string (header, then one byte per Latin-1 character or two otherwise, in 8-byte
 * steps) and its slot in the terms array; a fetched list's map entry and view; a decoded list's two typed arrays, its
 * object and map entry.
 */
const FILE_OVERHEAD = 2048;
const FETCHED_OVERHEAD = 120;
const LIST_OVERHEAD = 360;

function stringBytes(s: string): number {
  let wide = false;
  for (let i = 0; i < s.length && !wide; i++) wide = s.charCodeAt(i) > 0xff;
  return (16 + (wide ? 2 : 1) * s.length + 7) & ~7;
}

/** Reads bytes [start, end) of a postings file (a ranged GET). */
export type RangeReader = (start: number, end: number) => Promise<Uint8Array>;

/** Ranged reads of adjacent lists closer than this are merged into one request. */
const COALESCE_GAP = 16 * 1024;
/** The first ranged read: the header (then the rest of the dictionary, whose size the header gives). */
const FIRST_READ = 16 * 1024;

function parseHeader(bytes: Uint8Array, where: string): { header: PostingsHeader; dictStart: number } {
  if (bytes.byteLength < 12) throw corrupt(where, 'truncated postings file');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw corrupt(where, 'not a postings file (bad magic)');
  const version = dv.getUint32(4, true);
  if (version !== VERSION) throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `${where}: postings format ${version}; this build reads ${VERSION}`);
  const hlen = dv.getUint32(8, true);
  if (12 + hlen > bytes.byteLength) throw corrupt(where, 'truncated postings header');
  try {
    const header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 12, hlen).toString('utf8')) as PostingsHeader;
    return { header, dictStart: 12 + pad4(hlen) };
  } catch (cause) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: postings header is not JSON`, { cause });
  }
}

/**
 * A decoded view of a postings file: typed arrays alias the dictionary bytes (no copy); terms are decoded to
 * strings on first lookup; posting lists are decoded on first use and kept.
 *
 * Two ways to open one: from the whole file (verified by the part manifest's SHA-256), or by ranges
 * (openRanged: header and dictionary first, verified by the header's dictSha256; then fetch() only the lists a query
 * names, each verified by its CRC-32). list(i) of a list that was not fetched is a bug in the caller.
 */
export interface PostingsOptions {
  /**
   * Keep what a pool thread reads in SharedArrayBuffers (the engine scores BM25 over parts on its pool:
   * fts/part-task.ts, RFC-0010 "BM25 over parts on the pool"): the row lengths are copied once into one (4 bytes a row,
   * counted in memoryBytes()), and every decoded list's ordinals and tfs live in one. Posted to a thread, they are
   * shared, not copied; the file (and with it this memory) is evicted from the BlockCache as a whole.
   */
  shared?: boolean;
}

const canShare = () => typeof SharedArrayBuffer === 'function';

export class PostingsFile {
  readonly header: PostingsHeader;
  readonly docLens: Int32Array;
  readonly df: Uint32Array;
  readonly maxTf: Uint32Array;
  readonly minLen: Uint32Array;
  private readonly crc: Uint32Array;
  private readonly postOff: Uint32Array;
  private readonly termOff: Uint32Array;
  private readonly blob: Uint8Array;
  /** The whole postings section (whole-file mode), or null (ranged mode: see `fetched`). */
  private readonly postings: Uint8Array | null;
  private readonly fetched = new Map<number, Uint8Array>();
  private readonly read: RangeReader | null;
  private termStrings: string[] | null = null;
  private readonly decoded = new Map<number, PostingList>();
  /** Bytes fetched by ranged reads so far (header and dictionary included). */
  bytesRead = 0;
  /** Estimated memory held: the bytes kept, the decoded term strings, fetched and decoded lists (memoryBytes()). */
  private held: number;

  /** Whether row lengths and decoded lists are in SharedArrayBuffers (PostingsOptions.shared). */
  readonly shared: boolean;

  /** From the whole file's bytes. */
  constructor(bytes: Uint8Array, readonly where: string, read: RangeReader | null = null, opts: PostingsOptions = {}) {
    if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice(); // typed-array views need 4-byte alignment
    const { header: h, dictStart } = parseHeader(bytes, where);
    this.header = h;
    this.read = read;
    if (read === null && h.postingsStart + h.postingsBytes !== bytes.byteLength) {
      throw corrupt(where, `postings file is ${bytes.byteLength} bytes; its header says ${h.postingsStart + h.postingsBytes}`);
    }
    if (bytes.byteLength < h.postingsStart) throw corrupt(where, 'truncated postings dictionary');
    const n = h.terms;
    let at = bytes.byteOffset + dictStart;
    const u32 = (len: number) => {
      const a = new Uint32Array(bytes.buffer, at, len);
      at += 4 * len;
      return a;
    };
    this.shared = opts.shared === true && canShare();
    const lens = new Int32Array(bytes.buffer, at, h.rows);
    if (this.shared) {
      this.docLens = new Int32Array(new SharedArrayBuffer(4 * h.rows));
      this.docLens.set(lens);
    } else this.docLens = lens;
    at += 4 * h.rows;
    this.df = u32(n);
    this.maxTf = u32(n);
    this.minLen = u32(n);
    this.crc = u32(n);
    this.postOff = u32(n + 1);
    this.termOff = u32(n + 1);
    this.blob = new Uint8Array(bytes.buffer, at, this.termOff[n]!);
    this.postings = read === null ? bytes.subarray(h.postingsStart) : null;
    this.held = FILE_OVERHEAD + bytes.byteLength + (this.shared ? 4 * h.rows : 0);
  }

  /**
   * What this file holds in memory, estimated from what it keeps (calibrated by bench/micro/postings-memory.ts against
   * the V8 heap and array buffers): the file's bytes (ranged: the header and dictionary), the term strings once a
   * lookup decoded them, the posting lists fetched by range, and the lists decoded. It grows as queries fetch and
   * decode lists; the BlockCache is told (resize) after each prepare, so its budget bounds it.
   */
  memoryBytes(): number {
    return this.held;
  }

  /** Decodes the lists of term indexes `idx` now (prepare time, so memoryBytes() counts them before a kernel runs). */
  decode(idx: Iterable<number>): void {
    for (const i of idx) if (this.df[i]! > 0) this.list(i);
  }

  /** Opens a file of `size` bytes by ranges: header and dictionary now, posting lists on fetch(). */
  static async openRanged(read: RangeReader, size: number, where: string, opts: PostingsOptions = {}): Promise<PostingsFile> {
    let head = await read(0, Math.min(size, FIRST_READ));
    let bytesRead = head.byteLength;
    const { header, dictStart } = parseHeader(head, where);
    if (header.postingsStart + header.postingsBytes !== size) {
      throw corrupt(where, `postings file is ${size} bytes; its header says ${header.postingsStart + header.postingsBytes}`);
    }
    if (head.byteLength < header.postingsStart) {
      const rest = await read(head.byteLength, header.postingsStart);
      bytesRead += rest.byteLength;
      const all = new Uint8Array(header.postingsStart);
      all.set(head.subarray(0, Math.min(head.byteLength, header.postingsStart)));
      all.set(rest, head.byteLength);
      head = all;
    } else {
      head = head.slice(0, header.postingsStart);
    }
    const dictSha = createHash('sha256').update(head.subarray(dictStart, header.postingsStart)).digest('hex');
    if (dictSha !== header.dictSha256) throw corrupt(where, 'postings dictionary does not match its checksum');
    const file = new PostingsFile(head, where, read, opts);
    file.bytesRead = bytesRead;
    return file;
  }

  get rows(): number {
    return this.header.rows;
  }

  /** True when list(i) can be called without fetch() (whole-file mode, or already fetched). */
  has(i: number): boolean {
    return this.postings !== null || this.fetched.has(i);
  }

  /** Ranged mode: fetch the posting lists of term indexes `idx` not fetched yet (adjacent ones in one request). */
  async fetch(idx: Iterable<number>): Promise<void> {
    if (this.read === null) return;
    const want = [...new Set(idx)].filter((i) => !this.fetched.has(i) && this.df[i]! > 0).sort((a, b) => a - b);
    if (want.length === 0) return;
    const groups: number[][] = [];
    for (const i of want) {
      const g = groups[groups.length - 1];
      if (g && this.postOff[i]! - this.postOff[g[g.length - 1]! + 1]! <= COALESCE_GAP) g.push(i);
      else groups.push([i]);
    }
    const base = this.header.postingsStart;
    await Promise.all(
      groups.map(async (g) => {
        const from = this.postOff[g[0]!]!;
        const to = this.postOff[g[g.length - 1]! + 1]!;
        const bytes = await this.read!(base + from, base + to);
        this.bytesRead += bytes.byteLength;
        this.held += bytes.byteLength + FETCHED_OVERHEAD * g.length;
        if (bytes.byteLength !== to - from) throw corrupt(this.where, `ranged read returned ${bytes.byteLength} bytes; expected ${to - from}`);
        for (const i of g) {
          const list = bytes.subarray(this.postOff[i]! - from, this.postOff[i + 1]! - from);
          if (crc32(list) !== this.crc[i]) throw corrupt(this.where, `posting list ${i} does not match its CRC-32`);
          this.fetched.set(i, list);
        }
      }),
    );
  }

  private terms(): string[] {
    if (this.termStrings === null) {
      const dec = new TextDecoder();
      const n = this.header.terms;
      const out = new Array<string>(n);
      let held = 8 * n;
      for (let i = 0; i < n; i++) {
        out[i] = dec.decode(this.blob.subarray(this.termOff[i]!, this.termOff[i + 1]!));
        held += stringBytes(out[i]!);
      }
      this.termStrings = out;
      this.held += held;
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
    let p: Uint8Array;
    if (this.postings !== null) p = this.postings.subarray(this.postOff[i]!, this.postOff[i + 1]!);
    else {
      const f = this.fetched.get(i);
      if (f === undefined) throw new ElaxError('ELAX_ERR_INTERNAL', `${this.where}: posting list ${i} used before fetch()`);
      p = f;
    }
    const n = this.df[i]!;
    const buf = this.shared ? new SharedArrayBuffer(8 * n) : new ArrayBuffer(8 * n);
    const ords = new Uint32Array(buf, 0, n);
    const tfs = new Uint32Array(buf, 4 * n, n);
    let at = 0;
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
    this.held += 8 * n + LIST_OVERHEAD;
    return l;
  }
}
