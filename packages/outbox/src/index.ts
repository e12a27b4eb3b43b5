// The transactional outbox. write/: recording changes in the caller's transaction. relay/: publishing
// committed events to Kafka in commit order. db/: every table, migration and lock key.
export {
  type CaptureReport,
  type CaptureStatus,
  captureNames,
  captureStatus,
  disableCapture,
  enableCapture,
} from './db/capture.ts';
export { allJoinedDocumentsSql, joinedDocumentsSql, pendingMarksSql, waitMarksSql } from './db/join.ts';
export { migrate } from './db/migrations.ts';
export { classifyPgError } from './db/pg-errors.ts';
export { keyType } from './db/sql.ts';
export {
  BACKFILL_TABLE,
  JOIN_MARKS_TABLE,
  OUTBOX_TABLE,
  REINDEX_TABLE,
  RETIRED_INDEX_TABLE,
  VERSION_COLUMN,
  withOperationLock,
} from './db/tables.ts';
export { buildRelay } from './relay/build-relay.ts';
export { BatchEncoder, unpack } from './relay/event-batch.ts';
export { OutboxRelay } from './relay/relay.ts';
export { claimRelayLayout } from './relay/relay-layout.ts';
export { createPool, withTransaction } from './write/transaction.ts';
export { OutboxWriter, type WriteOp, type WriteResult } from './write/writer.ts';
