// Publishes encoded outbox batches to Kafka (see event-batch.ts for the records). A transactional
// producer (which is also idempotent, acks=all) fences a relay that lost leadership but still tries
// to send, and makes each batch visible all at once.
import { CompressionTypes, type ITopicConfig, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Declaration } from '@syncline/schema';
import type { TopicMessages } from './event-batch.ts';
import { keyHashPartitioner } from './partitioner.ts';

export interface EventPublisher {
  /** Sends the records in one transaction, committed once `beforeCommit` resolved (aborted if it rejects). */
  publish(topicMessages: TopicMessages[], beforeCommit?: Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export function topicConfig(topic: string, partitions: number): ITopicConfig {
  return {
    topic,
    numPartitions: partitions,
    replicationFactor: -1,
    configEntries: [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'min.compaction.lag.ms', value: '60000' },
    ],
  };
}

/** Creates the collections' topics (compacted) when missing. */
export async function ensureTopics(kafka: Kafka, declaration: Declaration): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = declaration.collections.filter((c) => !existing.has(c.topic));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((c) => topicConfig(c.topic, c.partitions)),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** A produce request's bounds: kafkajs groups its records in time quadratic in their number, and
 * each partition's record batch in it must stay under the broker's message.max.bytes (1 MiB). */
const REQUEST_LIMITS = { records: 2000, bytes: 1024 * 1024 };

const recordBytes = (m: Message) => (m.key?.length ?? 0) + (m.value?.length ?? 0);

/** The records, in order, as consecutive requests of at most `records` records and about `bytes` bytes (at least one record). */
export function chunks(topicMessages: TopicMessages[], limits: { records: number; bytes: number }): TopicMessages[][] {
  const out: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let count = 0;
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    let entry: TopicMessages | undefined;
    for (const message of messages) {
      const size = recordBytes(message);
      if (count > 0 && (count === limits.records || bytes + size > limits.bytes)) {
        out.push(current);
        current = [];
        count = 0;
        bytes = 0;
        entry = undefined;
      }
      if (!entry) {
        entry = { topic, messages: [] };
        current.push(entry);
      }
      entry.messages.push(message);
      count++;
      bytes += size;
    }
  }
  if (current.length) out.push(current);
  return out;
}

export interface KafkaEventPublisherOptions {
  transactionalId: string;
  compression: 'gzip' | 'none';
}

export class KafkaEventPublisher implements EventPublisher {
  private readonly kafka: Kafka;
  private readonly options: KafkaEventPublisherOptions;
  private producer: Producer | undefined;

  constructor(kafka: Kafka, options: KafkaEventPublisherOptions) {
    this.kafka = kafka;
    this.options = options;
  }

  private async connected(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.kafka.producer({
      transactionalId: this.options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: keyHashPartitioner,
      retry: { retries: 5 },
    });
    await producer.connect();
    this.producer = producer;
    return producer;
  }

  /** Sends the records in one Kafka transaction: all of them become visible, or none. */
  async publish(topicMessages: TopicMessages[], beforeCommit?: Promise<void>): Promise<void> {
    const producer = await this.connected();
    const txn = await producer.transaction();
    try {
      // In bounded requests (REQUEST_LIMITS), one after the other, so per-partition order holds.
      for (const chunk of chunks(topicMessages, REQUEST_LIMITS)) {
        await txn.sendBatch({
          acks: -1,
          compression: this.options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
          topicMessages: chunk,
        });
      }
      await beforeCommit;
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => {});
      await this.reset();
      throw err;
    }
  }

  private async reset(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    await p?.disconnect().catch(() => {});
  }

  async close(): Promise<void> {
    await this.reset();
  }
}
