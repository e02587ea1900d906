/**
 * The per-row error report: one JSON object per line `{file, line?, row, id?, error, code?}` (line for text
 * inputs, row = 0-based row index, the only position Parquet has). Each chunk's errors are appended and on disk
 * before the chunk is recorded as settled in the checkpoint, so a crash never loses them; a resumed run appends,
 * skipping rows the file already reports (a chunk whose errors were written just before a crash, but whose
 * checkpoint update was lost, is settled again), so it does not repeat them either. Without a file, the first few
 * are kept for the end-of-run message.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import type { RowError } from './types.js';

export class ErrorReport {
  count = 0;
  readonly sample: RowError[] = [];
  private chain: Promise<void>;
  /** `file:row` of rows an earlier run already reported (append mode). */
  private readonly reported = new Set<string>();

  constructor(
    readonly file: string | undefined,
    append: boolean,
    private readonly sampleSize = 10,
  ) {
    this.chain = !file ? Promise.resolve() : append ? this.loadReported(file) : writeFile(file, '');
  }

  private async loadReported(file: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as RowError;
        this.reported.add(`${e.file}:${e.row}`);
      } catch {
        /* a line torn by a crash: the row is reported again */
      }
    }
    // A torn last line would glue onto the next record: end the file with a newline.
    if (text.length > 0 && !text.endsWith('\n')) await appendFile(file, '\n');
  }

  /** Resolves when the errors are written. */
  add(errors: readonly RowError[]): Promise<void> {
    if (errors.length === 0) return this.chain;
    this.count += errors.length;
    for (const e of errors) if (this.sample.length < this.sampleSize) this.sample.push(e);
    if (!this.file) return this.chain;
    const fresh = () => errors.filter((e) => !this.reported.has(`${e.file}:${e.row}`));
    const text = () => fresh().map((e) => JSON.stringify(e)).join('\n');
    const file = this.file;
    this.chain = this.chain.then(async () => {
      const t = text();
      if (t) await appendFile(file, t + '\n');
    });
    return this.chain;
  }

  done(): Promise<void> {
    return this.chain;
  }
}

export function formatRowError(e: RowError): string {
  const where = e.line !== undefined ? `line ${e.line}` : `row ${e.row}`;
  const id = e.id !== undefined ? ` (id ${JSON.stringify(e.id)})` : '';
  return `${e.file} ${where}${id}: ${e.error}`;
}
