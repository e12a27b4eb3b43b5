// The relay wiring shared by the embedded mode and the outbox-relay service.
import type { Kafka } from 'kafkajs';
import type { Logger, Registry } from '@syncline/core';
import { KafkaEventPublisher, OutboxReader, OutboxRelay, PgOutboxStore, type RelayOptions } from '@syncline/outbox';
import type { Declaration } from '@syncline/schema';

export function buildRelay(deps: {
  pgUrl: string;
  kafka: Kafka;
  declaration: Declaration;
  log: Logger;
  registry: Registry;
  compression: 'gzip' | 'none';
  /** This relay's shard of the outbox (default 0 of 1: every row). */
  shard?: number;
  shards?: number;
  /** Kafka transactional id prefix: one per outbox (database and schema), shared by its relays. */
  relayId?: string;
  options?: Partial<RelayOptions>;
}): OutboxRelay {
  const shard = { index: deps.shard ?? 0, count: deps.shards ?? 1 };
  return new OutboxRelay({
    store: new PgOutboxStore(deps.pgUrl, shard),
    reader: new OutboxReader(deps.pgUrl, deps.declaration, shard),
    publisher: new KafkaEventPublisher(deps.kafka, {
      transactionalId: `${deps.relayId ?? 'syncline-relay'}-${shard.index}`,
      compression: deps.compression,
    }),
    log: deps.log.child({ component: 'relay', shard: shard.index }),
    registry: deps.registry,
    options: deps.options,
  });
}
