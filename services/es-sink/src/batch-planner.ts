// Turns one partition's batch of decoded events into bulk chunks: only the newest version of each
// id survives (an older event in the same batch could never win anyway), and chunks are bounded
// by document count and bytes.
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

export function planChunks(
  events: ChangeEvent[],
  { maxDocs, maxBytes }: { maxDocs: number; maxBytes: number },
): PlannedEvent[][] {
  const chunks: PlannedEvent[][] = [];
  let current: PlannedEvent[] = [];
  let bytes = 0;
  for (const event of newestPerId(events)) {
    const source = event.op === 'UPSERT' ? sourceOf(event) : null;
    const size = (source?.length ?? 0) + event.id.length + 100;
    if (current.length > 0 && (current.length >= maxDocs || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push({ event, source, bytes: size });
    bytes += size;
  }
  if (current.length) chunks.push(current);
  return chunks;
}
