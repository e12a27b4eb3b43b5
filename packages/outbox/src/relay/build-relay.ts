// The relay's wiring, shared by the write API's embedded relay and the outbox-relay service.

import { type Logger, RELAY_DEFAULTS, type Registry } from '@syncline/core';
import { type KafkaClient, KafkaEventPublisher } from '@syncline/kafka';
import type { Declaration } from '@syncline/schema';
import { DocumentAssembler } from './assembler.ts';
import { OutboxReader, type Shard } from './outbox-reader.ts';
import { PgOutboxStore } from './pg-outbox-store.ts';
import { OutboxRelay } from './relay.ts';

export function buildRelay(deps: {
  pgUrl: string;
  kafka: KafkaClient;
  declaration: Declaration;
  log: Logger;
  registry: Registry;
  /** The relay's configuration variables (defaults: docs/configuration.md). */
  config?: Partial<typeof RELAY_DEFAULTS>;
  /** This relay's shard of the outbox (default 0 of 1: every row). */
  shard?: Shard;
  /** Fault injection for tests: called after a publish, before the rows are removed. */
  afterPublish?: () => void;
}): OutboxRelay {
  const config = { ...RELAY_DEFAULTS, ...deps.config };
  const shard = deps.shard ?? { index: 0, count: 1 };
  const log = deps.log.child({ component: 'relay', shard: shard.index });
  // One assembler per relay of shard 0 (they take turns per transaction; any one of them is enough).
  const assembler =
    shard.index === 0
      ? new DocumentAssembler(deps.declaration, {
          pgUrl: deps.pgUrl,
          kafka: deps.kafka,
          log: deps.log.child({ component: 'assembler' }),
          registry: deps.registry,
          options: {
            batchSize: config.SYNCLINE_ASSEMBLE_BATCH_SIZE,
            fanoutRate: config.SYNCLINE_ASSEMBLE_FANOUT_RATE,
            expandSize: 100,
            fanoutBacklog: config.SYNCLINE_ASSEMBLE_FANOUT_BACKLOG,
            sinkGroup: config.SYNCLINE_SINK_GROUP,
          },
        })
      : undefined;
  return new OutboxRelay({
    assembler: assembler?.needed ? assembler : undefined,
    store: new PgOutboxStore(deps.pgUrl, shard),
    reader: new OutboxReader(deps.pgUrl, deps.declaration, shard),
    publisher: new KafkaEventPublisher(deps.kafka, {
      transactionalId: `${config.SYNCLINE_RELAY_ID}-${shard.index}`,
      compression: config.SYNCLINE_RELAY_COMPRESSION,
    }),
    log,
    registry: deps.registry,
    options: {
      batchSize: config.SYNCLINE_RELAY_BATCH_SIZE,
      batchBytes: config.SYNCLINE_RELAY_BATCH_BYTES,
      afterPublish: deps.afterPublish,
    },
  });
}
