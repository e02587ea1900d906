/**
 * wal: the write-ahead log of a namespace in object storage — one immutable Parquet object per committed batch,
 * appended with put-if-absent. Owns the keys `{ns}/wal/*`. It encodes, decodes, lists and appends entries; it
 * does not decide what goes into an entry (write/) nor fold entries into state (namespace/).
 */
export { encodeWalEntry, encodeWalColumns, walColumns, decodeWalEntry, entryVoidIn, WAL_FORMAT_VERSION, WAL_SHARDING_FORMAT, WAL_PLAN_FORMAT, WAL_BINARY_VECTORS_FORMAT, walVectorsBinary } from './format.js';
export type { WalColumns, WalEntry, WalMeta, WalOp } from './format.js';
export { WalLog } from './log.js';
export type { WalObject, AppendOutcome } from './log.js';
