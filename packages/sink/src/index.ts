export { EsBulkWriter } from './bulk-writer.ts';
export { DLQ_HEADERS, KafkaDeadLetterSink } from './dead-letters.ts';
export * from './index-manager.ts';
export { SinkProcessor, sinkMetrics } from './processor.ts';
