export { backfill, type BackfillOptions } from './backfill.ts';
export { type DeadLetterEntry, listDeadLetters, replayDeadLetters } from './dlq.ts';
export { type DriftReport, driftCount, reconcile } from './reconcile.ts';
export { reindex, type ReindexOptions, type ReindexResult } from './reindex.ts';
export { type CollectionStatus, status } from './status.ts';
