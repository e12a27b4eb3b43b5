export { BulkWriter } from './bulk-writer.ts';
export { KafkaDeadLetterSink } from './dead-letters.ts';
export * from './index-manager.ts';
export { SinkProcessor, sinkMetrics } from './processor.ts';
