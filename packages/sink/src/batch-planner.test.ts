import type { ChangeEvent } from '@syncline/schema';
import { describe, expect, it } from 'vitest';
import { newestPerId, planChunks } from './batch-planner.ts';
import { classify } from './classify.ts';

const ev = (id: string, version: number, op: 'UPSERT' | 'DELETE' = 'UPSERT'): ChangeEvent => ({
  collection: 'products',
  id,
  op,
  version,
  committedAt: 0,
  document: op === 'UPSERT' ? { name: `${id}@${version}` } : null,
});

describe('batch planner', () => {
  it('keeps only the newest version of each id, whatever the order', () => {
    const out = newestPerId([ev('a', 3), ev('b', 1), ev('a', 5), ev('a', 4), ev('b', 2, 'DELETE')]);
    expect(out.map((e) => [e.id, e.version, e.op])).toEqual([
      ['a', 5, 'UPSERT'],
      ['b', 2, 'DELETE'],
    ]);
  });

  it('bounds chunks by documents and by bytes', () => {
    const events = Array.from({ length: 25 }, (_, i) => ev(`id-${i}`, i + 1));
    expect(planChunks(events, { maxDocs: 10, maxBytes: 1e9 }).map((c) => c.length)).toEqual([10, 10, 5]);
    const bySize = planChunks(events, { maxDocs: 1000, maxBytes: 400 });
    expect(bySize.every((c) => c.reduce((s, p) => s + p.bytes, 0) <= 400 || c.length === 1)).toBe(true);
    expect(bySize.flat()).toHaveLength(25);
  });
});

describe('classify', () => {
  it.each([
    [{ status: 201, op: 'UPSERT' }, 'indexed'],
    [{ status: 200, op: 'DELETE' }, 'indexed'],
    [{ status: 409, errorType: 'version_conflict_engine_exception', op: 'UPSERT' }, 'stale'],
    [{ status: 404, op: 'DELETE' }, 'absent'],
    [{ status: 429, errorType: 'es_rejected_execution_exception', op: 'UPSERT' }, 'transient'],
    [{ status: 503, errorType: 'unavailable_shards_exception', op: 'UPSERT' }, 'transient'],
    [{ status: 404, errorType: 'index_not_found_exception', op: 'UPSERT' }, 'transient'],
    [{ status: 400, errorType: 'document_parsing_exception', op: 'UPSERT' }, 'permanent'],
    [{ status: 400, errorType: 'strict_dynamic_mapping_exception', op: 'UPSERT' }, 'permanent'],
  ] as const)('%j is %s', (item, outcome) => {
    expect(classify(item)).toBe(outcome);
  });
});
