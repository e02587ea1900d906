// A stand-in for `elax serve` in embedded.test.ts: starts the embedded indexer (nice 5) over the store in argv[2], prints the
// child's pid and waits (the test kills it with SIGKILL).
import { startEmbeddedIndexer } from './embedded.js';

const ix = startEmbeddedIndexer(process.argv[2]!, { nice: 5, buildThreads: 0 }, () => {});
process.stdout.write(`${ix.pid}\n`);
setInterval(() => {}, 1_000);
