/**
 * The portable roaring serialization (RoaringFormatSpec, as CRoaring / roaring-java / the `roaring` npm package write
 * with `serialize(true)`), read and written without a native dependency:
 *
 *   cookie: u32 12346 then u32 container count (no run containers), or u16 12347 and u16 count-1, then a bitset of
 *           which containers are runs (ceil(count / 8) bytes);
 *   per container: u16 key (high 16 bits), u16 cardinality-1;
 *   offsets: u32 per container (always without runs; with runs only when count >= 4);
 *   containers: array (cardinality <= 4096: u16 values ascending), bitmap (1024 u64 words), run (u16 count, then
 *           (start, length-1) u16 pairs).
 *
 * All little-endian. Containers are chosen as CRoaring's runOptimize would: the smallest of run, array, bitmap.
 */

const SERIAL_COOKIE_NO_RUN = 12346;
const SERIAL_COOKIE = 12347;
const NO_OFFSET_THRESHOLD = 4;
const ARRAY_MAX = 4096;

export class RoaringFormatError extends Error {}

type Container = { key: number; kind: 'array' | 'bitmap' | 'run'; card: number; bytes: Uint8Array };

/** Serializes ascending, distinct ordinals (u32) in the portable format. */
export function serializeSorted(ords: ArrayLike<number>): Uint8Array {
  const containers: Container[] = [];
  let i = 0;
  const n = ords.length;
  while (i < n) {
    const key = ords[i]! >>> 16;
    let j = i;
    while (j < n && ords[j]! >>> 16 === key) j++;
    containers.push(encodeContainer(key, ords, i, j));
    i = j;
  }
  const hasRun = containers.some((c) => c.kind === 'run');
  const size = containers.length;
  let header = hasRun ? 4 + ((size + 7) >> 3) : 8;
  header += 4 * size;
  const withOffsets = !hasRun || size >= NO_OFFSET_THRESHOLD;
  if (withOffsets) header += 4 * size;
  const total = header + containers.reduce((s, c) => s + c.bytes.byteLength, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let at = 0;
  if (hasRun) {
    dv.setUint16(0, SERIAL_COOKIE, true);
    dv.setUint16(2, size - 1, true);
    at = 4;
    containers.forEach((c, k) => {
      if (c.kind === 'run') out[at + (k >> 3)]! |= 1 << (k & 7);
    });
    at += (size + 7) >> 3;
  } else {
    dv.setUint32(0, SERIAL_COOKIE_NO_RUN, true);
    dv.setUint32(4, size, true);
    at = 8;
  }
  for (const c of containers) {
    dv.setUint16(at, c.key, true);
    dv.setUint16(at + 2, c.card - 1, true);
    at += 4;
  }
  let offset = header;
  if (withOffsets) {
    for (const c of containers) {
      dv.setUint32(at, offset, true);
      at += 4;
      offset += c.bytes.byteLength;
    }
  }
  for (const c of containers) {
    out.set(c.bytes, at);
    at += c.bytes.byteLength;
  }
  return out;
}

function encodeContainer(key: number, ords: ArrayLike<number>, from: number, to: number): Container {
  const card = to - from;
  let runs = 1;
  for (let i = from + 1; i < to; i++) if (ords[i]! !== ords[i - 1]! + 1) runs++;
  const runBytes = 2 + 4 * runs;
  const arrayBytes = card <= ARRAY_MAX ? 2 * card : Infinity;
  const bitmapBytes = 8192;
  if (runBytes < Math.min(arrayBytes, bitmapBytes)) {
    const b = new Uint8Array(runBytes);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, runs, true);
    let r = 0;
    let start = ords[from]! & 0xffff;
    let prev = start;
    for (let i = from + 1; i <= to; i++) {
      const v = i < to ? ords[i]! & 0xffff : -2;
      if (v !== prev + 1) {
        dv.setUint16(2 + 4 * r, start, true);
        dv.setUint16(4 + 4 * r, prev - start, true);
        r++;
        start = v;
      }
      prev = v;
    }
    return { key, kind: 'run', card, bytes: b };
  }
  if (card <= ARRAY_MAX) {
    const b = new Uint8Array(2 * card);
    const dv = new DataView(b.buffer);
    for (let i = from; i < to; i++) dv.setUint16(2 * (i - from), ords[i]! & 0xffff, true);
    return { key, kind: 'array', card, bytes: b };
  }
  const words = new Uint32Array(2048);
  for (let i = from; i < to; i++) {
    const v = ords[i]! & 0xffff;
    words[v >>> 5]! |= 1 << (v & 31);
  }
  return { key, kind: 'bitmap', card, bytes: new Uint8Array(words.buffer) };
}

/**
 * Decodes a portable roaring bitmap into its ascending ordinals. Throws RoaringFormatError on anything malformed
 * (truncated, unknown cookie, keys out of order, cardinalities that disagree with the container).
 */
export function deserializeSorted(bytes: Uint8Array): Uint32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number) => {
    if (end > bytes.byteLength) throw new RoaringFormatError(`truncated: needs ${end} bytes, has ${bytes.byteLength}`);
  };
  need(4);
  const cookie = dv.getUint32(0, true);
  let size: number;
  let at: number;
  let runFlags: Uint8Array | null = null;
  if (cookie === SERIAL_COOKIE_NO_RUN) {
    need(8);
    size = dv.getUint32(4, true);
    at = 8;
  } else if ((cookie & 0xffff) === SERIAL_COOKIE) {
    size = (cookie >>> 16) + 1;
    at = 4;
    need(at + ((size + 7) >> 3));
    runFlags = bytes.subarray(at, at + ((size + 7) >> 3));
    at += (size + 7) >> 3;
  } else throw new RoaringFormatError(`unknown cookie ${cookie & 0xffff}`);
  if (size > 65536) throw new RoaringFormatError(`${size} containers`);
  need(at + 4 * size);
  const keys = new Uint32Array(size);
  const cards = new Uint32Array(size);
  let total = 0;
  for (let k = 0; k < size; k++) {
    keys[k] = dv.getUint16(at, true);
    cards[k] = dv.getUint16(at + 2, true) + 1;
    if (k > 0 && keys[k]! <= keys[k - 1]!) throw new RoaringFormatError('container keys are not ascending');
    total += cards[k]!;
    at += 4;
  }
  if (runFlags === null || size >= NO_OFFSET_THRESHOLD) at += 4 * size; // offsets: containers follow in order anyway
  const out = new Uint32Array(total);
  let w = 0;
  for (let k = 0; k < size; k++) {
    const high = keys[k]! << 16;
    const card = cards[k]!;
    const isRun = runFlags !== null && (runFlags[k >> 3]! & (1 << (k & 7))) !== 0;
    const start = w;
    if (isRun) {
      need(at + 2);
      const runs = dv.getUint16(at, true);
      need(at + 2 + 4 * runs);
      let prevEnd = -1;
      for (let r = 0; r < runs; r++) {
        const s = dv.getUint16(at + 2 + 4 * r, true);
        const len = dv.getUint16(at + 4 + 4 * r, true);
        if (s <= prevEnd || s + len > 0xffff) throw new RoaringFormatError('run container runs overlap or overflow');
        if (w + len + 1 > total) throw new RoaringFormatError('run container holds more values than its cardinality');
        for (let v = s; v <= s + len; v++) out[w++] = (high | v) >>> 0;
        prevEnd = s + len;
      }
      at += 2 + 4 * runs;
    } else if (card <= ARRAY_MAX) {
      need(at + 2 * card);
      let prev = -1;
      for (let i = 0; i < card; i++) {
        const v = dv.getUint16(at + 2 * i, true);
        if (v <= prev) throw new RoaringFormatError('array container values are not ascending');
        out[w++] = (high | v) >>> 0;
        prev = v;
      }
      at += 2 * card;
    } else {
      need(at + 8192);
      for (let word = 0; word < 2048; word++) {
        let x = dv.getUint32(at + 4 * word, true);
        while (x !== 0) {
          const t = x & -x;
          if (w >= total) throw new RoaringFormatError('bitmap container holds more values than its cardinality');
          out[w++] = (high | ((word << 5) + (31 - Math.clz32(t)))) >>> 0;
          x ^= t;
        }
      }
      at += 8192;
    }
    if (w - start !== card) throw new RoaringFormatError(`container ${k} holds ${w - start} values; its header says ${card}`);
  }
  return out;
}
