// Publishes encoded outbox batches to Kafka (see event-batch.ts for the records). A transactional
// producer (which is also idempotent, acks=all) fences a relay that lost leadership but still tries
// to send, and makes each batch visible all at once.

import { boundedChunks } from '@syncline/core';
import type { KafkaClient, OutgoingRecord, TopicMessages, TransactionalProducer } from './port.ts';

export interface EventPublisher {
  /** Sends the records in one transaction, committed once `beforeCommit` resolved (aborted if it rejects). */
  publish(topicMessages: TopicMessages[], beforeCommit?: Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/** A produce request's bounds: kafkajs groups its records in time quadratic in their number, and
 * each partition's record batch in it must stay under the broker's message.max.bytes (1 MiB). */
export const PRODUCE_REQUEST_LIMITS = { count: 2000, bytes: 1024 * 1024 };

const recordBytes = ({ message: m }: { message: OutgoingRecord }) => (m.key?.length ?? 0) + (m.value?.length ?? 0);

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

/**
 * Two transactional producers, used in turn. A transaction's commit returns before the broker has
 * written its markers, and until then the same producer's next transaction is refused
 * (CONCURRENT_TRANSACTIONS) and retried after a backoff: one producer spends most of a busy relay's time
 * waiting. The other producer's transaction starts at once. Batches are still sent one after the other
 * (the relay begins one only once the previous one committed), so each partition receives them in
 * order; both transactional ids are fenced (initialised) before a new relay sends anything.
 */
const PRODUCERS = 2;

export class KafkaEventPublisher implements EventPublisher {
  private readonly kafka: KafkaClient;
  private readonly options: KafkaEventPublisherOptions;
  private producers: Promise<TransactionalProducer[]> | undefined;
  private turn = 0;

  constructor(kafka: KafkaClient, options: KafkaEventPublisherOptions) {
    this.kafka = kafka;
    this.options = options;
  }

  private connected(): Promise<TransactionalProducer[]> {
    this.producers ??= (async () => {
      const producers = Array.from({ length: PRODUCERS }, (_, i) =>
        this.kafka.transactionalProducer({
          transactionalId: i === 0 ? this.options.transactionalId : `${this.options.transactionalId}.${i}`,
          compression: this.options.compression,
        }),
      );
      const settled = await Promise.allSettled(producers.map((p) => p.connect()));
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) {
        await Promise.all(producers.map((p) => p.close().catch(() => {})));
        throw failed.reason;
      }
      return producers;
    })();
    const connecting = this.producers;
    connecting.catch(() => {
      if (this.producers === connecting) this.producers = undefined;
    });
    return connecting;
  }

  /** Sends the records in one Kafka transaction: all of them become visible, or none. */
  async publish(topicMessages: TopicMessages[], beforeCommit?: Promise<void>): Promise<void> {
    const producers = await this.connected();
    const producer = producers[this.turn++ % producers.length]!;
    const txn = await producer.begin();
    try {
      // In bounded requests, one after the other, so per-partition order holds.
      for (const chunk of produceRequests(topicMessages)) await txn.send(chunk);
      await beforeCommit;
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => {});
      await this.close();
      throw err;
    }
  }

  /** Disconnects the producers; a later publish connects new ones. */
  async close(): Promise<void> {
    const producers = this.producers;
    this.producers = undefined;
    const all = await producers?.catch(() => []);
    await Promise.all((all ?? []).map((p) => p.close().catch(() => {})));
  }
}
