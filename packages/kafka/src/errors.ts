// The one classification of Kafka failures (from either client) into catalog codes.
import { SynclineError, UNTRUSTED_CERTIFICATE } from '@syncline/core';

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
  cause?: unknown;
  /** kafkajs: the error a retrying or wrapping error stands for. */
  originalError?: unknown;
}

/** The error and every error it wraps (causes, originals, aggregated errors), depth first. */
function chain(e: unknown, seen = new Set<unknown>()): ClientError[] {
  if (!e || typeof e !== 'object' || seen.has(e)) return [];
  seen.add(e);
  const c = e as ClientError;
  const nested = [c.cause, c.originalError, ...(Array.isArray(c.errors) ? c.errors : [])];
  return [c, ...nested.flatMap((n) => chain(n, seen))];
}

/**
 * A failure that retrying cannot cure because the settings are wrong: the credentials were refused, or
 * the brokers' certificate is not trusted. The message names the settings, never their values.
 */
function misconfigured(err: unknown): SynclineError | undefined {
  const all = chain(err);
  const refused = all.find(
    (e) =>
      e.name === 'KafkaJSSASLAuthenticationError' ||
      e.code === 'PLT_KFK_AUTHENTICATION' ||
      e.apiId === 'SASL_AUTHENTICATION_FAILED' ||
      e.type === 'SASL_AUTHENTICATION_FAILED',
  );
  if (refused) {
    return new SynclineError(
      'SYNC_CONFIG_INVALID',
      'Kafka refused the credentials: check SYNCLINE_KAFKA_SASL_MECHANISM, SYNCLINE_KAFKA_SASL_USERNAME and ' +
        `SYNCLINE_KAFKA_SASL_PASSWORD (or SYNCLINE_KAFKA_SASL_PASSWORD_FILE) (${String(refused.message)})`,
      { cause: err },
    );
  }
  const untrusted = all.find((e) => typeof e.code === 'string' && UNTRUSTED_CERTIFICATE.test(e.code));
  if (untrusted) {
    return new SynclineError(
      'SYNC_CONFIG_INVALID',
      "Kafka's TLS certificate is not trusted: check SYNCLINE_KAFKA_TLS_CA_FILE (the CA that signed the brokers' " +
        `certificates) and SYNCLINE_KAFKA_BROKERS (the names they were issued for) (${String(untrusted.code)}: ${String(untrusted.message)})`,
      { cause: err },
    );
  }
  return undefined;
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

// Errors of a partition that has no leader yet (a topic just created on a cluster) or is between leaders.
const LEADERLESS = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_OR_FOLLOWER',
  // kafkajs's name of the same error (code 6).
  'NOT_LEADER_FOR_PARTITION',
]);

/** Whether the failure is only partitions without a leader for now: they get one within seconds. */
export function leaderPending(err: unknown): boolean {
  const names = chain(err).flatMap(protocolNames);
  return names.length > 0 && names.every((name) => LEADERLESS.has(name));
}

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
  const wrong = misconfigured(err);
  if (wrong) return wrong;
  const lost = protocolNames(e).find((n) => LOST_OWNERSHIP.has(n));
  if (role === 'consumer' && lost) {
    return new SynclineError('SYNC_PARTITION_LOST', `the partition was assigned elsewhere (${lost})`, { cause: err });
  }
  // Brokers unreachable, leaders moving, coordinators loading, timeouts: the cluster's state, not the data's.
  return new SynclineError('SYNC_UNAVAILABLE', `Kafka: ${String(e.message)}`, { cause: err });
}
