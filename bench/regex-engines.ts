/**
 * Regex engines for Regex / Glob filters, per match, in process: JavaScript RegExp (backtracking; only where it
 * terminates), re2js (pure-JS RE2, what elax uses), elax's compileRegex (re2js plus the literal / prefix /
 * suffix fast paths and the Rust-syntax translation), and the native `re2` binding when given.
 *
 *   node bin/run-ts.mjs bench/regex-engines.ts [--re2 /tmp/re2bench/node_modules/re2] [--ms 300]
 *
 * The native binding is not a dependency of elax (it builds C++ from source on install): install it in a scratch
 * folder (`cd /tmp/re2bench && npm install re2@1.24.0`) and pass its directory; without --re2 its column is "-".
 *
 * Typical: 1,000 seeded values of 10–200 characters (words, ids, emails, paths). Adversarial: one value each, the
 * patterns that freeze a backtracking engine (`^(a+)+$` on 31 characters, `^(.*x){12}y` and a dozen-`*` glob on
 * 5,000), also with the literal they require present (a value without it is rejected by a substring pre-check).
 * Every engine's answers are checked to agree before timing.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { RE2JS } from 're2js';
import { compileRegex } from '../crates-ts/filter/index.js';
import { machine, rng } from './lib.js';

const { values: args } = parseArgs({ options: { re2: { type: 'string' }, ms: { type: 'string', default: '300' } } });
const BUDGET_MS = Number(args.ms);

type Matcher = (s: string) => boolean;
interface NativeRe2Ctor {
  new (source: string, flags?: string): { test(s: string): boolean };
}
let NativeRE2: NativeRe2Ctor | null = null;
if (args.re2) {
  try {
    NativeRE2 = createRequire(import.meta.url)(args.re2) as NativeRe2Ctor;
  } catch (e) {
    console.error(`re2 not loadable from ${args.re2} (${(e as Error).message}); skipping its column`);
  }
} else {
  console.error('no --re2 given: the native re2 column is skipped');
}

// ---- data
const rand = rng(7);
const WORDS = ['error', 'warning', 'user', 'hello', 'world', 'foo', 'bar', 'baz', 'qux', 'status', 'alpha', 'beta', 'Hello', 'WORLD'];
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
function typicalValue(): string {
  const target = 10 + Math.floor(rand() * 191);
  let s = '';
  while (s.length < target) {
    const r = rand();
    if (r < 0.5) s += `${pick(WORDS)} `;
    else if (r < 0.7) s += `${Math.floor(rand() * 1000)}-${Math.floor(rand() * 10000)} `;
    else if (r < 0.85) s += `${pick(WORDS)}@${pick(WORDS)}.com `;
    else s += `/${pick(WORDS)}/${pick(WORDS)}_${Math.floor(rand() * 100)} `;
  }
  return s.slice(0, target);
}
const TYPICAL = Array.from({ length: 1000 }, typicalValue);
for (let i = 0; i < TYPICAL.length; i += 10) TYPICAL[i] = `user_${TYPICAL[i]}`; // prefix hits

interface Case {
  name: string;
  /** Source valid for all engines (JS RegExp with the u flag, RE2). */
  source: string;
  ci?: boolean;
  dotall?: boolean;
  values: string[];
  /** JavaScript RegExp runs for hours: not measured. */
  jsHangs?: boolean;
}

const GLOB12 = `^${'.*a'.repeat(12)}.*b$`; // what the old glob.ts built for *a*a…*a*b
const CASES: Case[] = [
  { name: 'literal `error`', source: 'error', values: TYPICAL },
  { name: 'prefix `^user_`', source: '^user_', values: TYPICAL },
  { name: 'class `[0-9]{3}-[0-9]{4}`', source: '[0-9]{3}-[0-9]{4}', values: TYPICAL },
  { name: 'alternation `(foo|bar|baz)@`', source: '(foo|bar|baz)@', values: TYPICAL },
  { name: 'case-insensitive `hello world`', source: 'hello world', ci: true, values: TYPICAL },
  { name: 'word class `\\w+@\\w+\\.com$`', source: '\\w+@\\w+\\.com$', values: TYPICAL },
  { name: '`^(a+)+$`, 31 chars', source: '^(a+)+$', values: [`${'a'.repeat(30)}b`], jsHangs: true },
  { name: '`^(.*x){12}y`, 5,000 chars', source: '^(.*x){12}y', values: ['x'.repeat(5000)], jsHangs: true },
  { name: 'glob `*a` ×12 `*b`, 5,000 chars', source: GLOB12, dotall: true, values: ['a'.repeat(5000)], jsHangs: true },
  // The same with the required literal present, so no engine can reject the value by a substring pre-check.
  { name: '`^(.*x){12}y`, 5,000 chars, `y` first', source: '^(.*x){12}y', values: [`y${'x'.repeat(5000)}`], jsHangs: true },
  { name: 'glob `*a` ×12 `*b`, 5,000 chars, `b` inside', source: GLOB12, dotall: true, values: [`${'a'.repeat(5000)}bc`], jsHangs: true },
];

// ---- engines
function jsMatcher(c: Case): Matcher {
  const re = new RegExp(c.source, `u${c.ci ? 'i' : ''}${c.dotall ? 's' : ''}`);
  return (s) => re.test(s);
}
function re2jsMatcher(c: Case): Matcher {
  const re = RE2JS.compile(c.source, (c.ci ? RE2JS.CASE_INSENSITIVE : 0) | (c.dotall ? RE2JS.DOTALL : 0));
  return (s) => re.test(s);
}
function elaxMatcher(c: Case): Matcher {
  const m = compileRegex(`${c.ci || c.dotall ? `(?${c.ci ? 'i' : ''}${c.dotall ? 's' : ''})` : ''}${c.source}`);
  if (typeof m !== 'function') throw new Error(m.error);
  return m;
}
function nativeMatcher(c: Case): Matcher | null {
  if (!NativeRE2) return null;
  const re = new NativeRE2(c.source, `u${c.ci ? 'i' : ''}${c.dotall ? 's' : ''}`);
  return (s) => re.test(s);
}

/** ns per match: repeat over the values until the budget is spent. */
function time(m: Matcher, values: string[]): number {
  let sink = 0;
  for (let i = 0; i < Math.min(values.length, 200); i++) if (m(values[i]!)) sink++; // warm-up
  let n = 0;
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(BUDGET_MS) * 1_000_000n;
  let now = t0;
  while (now < deadline) {
    for (const v of values) if (m(v)) sink++;
    n += values.length;
    now = process.hrtime.bigint();
  }
  if (sink < 0) console.log(sink);
  return Number(now - t0) / n;
}

const fmt = (ns: number | null): string => (ns === null ? '-' : ns >= 10_000 ? `${(ns / 1000).toFixed(0)} µs` : `${ns.toFixed(0)} ns`);

console.log(`# regex engines — ${machine()}, ${new Date().toISOString().slice(0, 10)}`);
console.log('| pattern (values) | JS RegExp | re2js | elax compileRegex | native re2 |');
console.log('|---|---|---|---|---|');
for (const c of CASES) {
  const engines: Array<[string, Matcher | null]> = [
    ['js', c.jsHangs ? null : jsMatcher(c)],
    ['re2js', re2jsMatcher(c)],
    ['elax', elaxMatcher(c)],
    ['re2', nativeMatcher(c)],
  ];
  // Same answers everywhere (the JS column only where it terminates).
  const ref = engines[1]![1]!;
  for (const [name, m] of engines) {
    if (!m) continue;
    for (const v of c.values) if (m(v) !== ref(v)) throw new Error(`${name} disagrees with re2js on ${c.name} for ${JSON.stringify(v.slice(0, 40))}`);
  }
  const hits = c.values.filter(ref).length;
  const cells = engines.map(([name, m]) => (m ? fmt(time(m, c.values)) : name === 'js' && c.jsHangs ? 'hangs' : '-'));
  console.log(`| ${c.name.replace(/\|/g, '\\|')} (${c.values.length === 1 ? '1 value' : `${c.values.length} values, ${hits} match`}) | ${cells.join(' | ')} |`);
}
