/** docs/errors.md and crates-ts/core/errors.ts must list the same codes with the same HTTP statuses. */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { ERRORS } from '../crates-ts/core/index.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map<string, number>();
for (const line of doc.split('\n')) {
  const m = /^\| (ELAX_ERR_[A-Z_]+) \| (\d{3}) \|/.exec(line);
  if (m) documented.set(m[1]!, Number(m[2]));
}

describe('error catalogue documentation', () => {
  it('should document every code in errors.ts with its HTTP status', () => {
    for (const [code, e] of Object.entries(ERRORS)) expect([code, documented.get(code)]).toEqual([code, e.status]);
  });
  it('should document no code that errors.ts does not define', () => {
    for (const code of documented.keys()) expect(Object.keys(ERRORS)).toContain(code);
  });
});
