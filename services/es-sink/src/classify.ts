// The one place that decides what a bulk item result means for the pipeline.
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
]);

export function classify(item: ItemResult): Outcome {
  if (item.status >= 200 && item.status < 300) return 'indexed';
  if (item.status === 409 || item.errorType === 'version_conflict_engine_exception') return 'stale';
  if (item.status === 404 && item.op === 'DELETE' && !item.errorType) return 'absent';
  if (item.status === 429 || item.status >= 500 || (item.errorType && TRANSIENT_TYPES.has(item.errorType))) {
    return 'transient';
  }
  // index_not_found (alias removed by hand) is an operator problem that retrying fixes once the
  // index is back; everything else in 4xx is about the document itself.
  if (item.errorType === 'index_not_found_exception') return 'transient';
  return 'permanent';
}
