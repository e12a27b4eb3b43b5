// Dead letters: list them with their reasons, and replay them. Replay goes through the outbox:
// each dead-lettered id's current PostgreSQL row is re-emitted with a new version, so a replay can
// never put an older state back on top of a newer one in the compacted topic (guarantee 3).
import type { Kafka, KafkaMessage } from 'kafkajs';
import type pg from 'pg';
import { DLQ_HEADERS, deadLetterTopic } from '@syncline/es-sink';
import { type OutboxWriter, withTransaction } from '@syncline/outbox';
import { type Collection, EventCodec } from '@syncline/schema';

export interface DeadLetterEntry {
  partition: number;
  offset: string;
  id: string;
  errorType: string;
  reason: string;
  source: string;
  at: string;
}

function entry(codec: EventCodec, partition: number, m: KafkaMessage): DeadLetterEntry {
  const h = (k: string) => m.headers?.[k]?.toString() ?? '';
  return {
    partition,
    offset: m.offset,
    id: m.key ? codec.decodeKey(m.key) : '',
    errorType: h(DLQ_HEADERS.errorType),
    reason: h(DLQ_HEADERS.reason),
    source: h(DLQ_HEADERS.source),
    at: h(DLQ_HEADERS.at),
  };
}

/** Reads a dead-letter topic from `groupId`'s committed position (or the beginning) to its end. */
async function readToEnd(
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

export async function listDeadLetters(kafka: Kafka, collection: Collection): Promise<DeadLetterEntry[]> {
  const codec = new EventCodec(collection);
  const out: DeadLetterEntry[] = [];
  await readToEnd(
    kafka,
    deadLetterTopic(collection.topic),
    `syncline-dlq-list-${process.pid}-${Date.now()}`,
    async (items) => {
      for (const { partition, message } of items) out.push(entry(codec, partition, message));
    },
    false,
  );
  return out;
}

/** Replays the dead letters not yet replayed (tracked by the consumer group); returns how many ids. */
export async function replayDeadLetters(
  kafka: Kafka,
  pool: pg.Pool,
  writer: OutboxWriter,
  collection: Collection,
  { groupId = 'syncline-dlq-replay' }: { groupId?: string } = {},
): Promise<number> {
  const codec = new EventCodec(collection);
  let count = 0;
  await readToEnd(
    kafka,
    deadLetterTopic(collection.topic),
    groupId,
    async (items) => {
      const ids = [...new Set(items.map((i) => (i.message.key ? codec.decodeKey(i.message.key) : '')).filter(Boolean))];
      if (ids.length === 0) return;
      await withTransaction(pool, async (client) => {
        await writer.recordChange(client, collection.name, ids);
      });
      count += ids.length;
    },
    true,
  );
  return count;
}
