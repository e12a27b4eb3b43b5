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
  const remaining = new Map(
    ends
      .map((p) => {
        const from = Math.max(Number(committed.find((c) => c.partition === p.partition)?.offset ?? -1), Number(p.low));
        return [p.partition, Number(p.high) - Math.max(0, from)] as const;
      })
      .filter(([, n]) => n > 0),
  );
  if (remaining.size === 0) return;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let failure: unknown;
  const done = new Promise<void>((resolve) => {
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
          const left = (remaining.get(batch.partition) ?? 0) - batch.messages.length;
          if (left <= 0) remaining.delete(batch.partition);
          else remaining.set(batch.partition, left);
        } catch (err) {
          failure = err;
          remaining.clear();
        }
        if (remaining.size === 0) resolve();
      },
    });
  });
  await done;
  await consumer.disconnect();
  if (failure) throw failure;
}
