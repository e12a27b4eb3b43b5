export { buildSink, ensureDeadLetterTopics, type Sink } from './app.ts';
export { newestPerId, planChunks } from './batch-planner.ts';
export { classify, type Outcome } from './classify.ts';
export { configSchema, loadConfig, type SinkConfig } from './config.ts';
export { DLQ_HEADERS, deadLetterTopic, KafkaDeadLetterSink } from './dead-letters.ts';
export { ensureIndex, ID_FIELD, indexMappings, indexSettings, physicalIndexName } from './index-manager.ts';
export { EsBulkWriter, type SearchWriter } from './search-writer.ts';
export { SinkMetrics, SinkProcessor } from './sink.ts';
