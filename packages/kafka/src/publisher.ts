// Publishes encoded outbox batches to Kafka (see event-batch.ts for the records). A transactional
// producer (which is also idempotent, acks=all) fences a relay that lost leadership but still tries
// to send, and makes each batch visible all at once.

import { boundedChunks } from '@syncline/core';
import { CompressionTypes, type Kafka, type Message, type Producer } from 'kafkajs';
import { type HashedMessage, keyHashPartitioner } from './partitioner.ts';

export interface TopicMessages {
  topic: string;
  messages: HashedMessage[];
}

export interface EventPublisher {
  /** Sends the records in one transaction, committed once `beforeCommit` resolved (aborted if it rejects). */
  publish(topicMessages: TopicMessages[], beforeCommit?: Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/** A produce request's bounds: kafkajs groups its records in time quadratic in their number, and
 * each partition's record batch in it must stay under the broker's message.max.bytes (1 MiB). */
export const PRODUCE_REQUEST_LIMITS = { count: 2000, bytes: 1024 * 1024 };

const recordBytes = ({ message: m }: { message: Message }) => (m.key?.length ?? 0) + (m.value?.length ?? 0);

/** The records, in order, as consecutive produce requests within `limits`. */
export function produceRequests(topicMessages: TopicMessages[], limits = PRODUCE_REQUEST_LIMITS): TopicMessages[][] {
  const records = topicMessages.flatMap(({ topic, messages }) => messages.map((message) => ({ topic, message })));
  return boundedChunks(records, recordBytes, limits).map((chunk) => {
    const request: TopicMessages[] = [];
    for (const { topic, message } of chunk) {
      const last = request.at(-1);
      if (last?.topic === topic) last.messages.push(message);
      else request.push({ topic, messages: [message] });
    }
    return request;
  });
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
      // A transaction begun while the previous one is still completing on the broker is refused with
      // CONCURRENT_TRANSACTIONS and retried: after 20 ms, not kafkajs's default 300 ms (measured at 500
      // writes/s: produce p99 ≤ 0.25 s instead of ≤ 0.5 s, commit → indexed p99 ≤ 0.5 s instead of ≤ 1 s).
      retry: { retries: 5, initialRetryTime: 20 },
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
      // In bounded requests, one after the other, so per-partition order holds.
      for (const chunk of produceRequests(topicMessages)) {
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
      await this.close();
      throw err;
    }
  }

  /** Disconnects the producer; a later publish connects a new one. */
  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    await p?.disconnect().catch(() => {});
  }
}
