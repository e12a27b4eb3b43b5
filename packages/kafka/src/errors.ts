// The one classification of Kafka (kafkajs) failures into catalog codes.
import { SynclineError } from '@syncline/core';

// Errors that mean this consumer no longer owns the partition (a rebalance moved it).
const LOST_OWNERSHIP = new Set([
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'NOT_COORDINATOR',
  'FENCED_INSTANCE_ID',
]);

/**
 * The catalog error for a kafkajs failure, or undefined when it is not one. Only a consumer can lose a
 * partition; to a producer the same errors (NOT_COORDINATOR, …) mean the cluster is moving: retry.
 */
export function classifyKafkaError(
  err: unknown,
  role: 'consumer' | 'producer' = 'consumer',
): SynclineError | undefined {
  const e = err as { name?: unknown; type?: unknown; message?: unknown } | null;
  if (typeof e?.name !== 'string' || !e.name.startsWith('KafkaJS')) return undefined;
  if (role === 'consumer' && typeof e.type === 'string' && LOST_OWNERSHIP.has(e.type)) {
    return new SynclineError('SYNC_PARTITION_LOST', `the partition was assigned elsewhere (${e.type})`, { cause: err });
  }
  // Brokers unreachable, leaders moving, coordinators loading, timeouts: the cluster's state, not the data's.
  return new SynclineError('SYNC_UNAVAILABLE', `Kafka: ${String(e.message)}`, { cause: err });
}
