// Turns one partition's batch of decoded events into bulk chunks: only the newest version of each
// id survives (an older event in the same batch could never win anyway), and chunks are bounded
// by document count and bytes.
import { boundedChunks } from '@syncline/core';
import type { ChangeEvent } from '@syncline/schema';
import { ID_FIELD } from './index-manager.ts';

export interface PlannedEvent {
  event: ChangeEvent;
  /** Serialised source for upserts; null for deletes. */
  source: string | null;
  bytes: number;
}

export function newestPerId(events: ChangeEvent[]): ChangeEvent[] {
  const newest = new Map<string, ChangeEvent>();
  for (const e of events) {
    const seen = newest.get(e.id);
    if (!seen || e.version > seen.version) newest.set(e.id, e);
  }
  return [...newest.values()];
}

const ID_PREFIX = `{${JSON.stringify(ID_FIELD)}:`;

/** The document as indexed: its fields plus the id field (first), serialised without copying the document. */
function sourceOf(event: ChangeEvent): string {
  const fields = JSON.stringify(event.document);
  return `${ID_PREFIX}${JSON.stringify(event.id)}${fields === '{}' ? '}' : `,${fields.slice(1)}`}`;
}

/** The newest event of each id, as bulk chunks within the limits. */
export function planChunks(events: ChangeEvent[], limits: { maxDocs: number; maxBytes: number }): PlannedEvent[][] {
  const planned = newestPerId(events).map((event) => {
    const source = event.op === 'UPSERT' ? sourceOf(event) : null;
    return { event, source, bytes: (source?.length ?? 0) + event.id.length + 100 };
  });
  return boundedChunks(planned, (p) => p.bytes, { count: limits.maxDocs, bytes: limits.maxBytes });
}
