// Reading a topic from a consumer group's committed position (or the beginning) to the end offsets
// it had when the read began, batch by batch; the group's position advances only when asked.
import type { Kafka, KafkaMessage } from 'kafkajs';

export async function readToEnd(
  kafka: Kafka,
  topic: string,
  groupId: string,
  onBatch: (items: { partition: number; message: KafkaMessage }[]) => Promise<void>,
  commit: boolean,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? [];
  await admin.disconnect();
  // Done per partition once the read passed its end offset. Offsets, not message counts: a topic
  // written in transactions holds commit markers, which take an offset and are never delivered.
  const remaining = new Map<number, number>();
  for (const p of ends) {
    const from = Math.max(Number(committed.find((c) => c.partition === p.partition)?.offset ?? -1), Number(p.low), 0);
    if (Number(p.high) > from) remaining.set(p.partition, Number(p.high));
  }
  if (remaining.size === 0) return;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let failure: unknown;
  let resolveDone = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const reached = (partition: number, lastOffset: string) => {
    if (Number(lastOffset) + 1 >= (remaining.get(partition) ?? 0)) remaining.delete(partition);
    if (remaining.size === 0) resolveDone();
  };
  // A batch of commit markers only is never handed to eachBatch: its end is seen here.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize === 0) reached(payload.partition, payload.lastOffset);
  });
  void consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      try {
        await onBatch(batch.messages.map((message) => ({ partition: batch.partition, message })));
        const last = batch.messages.at(-1);
        if (last && commit) {
          await consumer.commitOffsets([
            { topic, partition: batch.partition, offset: String(Number(last.offset) + 1) },
          ]);
        }
        reached(batch.partition, batch.lastOffset());
      } catch (err) {
        failure = err;
        remaining.clear();
        resolveDone();
      }
    },
  });
  await done;
  await consumer.disconnect();
  if (failure) throw failure;
}
