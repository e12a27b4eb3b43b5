import { describe, expect, it } from 'vitest';
import { chunks } from './kafka-event-publisher.ts';

describe('splitting a transaction into produce requests', () => {
  it('keeps every record, in order, in requests of at most the given size', () => {
    const records = (topic: string, n: number) => ({
      topic,
      messages: Array.from({ length: n }, (_, i) => ({ key: `${topic}-${i}`, value: null })),
    });
    const input = [records('a', 5), records('b', 3), records('c', 4)];
    const requests = chunks(input, 4);
    expect(requests.map((r) => r.reduce((n, t) => n + t.messages.length, 0))).toEqual([4, 4, 4]);
    const flat = requests.flatMap((r) => r.flatMap((t) => t.messages.map((m) => m.key)));
    expect(flat).toEqual(input.flatMap((t) => t.messages.map((m) => m.key)));
    expect(requests[1]!.map((t) => t.topic)).toEqual(['a', 'b']);
    expect(chunks([], 4)).toEqual([]);
  });
});
