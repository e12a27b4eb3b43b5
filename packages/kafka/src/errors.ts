// The one classification of Kafka failures (from either client) into catalog codes.
import { SynclineError } from '@syncline/core';

// Errors that mean this consumer no longer owns the partition (a rebalance moved it).
const LOST_OWNERSHIP = new Set([
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'NOT_COORDINATOR',
  'FENCED_INSTANCE_ID',
]);

interface ClientError {
  name?: unknown;
  message?: unknown;
  /** kafkajs: the protocol error's name. */
  type?: unknown;
  /** @platformatic/kafka: PLT_KFK_…, and apiId, the protocol error's name. */
  code?: unknown;
  apiId?: unknown;
  errors?: unknown;
}

/** The protocol error names in a client's error (@platformatic/kafka aggregates them). */
function protocolNames(e: ClientError): string[] {
  const own = [e.type, e.apiId].filter((x): x is string => typeof x === 'string');
  const nested = Array.isArray(e.errors) ? (e.errors as ClientError[]).flatMap(protocolNames) : [];
  return [...own, ...nested];
}

const isClientError = (e: ClientError | null): e is ClientError =>
  (typeof e?.name === 'string' && e.name.startsWith('KafkaJS')) ||
  (typeof e?.code === 'string' && e.code.startsWith('PLT_KFK_'));

/**
 * The catalog error for a Kafka client's failure, or undefined when it is not one. Only a consumer can
 * lose a partition; to a producer the same errors (NOT_COORDINATOR, …) mean the cluster is moving: retry.
 */
export function classifyKafkaError(
  err: unknown,
  role: 'consumer' | 'producer' = 'consumer',
): SynclineError | undefined {
  if (err instanceof SynclineError) return err; // an adapter's own verdict (platformatic.ts: a lost partition)
  const e = err as ClientError | null;
  if (!isClientError(e)) return undefined;
  const lost = protocolNames(e).find((n) => LOST_OWNERSHIP.has(n));
  if (role === 'consumer' && lost) {
    return new SynclineError('SYNC_PARTITION_LOST', `the partition was assigned elsewhere (${lost})`, { cause: err });
  }
  // Brokers unreachable, leaders moving, coordinators loading, timeouts: the cluster's state, not the data's.
  return new SynclineError('SYNC_UNAVAILABLE', `Kafka: ${String(e.message)}`, { cause: err });
}
