/**
 * The tasks the pool runs, by kind: plain functions of structured-clonable input, the same code on a worker thread
 * and inline (pool size 0, or a worker that died). A task reports a user or data error by throwing an ElaxError;
 * worker.ts carries its code and message back so the caller sees the error the inline path would throw.
 */
import { encodeWalEntry, decodeWalEntry, type WalEntry, type WalMeta, type WalOp } from '../wal/index.js';

export interface TaskTypes {
  /** WAL batch encoding (Arrow + zstd Parquet in WebAssembly): ≈40 % of a write's CPU. */
  'wal-encode': { input: { meta: WalMeta; ops: readonly WalOp[] }; output: Uint8Array };
  /** WAL entry decoding (Parquet → ops) when a view loads its tail. */
  'wal-decode': { input: { seq: number; bytes: Uint8Array }; output: WalEntry };
}
export type TaskKind = keyof TaskTypes;
export type TaskInput<K extends TaskKind> = TaskTypes[K]['input'];
export type TaskOutput<K extends TaskKind> = TaskTypes[K]['output'];

export const TASKS: { [K in TaskKind]: (input: TaskInput<K>) => TaskOutput<K> } = {
  'wal-encode': ({ meta, ops }) => encodeWalEntry(meta, ops),
  'wal-decode': ({ seq, bytes }) => decodeWalEntry(seq, bytes),
};

export const TASK_KINDS = Object.keys(TASKS) as TaskKind[];
