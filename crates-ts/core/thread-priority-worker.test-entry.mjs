// Worker for thread-priority.test.ts: lowers its own thread through niceThisThread and reports its thread id and nice.
import { register } from 'tsx/esm/api';
import { parentPort, workerData } from 'node:worker_threads';
import { readlinkSync } from 'node:fs';

register();
const { niceThisThread } = await import('./thread-priority.ts');
const nice = niceThisThread(workerData.nice);
parentPort.postMessage({ tid: Number(readlinkSync('/proc/thread-self').split('/').pop()), nice });
