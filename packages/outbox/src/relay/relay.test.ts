// The relay loop's batch sizing, with in-memory parts (the loop against real services is covered by
// test/write-path.test.ts, test/relay-crash.test.ts and test/relay-shards.test.ts).

import { createLogger, createMetricsRegistry } from '@syncline/core';
import { describe, expect, it } from 'vitest';
import type { SeqRuns } from './event-batch.ts';
import type { BatchReader, EncodedBatch } from './outbox-reader.ts';
import type { OutboxStore } from './pg-outbox-store.ts';
import { OutboxRelay } from './relay.ts';

describe('relay batches', () => {
  it('asks for as many events as fit the byte budget at the size of the last batch’s largest record', async () => {
    // Records of 300 bytes, then of 1 MiB, then of 300 again; then nothing.
    const sizes = [300, 300, 1 << 20, 300, 300];
    const limits: number[] = [];
    let seq = 0;
    const reader: BatchReader = {
      read: async (limit: number, _exclude: SeqRuns): Promise<EncodedBatch> => {
        limits.push(limit);
        const size = sizes.shift();
        if (size === undefined)
          return { runs: [], events: 0, maxRecordBytes: 0, oldestCommittedAt: 0, topicMessages: [] };
        seq += limit;
        return {
          runs: [seq - limit + 1, seq],
          events: limit,
          maxRecordBytes: size,
          oldestCommittedAt: Date.now(),
          topicMessages: [],
        };
      },
      close: async () => {},
    };
    const store: OutboxStore = {
      tryLead: async () => true,
      remove: async () => {},
      backlog: async () => ({ count: 0, oldestAgeSeconds: 0 }),
      close: async () => {},
    };
    const relay = new OutboxRelay({
      store,
      reader,
      publisher: { publish: async () => {}, close: async () => {} },
      log: createLogger('test', 'silent'),
      registry: createMetricsRegistry('test', false),
      options: { batchSize: 20000, batchBytes: 16 << 20 },
    });
    relay.start();
    while (limits.length < 6) await new Promise((r) => setTimeout(r, 5));
    await relay.stop();
    // Before any record was seen, at most 1000; then 16 MiB / 300 B capped at 20000; 16 MiB / 1 MiB.
    expect(limits.slice(0, 6)).toEqual([1000, 20000, 20000, 16, 20000, 20000]);
  });
});
