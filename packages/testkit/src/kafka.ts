// Reading a whole topic in tests: a fresh consumer group from the beginning (read_committed),
// until the topic has been quiet for quietMs after at least `atLeast` messages arrived. Each record
// is returned once, in log order per partition.
import type { Kafka, KafkaMessage } from 'kafkajs';

export interface ReadMessage {
  partition: number;
  offset: string;
  message: KafkaMessage;
}

export async function readTopic(
  kafka: Kafka,
  topic: string,
  { atLeast = 0, quietMs = 2000, timeoutMs = 120_000, groupPrefix = 'syncline-test-reader' } = {},
): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: `${groupPrefix}-${Date.now()}-${Math.random().toString(36).slice(2)}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: ReadMessage[] = [];
  let last = Date.now();
  // A rebalance of the reader's own group (a missed heartbeat on a busy machine) restarts it from
  // the last committed offset: keep each record once, in log order.
  const seen = new Map<number, bigint>();
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const offset = BigInt(message.offset);
      if (offset <= (seen.get(partition) ?? -1n)) return;
      seen.set(partition, offset);
      out.push({ partition, offset: message.offset, message });
      last = Date.now();
    },
  });
  const deadline = Date.now() + timeoutMs;
  try {
    while (!(out.length >= atLeast && Date.now() - last > quietMs)) {
      if (Date.now() > deadline) throw new Error(`read ${out.length} of at least ${atLeast} messages from ${topic}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await consumer.disconnect();
  }
  return out;
}
