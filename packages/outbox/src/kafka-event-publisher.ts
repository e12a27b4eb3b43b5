// Publishes outbox rows to Kafka: one topic per collection, key = document id, Avro value, and a
// tombstone after each delete so compaction can forget the key. A transactional producer (which is
// also idempotent, acks=all) fences a relay that lost leadership but still tries to send.
import { CompressionTypes, type Kafka, type Message, type Producer, type ITopicConfig } from 'kafkajs';
import { type Declaration, EVENT_ID_HEADER, EventCodec, historicSchemas, SCHEMA_HEADER } from '@syncline/schema';
import type { OutboxRow } from './pg-outbox-store.ts';

export interface EventPublisher {
  publish(rows: OutboxRow[]): Promise<void>;
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

export interface KafkaEventPublisherOptions {
  transactionalId: string;
  compression: 'gzip' | 'none';
}

export class KafkaEventPublisher implements EventPublisher {
  private readonly kafka: Kafka;
  private readonly codecs = new Map<string, EventCodec>();
  private readonly topics = new Map<string, string>();
  private readonly options: KafkaEventPublisherOptions;
  private producer: Producer | undefined;

  constructor(kafka: Kafka, declaration: Declaration, options: KafkaEventPublisherOptions) {
    this.kafka = kafka;
    this.options = options;
    for (const c of declaration.collections) {
      this.codecs.set(c.name, new EventCodec(c, historicSchemas(c.name)));
      this.topics.set(c.name, c.topic);
    }
  }

  private async connected(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.kafka.producer({
      transactionalId: this.options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: 5 },
    });
    await producer.connect();
    this.producer = producer;
    return producer;
  }

  encode(row: OutboxRow): { topic: string; messages: Message[] } {
    const codec = this.codecs.get(row.collection);
    if (!codec) throw new Error(`outbox row ${row.seq} names unknown collection '${row.collection}'`);
    const key = codec.encodeKey(row.aggregateId);
    const value = codec.encode({
      collection: row.collection,
      id: row.aggregateId,
      op: row.op,
      version: row.version,
      committedAt: row.createdAt.getTime(),
      document: row.payload,
    });
    const headers = {
      [SCHEMA_HEADER]: codec.fingerprint,
      [EVENT_ID_HEADER]: `${row.collection}:${row.aggregateId}:${row.version}`,
    };
    const messages: Message[] = [{ key, value, headers }];
    if (row.op === 'DELETE') messages.push({ key, value: null, headers });
    return { topic: this.topics.get(row.collection)!, messages };
  }

  async publish(rows: OutboxRow[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const row of rows) {
      const { topic, messages } = this.encode(row);
      const list = byTopic.get(topic);
      if (list) list.push(...messages);
      else byTopic.set(topic, messages);
    }
    const producer = await this.connected();
    const txn = await producer.transaction();
    try {
      await txn.sendBatch({
        acks: -1,
        compression: this.options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
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
