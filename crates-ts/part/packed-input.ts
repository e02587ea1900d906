/**
 * A part build's input in a form that crosses to a build thread cheaply (pool task `part-build`, RFC-0013 "Parallel
 * shard builds"). Structured clone of the rows as a Map of documents costs ≈ 0.5 s per 50,000 rows of 128-d on the
 * sending thread (an object and an ArrayBuffer per row); packed, the rows are a few arrays of primitives per attribute
 * and one vector buffer in shared memory (not copied; not transferred either, so the input stays whole for a task the
 * pool fails and reruns inline). `unpackBuildInput(packBuildInput(x))` gives back the same input: the same entries in
 * the same order, the same attribute keys in the same order, every value the same (-0 included; clone keeps it).
 */
import { ElaxError, type AttrValue, type Doc, type Id } from '../core/index.js';
import type { PartBuildInput } from './build.js';

export interface PackedRows {
  ids: Id[];
  /** Per entry: -1 a delete, -2 a document without a vector, else its vector's length (floats in `vectors`). */
  vectorLen: Int32Array;
  /** Every vector, in entry order, in one shared buffer. */
  vectors: Float32Array;
  /** Distinct attribute key sequences; each entry (but deletes) has one, by index in `shapeOf`. */
  shapes: string[][];
  shapeOf: Uint32Array;
  /** Per attribute name, its value for every entry (undefined where the entry's shape has no such key). */
  columns: Record<string, (AttrValue | undefined)[]>;
  /** WAL seq per entry (-1: not in `seqs`). */
  seqs: Float64Array | null;
}

export type PackedBuildInput = Omit<PartBuildInput, 'changes' | 'seqs' | 'idempotencyKeys'> & { rows: PackedRows; idempotencyKeys: string[] };

/**
 * The input packed; `rows` (packRows of this input's changes and seqs) when the caller packed them already (the
 * indexer sends one shard's rows twice with IVF: to the nearest-centroid search, then to the build).
 */
export function packBuildInput(input: PartBuildInput, rows: PackedRows = packRows(input)): PackedBuildInput {
  const { changes: _changes, seqs: _seqs, idempotencyKeys, ...rest } = input;
  return { ...rest, rows, idempotencyKeys: [...(idempotencyKeys ?? [])] };
}

/** An input's rows (changes and seqs), packed. */
export function packRows(input: Pick<PartBuildInput, 'changes' | 'seqs' | 'partId'>): PackedRows {
  const { changes, seqs } = input;
  const n = changes.size;
  const ids: Id[] = new Array(n);
  const vectorLen = new Int32Array(n);
  const shapeOf = new Uint32Array(n);
  const shapes: string[][] = [];
  const shapeIds = new Map<string, number>();
  const columns: Record<string, (AttrValue | undefined)[]> = Object.create(null);
  const seqArr = seqs ? new Float64Array(n) : null;
  let floats = 0;
  let i = 0;
  for (const [id, d] of changes) {
    ids[i] = id;
    if (d === null) vectorLen[i] = -1;
    else {
      // As foldedRows checks it: the unpacked document takes its id from the key.
      if (d.id !== id) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: change for ${JSON.stringify(id)} holds doc ${JSON.stringify(d.id)}`);
      vectorLen[i] = d.vector === null ? -2 : d.vector.length;
      if (d.vector !== null) floats += d.vector.length;
      const keys = Object.keys(d.attrs);
      const sig = keys.join('\u0000');
      let s = shapeIds.get(sig);
      if (s === undefined) {
        shapeIds.set(sig, (s = shapes.length));
        shapes.push(keys);
      }
      shapeOf[i] = s;
      for (const k of keys) (columns[k] ??= new Array(n))[i] = d.attrs[k];
    }
    if (seqArr) seqArr[i] = seqs!.get(id) ?? -1;
    i++;
  }
  const vectors = new Float32Array(new SharedArrayBuffer(floats * 4));
  let at = 0;
  for (const d of changes.values()) {
    if (d?.vector) {
      vectors.set(d.vector, at);
      at += d.vector.length;
    }
  }
  return { ids, vectorLen, vectors, shapes, shapeOf, columns: { ...columns }, seqs: seqArr };
}

export function unpackBuildInput(packed: PackedBuildInput): PartBuildInput {
  const { rows, ...rest } = packed;
  const { ids, vectorLen, vectors, shapes, shapeOf, columns, seqs: seqArr } = rows;
  const changes = new Map<Id, Doc | null>();
  const seqs = seqArr ? new Map<Id, number>() : undefined;
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const len = vectorLen[i]!;
    if (len === -1) changes.set(id, null);
    else {
      const attrs: Record<string, AttrValue> = {};
      for (const k of shapes[shapeOf[i]!]!) attrs[k] = columns[k]![i] as AttrValue;
      let vector: Float32Array | null = null;
      if (len >= 0) {
        vector = vectors.subarray(at, at + len);
        at += len;
      }
      changes.set(id, { id, vector, attrs });
    }
    if (seqs && seqArr![i]! >= 0) seqs.set(id, seqArr![i]!);
  }
  return { ...rest, changes, ...(seqs ? { seqs } : {}) };
}
