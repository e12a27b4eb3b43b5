// The one classification of the search engine's answers: what each bulk item result means for the
// pipeline, and which catalog error a failed request or item is.
import { SynclineError } from '@syncline/core';
import { SearchRequestError } from '@syncline/search';

export type Outcome = 'indexed' | 'stale' | 'absent' | 'transient' | 'permanent';

export interface ItemResult {
  status: number;
  errorType?: string | undefined;
  reason?: string | undefined;
  op: 'UPSERT' | 'DELETE';
}

const TRANSIENT_TYPES = new Set([
  'es_rejected_execution_exception',
  'circuit_breaking_exception',
  'unavailable_shards_exception',
  'no_shard_available_action_exception',
  'cluster_block_exception',
  'node_not_connected_exception',
  'process_cluster_event_timeout_exception',
  'timeout_exception',
  // The alias removed by hand: an operator problem that retrying fixes once the index is back.
  'index_not_found_exception',
]);

const transient = (status: number, type: string | undefined) =>
  status === 429 || status >= 500 || (type !== undefined && TRANSIENT_TYPES.has(type));

export function classify(item: ItemResult): Outcome {
  if (item.status >= 200 && item.status < 300) return 'indexed';
  if (item.status === 409 || item.errorType === 'version_conflict_engine_exception') return 'stale';
  if (item.status === 404 && item.op === 'DELETE' && !item.errorType) return 'absent';
  // Everything else in 4xx is about the document itself.
  return transient(item.status, item.errorType) ? 'transient' : 'permanent';
}

/** An item the index refused for good, as the catalog error its dead letter carries. */
export function rejection(item: ItemResult): SynclineError {
  return new SynclineError(
    'SYNC_INDEX_REJECTED',
    `${item.errorType ?? `status ${item.status}`}: ${item.reason ?? 'rejected'}`,
  );
}

/**
 * A failed _bulk request (connection failed or timed out, or the whole request was refused) is
 * transient whatever its status: none of its documents was judged, and what refuses a whole request
 * (a 401, a 413, a proxy) is fixed by an operator, not by dead-lettering the documents.
 */
export function classifySearchError(err: unknown): SynclineError | undefined {
  if (!(err instanceof SearchRequestError)) return undefined;
  return new SynclineError('SYNC_INDEX_TRANSIENT', err.message, { cause: err });
}
