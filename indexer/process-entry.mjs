// Child-process entry of the embedded indexer (indexer/embedded.ts; docs/ARCHITECTURE.md, indexer/). It lowers every
// thread of the process first thing, before loading tsx and the engine (below). It follows its parent: it exits
// when the IPC channel closes (the server exited, even by SIGKILL) and ignores SIGINT/SIGTERM sent to the whole
// process group (a Ctrl-C at a terminal, systemd's stop): the server stops it through the `stop` message. The engine is
// TypeScript run through tsx, registered here as in worker-entry.mjs, or its bundle; argv[2] is the module to run
// (indexer/worker.ts, or the bundle's indexer-worker.mjs).
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { execFileSync } from 'node:child_process';

// Lower the whole process before loading anything (docs/rfcs/0010-worker-pool.md "The embedded indexer at
// SCHED_IDLE"): the server forks this process right after it starts listening, and loading the engine through tsx
// takes 1-3 s of CPU, which at the server's priority competed with its first requests. Every thread that exists now
// gets the nice value (and, with --indexer-sched idle, SCHED_IDLE); threads started later inherit it. The same as
// core/thread-priority.ts niceThisProcess and idleThisProcess, which worker.ts calls once loaded (and which log
// what could not be done); written out here because that module needs tsx.
const early = (() => {
  try {
    return JSON.parse(process.env.ELAX_EMBEDDED_INDEXER_DATA ?? '').options ?? {};
  } catch {
    return {};
  }
})();
if (Number.isInteger(early.nice) && early.nice > 0 && early.nice <= 19) {
  try {
    for (const tid of readdirSync('/proc/self/task').map(Number)) {
      try {
        setPriority(tid, Math.max(early.nice, getPriority(tid)));
      } catch {
        /* exited meanwhile */
      }
    }
  } catch {
    try {
      setPriority(Math.max(early.nice, getPriority()));
    } catch {
      /* worker.ts reports it */
    }
  }
  if (early.schedIdle === 1) {
    try {
      execFileSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(process.pid)], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      /* no chrt, not Linux: worker.ts reports it */
    }
  }
}

process.on('disconnect', () => process.exit(0));
if (!process.connected) process.exit(0); // the server went while this module loaded (its 'disconnect' came first)
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
// An error nothing caught ends the process like one ends a worker thread: the server logs it and restarts the child.
const fail = (e) => {
  const message = e instanceof Error ? e.message : String(e);
  if (process.connected) process.send({ type: 'error', message }, () => process.exit(1));
  else {
    process.stderr.write(`elax embedded indexer: ${e instanceof Error ? e.stack : message}\n`);
    process.exit(1);
  }
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

// A `stop` that comes before the indexer listens (the server shut down while this process loaded) ends it at once:
// an IPC message without a listener would be lost, and the server would wait for its stop timeout.
process.on('message', (m) => {
  if (m?.type === 'stop' && process.listenerCount('message') === 1) process.exit(0);
});

// Run from the engine's bundle (bin/bundle.mjs; argv[2] is then its indexer-worker.mjs), or from the TypeScript
// sources through tsx, which loads at the lowered priority too (a dynamic import: a static one would be evaluated
// before the above).
if (process.argv[2]?.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
} else process.setSourceMapsEnabled(true);
try {
  await import(process.argv[2]);
} catch (e) {
  fail(e);
}
