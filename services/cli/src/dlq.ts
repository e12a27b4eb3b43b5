// Dead letters: list them with their reasons, and replay them. Replay goes through the outbox:
// each dead-lettered id's current PostgreSQL row is re-emitted with a new version, so a replay can
// never put an older state back on top of a newer one in the compacted topic (guarantee 3).

import { DLQ_HEADERS, deadLetterTopic, type IncomingRecord, type KafkaClient, readToEnd } from '@syncline/kafka';
import { type OutboxWriter, withTransaction } from '@syncline/outbox';
import { type Collection, EventCodec } from '@syncline/schema';
import type pg from 'pg';

export interface DeadLetterEntry {
  partition: number;
  offset: string;
  id: string;
  errorType: string;
  reason: string;
  source: string;
  at: string;
}

function entry(codec: EventCodec, partition: number, m: IncomingRecord): DeadLetterEntry {
  const h = (k: string) => m.headers[k]?.toString() ?? '';
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

export async function listDeadLetters(kafka: KafkaClient, collection: Collection): Promise<DeadLetterEntry[]> {
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
  kafka: KafkaClient,
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
