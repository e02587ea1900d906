/**
 * Whether a write may carry `sharding` (RFC-0013; turbopuffer: "Sharding can only be configured on a namespace's
 * inaugural write, and cannot be added to or changed on an existing namespace"). The inaugural write is the one whose
 * WAL entry is the first of the namespace's incarnation (after a deletion the next write is inaugural again). The
 * same value as the namespace's is accepted, so a first write retried after a lost acknowledgement succeeds.
 */
import { ElaxError, type ShardingConfig } from '../core/index.js';

/**
 * The namespace's sharding after a request that asks for `requested`, given the sharding so far (`current`, null =
 * unsharded) and whether the namespace has no committed entry yet (`inaugural`). Throws 400 when not allowed.
 */
export function checkSharding(ns: string, requested: ShardingConfig | undefined, current: ShardingConfig | null, inaugural: boolean): ShardingConfig | null {
  if (requested === undefined) return current;
  if (current !== null) {
    if (current.num_shards === requested.num_shards) return current;
    throw new ElaxError(
      'ELAX_ERR_INVALID_REQUEST',
      `sharding {num_shards: ${requested.num_shards}} differs from namespace '${ns}''s sharding {num_shards: ${current.num_shards}}: sharding cannot be changed on an existing namespace`,
    );
  }
  if (!inaugural) {
    throw new ElaxError(
      'ELAX_ERR_INVALID_REQUEST',
      `sharding can only be configured on a namespace's inaugural write: namespace '${ns}' already exists and is not sharded`,
    );
  }
  return requested;
}
