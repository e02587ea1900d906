/**
 * Byte sizes on the command line and in the environment: plain bytes (`1073741824`) or a number with a unit,
 * decimal (`kB`, `MB`, `GB`, `TB`: powers of 1000) or binary (`KiB`, `MiB`, `GiB`, `TiB`: powers of 1024), case
 * and a space before the unit ignored. A bare `K`/`M`/`G` is refused: it means 1000 to some tools and 1024 to others.
 */
import { invalid } from '../crates-ts/core/index.js';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** The size in whole bytes (fractions round down). `what` names the flag or variable in the error. */
export function parseByteSize(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? (m[2] ?? '').toLowerCase() : '';
  const scale = unit === '' ? 1 : UNITS[unit];
  if (!m || scale === undefined || (unit === '' && m[1]!.includes('.'))) {
    throw invalid(`${what}: '${text}' is not a size; give bytes or a number with a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 8GiB or 512MB`);
  }
  const bytes = Math.floor(Number(m[1]) * scale);
  if (!Number.isSafeInteger(bytes)) throw invalid(`${what}: '${text}' is too large`);
  return bytes;
}

/** Bytes as the largest binary unit that keeps at least one whole unit (for messages): 8 GiB, 1.5 MiB, 512 B. */
export function formatByteSize(bytes: number): string {
  for (const [unit, scale] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= scale) return `${Number((bytes / scale).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}
