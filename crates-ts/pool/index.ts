/**
 * pool: runs CPU-heavy tasks (WAL encoding and decoding) on worker threads so one heavy request does not stall every
 * other request of the node (issue 17, RFC-0010). Owns no keys. It knows the tasks by kind (tasks.ts) and runs them
 * on a fixed-size piscina pool or inline (size 0); it does not decide what to offload (write/, namespace/ do).
 */
export { createPool, defaultPoolThreads } from './pool.js';
export type { TaskPool, PoolOptions, PoolStats, KindStats, RunOptions } from './pool.js';
export { TASK_KINDS } from './tasks.js';
export type { TaskKind, TaskInput, TaskOutput } from './tasks.js';
