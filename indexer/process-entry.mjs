// Child-process entry of the embedded indexer (indexer/embedded.ts; docs/ARCHITECTURE.md, indexer/; worker.ts lowers
// every thread of the process once its modules are loaded, before any work). It follows its parent: it exits
// when the IPC channel closes (the server exited, even by SIGKILL) and ignores SIGINT/SIGTERM sent to the whole
// process group (a Ctrl-C at a terminal, systemd's stop): the server stops it through the `stop` message. The engine is
// TypeScript run through tsx, registered here as in worker-entry.mjs; argv[2] is the module to run (indexer/worker.ts).
import { register } from 'tsx/esm/api';

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

register();
try {
  await import(process.argv[2]);
} catch (e) {
  fail(e);
}
