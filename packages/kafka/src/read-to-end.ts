// Reading a topic from a consumer group's committed position (or the beginning) to the end offsets
// it had when the read began, batch by batch; the group's position advances only when asked.
import type { IncomingRecord, KafkaClient } from './port.ts';

export async function readToEnd(
  kafka: KafkaClient,
  topic: string,
  groupId: string,
  onBatch: (items: { partition: number; message: IncomingRecord }[]) => Promise<void>,
  commit: boolean,
): Promise<void> {
  const admin = await kafka.admin();
  let ends: Awaited<ReturnType<typeof admin.topicOffsets>>;
  let committed: Map<number, number>;
  try {
    ends = await admin.topicOffsets(topic);
    committed = await admin.groupOffsets(groupId, topic);
  } finally {
    await admin.close();
  }
  // Done per partition once the read passed its end offset. Offsets, not message counts: a topic
  // written in transactions holds commit markers, which take an offset and are never delivered.
  const remaining = new Map<number, number>();
  for (const p of ends) {
    const from = Math.max(committed.get(p.partition) ?? 0, p.low, 0);
    if (p.high > from) remaining.set(p.partition, p.high);
  }
  if (remaining.size === 0) return;
  let failure: unknown;
  const done = Promise.withResolvers<void>();
  const reached = (partition: number, next: number) => {
    if (next >= (remaining.get(partition) ?? 0)) remaining.delete(partition);
    if (remaining.size === 0) done.resolve();
  };
  const fail = (err: unknown) => {
    failure ??= err;
    remaining.clear();
    done.resolve();
  };
  const consumer = kafka.consumer({
    groupId,
    topics: [topic],
    partitions: [...remaining.keys()],
    maxBytesPerPartition: 1 << 20,
    maxBytes: 10 << 20,
    maxWaitMs: 100,
    concurrency: 1,
    onPosition: (_, partition, next) => reached(partition, next),
    onCrash: (err, restarting) => {
      if (!restarting) fail(err);
    },
    eachBatch: async (batch) => {
      try {
        await onBatch(batch.messages.map((message) => ({ partition: batch.partition, message })));
        if (commit) await consumer.commit([{ topic, partition: batch.partition, offset: batch.next }]);
        reached(batch.partition, batch.next);
        return 'settled';
      } catch (err) {
        fail(err);
        return 'abandoned';
      }
    },
  });
  try {
    await consumer.start();
    await done.promise;
  } finally {
    await consumer.stop();
  }
  if (failure) throw failure;
}
