/**
 * The codebook object's bytes (RFC-0008 §1): an RFC-0004 block file, so it has the same footer, trailer and CRC-32
 * per block as every part file.
 *
 *   block 0   centroids, f32 little-endian, k × dims
 *   block 1   radii, f32, k
 *   block 2   retired flags, u8 (0 | 1), k
 *   block 3   rotation signs, i8 (−1 | +1), rounds × padded (FhtRotation's whole state)
 *   footer    {"kind":"codebook", "codebook_version", "metric", "dims", "k", "rotation":{"kind":"fht","rounds","padded"}}
 *
 * Decoding is strict: every block checked by its CRC-32 and exact length, every footer field by type and against
 * the others; anything else is ELAX_ERR_CORRUPT naming the object.
 */
import { ElaxError, type DistanceMetric } from '../core/index.js';
import { codebookProblem, paddedDims, type Codebook } from '../ivf/index.js';
import { BlockFileWriter, blockOf, openBlockFile } from '../part/index.js';

export const CODEBOOK_KIND = 'codebook';
const BLOCKS = 4;

const bytesOf = (a: Float32Array | Uint8Array | Int8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function encodeCodebook(cb: Codebook): Uint8Array {
  const problem = codebookProblem(cb);
  if (problem) throw new ElaxError('ELAX_ERR_INTERNAL', `codebook version ${cb.version}: ${problem}`);
  const w = new BlockFileWriter();
  w.add(bytesOf(cb.centroids.slice(0, cb.k * cb.dims)));
  w.add(bytesOf(cb.radii.slice(0, cb.k)));
  w.add(bytesOf(cb.retired.slice(0, cb.k)));
  w.add(bytesOf(cb.rotationSigns));
  const padded = paddedDims(cb.dims);
  return w.finish(CODEBOOK_KIND, {
    codebook_version: cb.version,
    metric: cb.metric,
    dims: cb.dims,
    k: cb.k,
    rotation: { kind: 'fht', rounds: cb.rotationSigns.length / padded, padded },
  });
}

const isPos = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Decodes and checks a codebook object; `where` names it in errors (its key). */
export function decodeCodebook(bytes: Uint8Array, where: string): Codebook {
  const corrupt = (what: string) => new ElaxError('ELAX_ERR_CORRUPT', `codebook ${where}: ${what}`);
  const { footer, blocks } = openBlockFile(bytes, `codebook ${where}`);
  if (footer.kind !== CODEBOOK_KIND) throw corrupt(`footer kind is ${JSON.stringify(footer.kind)}, not "${CODEBOOK_KIND}"`);
  const { codebook_version: version, metric, dims, k } = footer;
  const rotation = footer.rotation as Record<string, unknown> | undefined;
  if (!isPos(version) || !isPos(dims) || !isPos(k)) throw corrupt('codebook_version, dims or k is not a positive integer');
  if (metric !== 'cosine_distance' && metric !== 'euclidean_squared') throw corrupt(`unknown metric ${JSON.stringify(metric)}`);
  const padded = paddedDims(dims);
  if (typeof rotation !== 'object' || rotation === null || rotation.kind !== 'fht' || !isPos(rotation.rounds) || rotation.padded !== padded) {
    throw corrupt(`rotation ${JSON.stringify(rotation)} is not an fht rotation over ${padded} dimensions`);
  }
  if (blocks.offset.length !== BLOCKS) throw corrupt(`${blocks.offset.length} blocks, expected ${BLOCKS}`);
  const block = (i: number, expected: number, what: string): Uint8Array => {
    const b = blockOf(bytes, blocks, i, `codebook ${where}`);
    if (b.byteLength !== expected) throw corrupt(`${what} block has ${b.byteLength} bytes, expected ${expected}`);
    // A copy (not Buffer#slice, which is a view): aligned for the typed arrays, and independent of the object's buffer.
    return new Uint8Array(b);
  };
  const rounds = rotation.rounds as number;
  const cb: Codebook = {
    version,
    metric: metric as DistanceMetric,
    dims,
    k,
    centroids: new Float32Array(block(0, k * dims * 4, 'centroids').buffer),
    radii: new Float32Array(block(1, k * 4, 'radii').buffer),
    retired: block(2, k, 'retired'),
    rotationSigns: new Int8Array(block(3, rounds * padded, 'rotation').buffer),
  };
  const problem = codebookProblem(cb);
  if (problem) throw corrupt(problem);
  return cb;
}
