import { describe, expect, it } from 'vitest';
import type { OutgoingRecord } from './port.ts';
import { produceRequests } from './publisher.ts';

const recordSize = (x: OutgoingRecord) => (x.key?.length ?? 0) + (x.value?.length ?? 0);

describe('splitting a transaction into produce requests', () => {
  it('keeps every record, in order, in requests of at most the given size', () => {
    const records = (topic: string, n: number) => ({
      topic,
      messages: Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`${topic}-${i}`), value: null })),
    });
    const input = [records('a', 5), records('b', 3), records('c', 4)];
    const requests = produceRequests(input, { count: 4, bytes: 1000 });
    expect(requests.map((r) => r.reduce((n, t) => n + t.messages.length, 0))).toEqual([4, 4, 4]);
    const flat = requests.flatMap((r) => r.flatMap((t) => t.messages.map((m) => m.key)));
    expect(flat).toEqual(input.flatMap((t) => t.messages.map((m) => m.key)));
    expect(requests[1]!.map((t) => t.topic)).toEqual(['a', 'b']);
    expect(produceRequests([], { count: 4, bytes: 1000 })).toEqual([]);
  });

  it('bounds the bytes of a request too, and sends a record larger than the bound alone', () => {
    const m = (size: number) => ({ key: Buffer.alloc(2), value: Buffer.alloc(size - 2) });
    const requests = produceRequests([{ topic: 't', messages: [m(400), m(400), m(400), m(2000), m(100), m(100)] }], {
      count: 10,
      bytes: 1000,
    });
    expect(requests.map((r) => r[0]!.messages.map(recordSize))).toEqual([[400, 400], [400], [2000], [100, 100]]);
  });
});
