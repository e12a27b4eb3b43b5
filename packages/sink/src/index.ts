export { EsBulkWriter } from './bulk-writer.ts';
export { DLQ_HEADERS, KafkaDeadLetterSink } from './dead-letters.ts';
export { ensureIndex, ID_FIELD, indexMappings, indexSettings, physicalIndexName } from './index-manager.ts';
export { SinkProcessor, sinkMetrics } from './processor.ts';
