export { newestPerId, type PlannedEvent, planChunks } from './batch-planner.ts';
export { EsBulkWriter, type SearchWriter } from './bulk-writer.ts';
export { classify, classifyEsError, type ItemResult, type Outcome } from './classify.ts';
export { type DeadLetter, type DeadLetterSink, KafkaDeadLetterSink } from './dead-letters.ts';
export { ensureIndex, ID_FIELD, indexMappings, indexSettings, physicalIndexName } from './index-manager.ts';
export { type BatchControl, type BatchOutcome, type SinkMetrics, SinkProcessor, sinkMetrics } from './processor.ts';
