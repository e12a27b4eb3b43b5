// The sink's writes to the search engine: one _bulk request per chunk, index/delete with
// version_type=external so an older event can never replace a newer document.
import type { SearchEngine } from '@syncline/search';
import type { PlannedEvent } from './batch-planner.ts';
import type { ItemResult } from './classify.ts';

export interface SearchWriter {
  /** One result per planned event, in order. Throws when the request as a whole failed. */
  bulk(index: string, chunk: PlannedEvent[]): Promise<ItemResult[]>;
}

export class BulkWriter implements SearchWriter {
  private readonly engine: SearchEngine;
  private readonly timeoutMs: number;

  constructor(engine: SearchEngine, timeoutMs: number) {
    this.engine = engine;
    this.timeoutMs = timeoutMs;
  }

  async bulk(index: string, chunk: PlannedEvent[]): Promise<ItemResult[]> {
    const lines: string[] = [];
    const target = JSON.stringify(index);
    for (const { event, source } of chunk) {
      const meta = `{"_index":${target},"_id":${JSON.stringify(event.id)},"version":${event.version},"version_type":"external"}}`;
      if (event.op === 'UPSERT') lines.push(`{"index":${meta}`, source!);
      else lines.push(`{"delete":${meta}`);
    }
    const items = await this.engine.bulk(lines, this.timeoutMs);
    return items.map((item, i) => ({ ...item, op: chunk[i]!.event.op }));
  }
}
