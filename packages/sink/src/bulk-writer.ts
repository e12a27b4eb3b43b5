// The port the sink writes through, and its Elasticsearch adapter: one _bulk request per chunk,
// index/delete with version_type=external so an older event can never replace a newer document.
import type { Client } from '@elastic/elasticsearch';
import type { PlannedEvent } from './batch-planner.ts';
import type { ItemResult } from './classify.ts';

export interface SearchWriter {
  /** One result per planned event, in order. Throws when the request as a whole failed. */
  bulk(index: string, chunk: PlannedEvent[]): Promise<ItemResult[]>;
}

export class EsBulkWriter implements SearchWriter {
  private readonly es: Client;
  private readonly timeoutMs: number;

  constructor(es: Client, timeoutMs: number) {
    this.es = es;
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
    const res = await this.es.bulk(
      {
        operations: lines as unknown as Record<string, unknown>[],
        // Only what classification reads: a full item answer is several times larger to send and parse.
        filter_path: ['items.*.status', 'items.*.error.type', 'items.*.error.reason'],
      },
      { requestTimeout: this.timeoutMs, maxRetries: 0 },
    );
    return res.items.map((item, i) => {
      const r = (item.index ?? item.delete)!;
      return {
        status: r.status,
        errorType: r.error?.type,
        reason: r.error?.reason ?? undefined,
        op: chunk[i]!.event.op,
      };
    });
  }
}
