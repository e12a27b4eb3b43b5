export { backfill } from './backfill.ts';
export { replayDeadLetters } from './dlq.ts';
export { driftCount, reconcile } from './reconcile.ts';
export { reindex } from './reindex.ts';
