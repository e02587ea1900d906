/**
 * The benchmarks start the server as `npm start` does (README's first command): bench/lib.ts reads the node flags and
 * the environment defaults from package.json's `start` script, so a change there changes every benchmark's server.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { npmStartOf, SERVER_ENV, SERVER_NODE_ARGS, serverNodeArgs, serverStart } from '../bench/lib.js';

const start = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start;

describe('benchmarks start the server as npm start does', () => {
  it("should read every flag and environment default of package.json's start script", () => {
    const parsed = npmStartOf(start);
    const env = Object.entries(parsed.env).map(([k, v]) => `${k}=\${${k}:-${v}}`);
    expect([...env, 'node', ...parsed.nodeArgs, 'bin/elax.mjs serve'].join(' ')).toBe(start);
    expect(SERVER_NODE_ARGS).toEqual(parsed.nodeArgs);
    if (process.env.ELAX_BENCH_SERVER_ENV !== 'none') expect(SERVER_ENV).toEqual(parsed.env);
    expect(serverStart()).toContain(SERVER_NODE_ARGS.join(' '));
  });

  it('should parse flags and defaults, and refuse a script that does not start the server', () => {
    expect(npmStartOf('A_B=${A_B:-1} C=${C:-x y} node --x=1 --y bin/elax.mjs serve')).toEqual({ nodeArgs: ['--x=1', '--y'], env: { A_B: '1', C: 'x y' } });
    expect(npmStartOf('node bin/elax.mjs serve --port 1')).toEqual({ nodeArgs: [], env: {} });
    expect(() => npmStartOf('tsx server/main.ts')).toThrow(/does not run/);
  });

  it("should keep each of npm start's flags that the bench does not give itself", () => {
    const base = ['--max-semi-space-size=64', '--stack-size=2000'];
    expect(serverNodeArgs([], base)).toEqual(base);
    expect(serverNodeArgs(['--max-semi-space-size=16', '--cpu-prof'], base)).toEqual(['--stack-size=2000', '--max-semi-space-size=16', '--cpu-prof']);
  });
});
