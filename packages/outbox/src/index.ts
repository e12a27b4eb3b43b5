export { ensureTopics, type EventPublisher, KafkaEventPublisher, topicConfig } from './kafka-event-publisher.ts';
export { migrate } from './migrations.ts';
export { BatchEncoder, type OutboxRow, type PackedBatch, type TopicMessages, unpack } from './event-batch.ts';
export { type BatchReader, type EncodedBatch, OutboxReader } from './outbox-reader.ts';
export { type OutboxStore, PgOutboxStore } from './pg-outbox-store.ts';
export { DEFAULT_RELAY_OPTIONS, OutboxRelay, type RelayOptions, type RelayState } from './relay.ts';
export { OUTBOX_TABLE, VERSION_COLUMN, VERSION_SEQUENCE } from './sql.ts';
export { OutboxWriter, type WriteOp, type WriteResult } from './writer.ts';
export { withTransaction } from './transaction.ts';
