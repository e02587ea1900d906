/**
 * Block files (RFC-0004 §1): the container of every v2 part file except the HNSW index and postings.
 *
 *   [block 0][block 1]...[block n-1][footer JSON][trailer]
 *   trailer (16 bytes): footer length u32 LE, footer CRC-32 u32 LE, format version u16 LE, magic "ELXBLK"
 *
 * The footer holds the block table (offset, length, CRC-32 of each block) and whatever the file kind adds. The part
 * head carries the same tables, so readers with the head fetch blocks by range directly and verify each by its CRC;
 * the footer makes every file self-describing for tools and recovery (`openBlockFile` needs only the file's end).
 */
import { crc32 } from 'node:zlib';
import { ElaxError } from '../core/index.js';

export const BLOCK_FILE_MAGIC = 'ELXBLK';
export const BLOCK_FILE_VERSION = 1;
export const TRAILER_BYTES = 16;

export interface BlockRef {
  offset: number;
  length: number;
  crc32: number;
}

/** Block table as stored in heads and footers: parallel typed arrays, base64 of their little-endian bytes. */
export interface BlockTable {
  offset: Float64Array;
  length: Uint32Array;
  crc32: Uint32Array;
  /** First row ordinal of each block (row-blocked files); absent for files addressed otherwise. */
  start?: Uint32Array;
}

export interface EncodedBlockTable {
  offset: string;
  length: string;
  crc32: string;
  start?: string;
}

export function corruptBlock(where: string, what: string): ElaxError {
  return new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${what}`);
}

/**
 * Assembles a block file in memory (parts are built whole, then uploaded).
 *
 * `arena`: a buffer the caller builds the blocks in, in order from its start. When every block added is the next
 * bytes of it and the footer and trailer fit after them, `finish` writes those in place and returns a view of the
 * arena instead of concatenating a copy (a large file's copy costs a fresh allocation's page faults:
 * docs/benchmarks.md "Indexer CPU per row"). Otherwise, or without one, the blocks are concatenated.
 */
export class BlockFileWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  /** Every block so far lies in `arena` at its offset in the file. */
  private inArena: boolean;

  constructor(private readonly arena?: Uint8Array) {
    this.inArena = arena !== undefined;
  }

  /**
   * The bytes `finish(kind, extra)` appends after `blocks` blocks (footer and trailer), exactly: the table's base64
   * columns have a length fixed by the block count. With it an arena can be the file's exact size, so the file owns
   * its whole buffer (a build worker moves such buffers instead of copying them, pool/worker.ts).
   */
  static tailBytes(kind: string, blocks: number, rowBlocked: boolean, extra: Record<string, unknown> = {}): number {
    const t: BlockTable = { offset: new Float64Array(blocks), length: new Uint32Array(blocks), crc32: new Uint32Array(blocks) };
    if (rowBlocked) t.start = new Uint32Array(blocks);
    return Buffer.byteLength(footerJson(kind, t, extra)) + TRAILER_BYTES;
  }
  private readonly offsets: number[] = [];
  private readonly lengths: number[] = [];
  private readonly crcs: number[] = [];
  private readonly starts: number[] = [];

  /** Appends one block; `start` is the first row ordinal it holds (row-blocked files). Returns its index. */
  add(bytes: Uint8Array, start?: number): number {
    this.offsets.push(this.size);
    this.lengths.push(bytes.byteLength);
    this.crcs.push(crc32(bytes) >>> 0);
    if (start !== undefined) this.starts.push(start);
    if (this.inArena && (bytes.buffer !== this.arena!.buffer || bytes.byteOffset !== this.arena!.byteOffset + this.size)) this.inArena = false;
    this.chunks.push(bytes);
    this.size += bytes.byteLength;
    return this.offsets.length - 1;
  }

  get blocks(): number {
    return this.offsets.length;
  }

  table(): BlockTable {
    const t: BlockTable = { offset: Float64Array.from(this.offsets), length: Uint32Array.from(this.lengths), crc32: Uint32Array.from(this.crcs) };
    if (this.starts.length > 0) t.start = Uint32Array.from(this.starts);
    return t;
  }

  /** The whole file: blocks, footer `{kind, blocks, ...extra}`, trailer. */
  finish(kind: string, extra: Record<string, unknown> = {}): Uint8Array {
    const footer = Buffer.from(footerJson(kind, this.table(), extra));
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.writeUInt32LE(footer.byteLength, 0);
    trailer.writeUInt32LE(crc32(footer) >>> 0, 4);
    trailer.writeUInt16LE(BLOCK_FILE_VERSION, 8);
    trailer.write(BLOCK_FILE_MAGIC, 10, 'latin1');
    const total = this.size + footer.byteLength + TRAILER_BYTES;
    const arena = this.arena;
    if (this.inArena && arena !== undefined && total <= arena.byteLength) {
      arena.set(footer, this.size);
      arena.set(trailer, this.size + footer.byteLength);
      return Buffer.from(arena.buffer, arena.byteOffset, total);
    }
    return Buffer.concat([...this.chunks, footer, trailer]);
  }
}

function footerJson(kind: string, table: BlockTable, extra: Record<string, unknown>): string {
  return JSON.stringify({ kind, version: BLOCK_FILE_VERSION, blocks: encodeTable(table), ...extra });
}

const b64 = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function fromB64<T extends Float64Array | Uint32Array>(s: unknown, Ctor: { new (n: number): T; BYTES_PER_ELEMENT: number }, where: string): T {
  if (typeof s !== 'string') throw corruptBlock(where, 'block table field is not a base64 string');
  const bytes = Buffer.from(s, 'base64');
  if (bytes.byteLength % Ctor.BYTES_PER_ELEMENT !== 0) throw corruptBlock(where, 'block table field has a partial element');
  const out = new Ctor(bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
  new Uint8Array(out.buffer).set(bytes); // copy: aligned, and independent of Buffer's pool
  return out;
}

export function encodeTable(t: BlockTable): EncodedBlockTable {
  const e: EncodedBlockTable = { offset: b64(t.offset), length: b64(t.length), crc32: b64(t.crc32) };
  if (t.start) e.start = b64(t.start);
  return e;
}

export function decodeTable(e: unknown, where: string): BlockTable {
  if (typeof e !== 'object' || e === null) throw corruptBlock(where, 'block table is missing');
  const r = e as Record<string, unknown>;
  const t: BlockTable = { offset: fromB64(r.offset, Float64Array, where), length: fromB64(r.length, Uint32Array, where), crc32: fromB64(r.crc32, Uint32Array, where) };
  if (r.start !== undefined) t.start = fromB64(r.start, Uint32Array, where);
  const n = t.offset.length;
  if (t.length.length !== n || t.crc32.length !== n || (t.start && t.start.length !== n)) throw corruptBlock(where, 'block table columns differ in length');
  return t;
}

export function blockRef(t: BlockTable, i: number): BlockRef {
  return { offset: t.offset[i]!, length: t.length[i]!, crc32: t.crc32[i]! };
}

/** Bytes of a block as read, verified against its CRC-32. */
export function checkBlock(bytes: Uint8Array, ref: BlockRef, where: string): Uint8Array {
  if (bytes.byteLength !== ref.length) throw corruptBlock(where, `block at ${ref.offset} has ${bytes.byteLength} bytes, expected ${ref.length}`);
  if (crc32(bytes) >>> 0 !== ref.crc32) throw corruptBlock(where, `block at ${ref.offset} does not match its CRC-32`);
  return bytes;
}

/** Parses a trailer (the last TRAILER_BYTES of a file): where the footer is and how to check it. */
export function readTrailer(trailer: Uint8Array, fileBytes: number, where: string): { footerOffset: number; footerLength: number; footerCrc: number } {
  if (trailer.byteLength !== TRAILER_BYTES) throw corruptBlock(where, 'file is shorter than a block-file trailer');
  const b = Buffer.from(trailer.buffer, trailer.byteOffset, trailer.byteLength);
  if (b.toString('latin1', 10, 16) !== BLOCK_FILE_MAGIC) throw corruptBlock(where, 'not a block file (bad magic)');
  const version = b.readUInt16LE(8);
  if (version < 1 || version > BLOCK_FILE_VERSION) {
    throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `${where}: block file version ${version}; this build reads 1..${BLOCK_FILE_VERSION}`);
  }
  const footerLength = b.readUInt32LE(0);
  const footerOffset = fileBytes - TRAILER_BYTES - footerLength;
  if (footerOffset < 0) throw corruptBlock(where, 'footer length exceeds the file');
  return { footerOffset, footerLength, footerCrc: b.readUInt32LE(4) };
}

/** The footer of a whole block file held in memory (tools, tests, the disk cache's whole-file reads). */
export function openBlockFile(bytes: Uint8Array, where: string): { footer: Record<string, unknown>; blocks: BlockTable } {
  const { footerOffset, footerLength, footerCrc } = readTrailer(bytes.subarray(bytes.byteLength - TRAILER_BYTES), bytes.byteLength, where);
  const footerBytes = bytes.subarray(footerOffset, footerOffset + footerLength);
  if (crc32(footerBytes) >>> 0 !== footerCrc) throw corruptBlock(where, 'footer does not match its CRC-32');
  let footer: Record<string, unknown>;
  try {
    footer = JSON.parse(Buffer.from(footerBytes.buffer, footerBytes.byteOffset, footerBytes.byteLength).toString('utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: footer is not valid JSON`, { cause });
  }
  return { footer, blocks: decodeTable(footer.blocks, where) };
}

/**
 * Checks a whole block file against a block table (from the part head): every block inside the file and matching its
 * CRC-32. Null when good, else what is wrong.
 */
export function verifyBlocks(bytes: Uint8Array, t: BlockTable): string | null {
  for (let i = 0; i < t.offset.length; i++) {
    const end = t.offset[i]! + t.length[i]!;
    if (end > bytes.byteLength) return `block ${i} extends past the end of the file`;
    if (crc32(bytes.subarray(t.offset[i]!, end)) >>> 0 !== t.crc32[i]) return `block ${i} does not match its CRC-32`;
  }
  return null;
}

/** Block i of a whole file in memory, verified. */
export function blockOf(bytes: Uint8Array, t: BlockTable, i: number, where: string): Uint8Array {
  const ref = blockRef(t, i);
  if (ref.offset + ref.length > bytes.byteLength) throw corruptBlock(where, `block ${i} extends past the end of the file`);
  return checkBlock(bytes.subarray(ref.offset, ref.offset + ref.length), ref, where);
}
