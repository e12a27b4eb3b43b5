// Dead letters: an event Elasticsearch (or the decoder) rejects for good is produced to the
// collection's dead-letter topic with the original key, value and headers plus the reason, before
// the source offset is committed. Inspect with `syncline dlq list`, replay with `dlq replay`.

import { DLQ_HEADERS, deadLetterTopic } from '@syncline/kafka';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  /** The catalog code of why (SYNC_INDEX_REJECTED, SYNC_EVENT_UNDECODABLE). */
  errorType: string;
  reason: string;
}

export interface DeadLetterSink {
  send(letters: DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

export class KafkaDeadLetterSink implements DeadLetterSink {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;

  constructor(kafka: Kafka) {
    this.kafka = kafka;
  }

  async send(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    if (!this.producer) {
      const p = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await p.connect();
      this.producer = p;
    }
    const byTopic = Map.groupBy(letters, (l) => deadLetterTopic(l.topic));
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, group]) => ({
        topic,
        messages: group.map((l) => ({
          key: l.message.key,
          value: l.message.value,
          headers: {
            ...l.message.headers,
            [DLQ_HEADERS.errorType]: l.errorType,
            [DLQ_HEADERS.reason]: l.reason.slice(0, 4000),
            [DLQ_HEADERS.source]: `${l.topic}/${l.partition}/${l.message.offset}`,
            [DLQ_HEADERS.at]: new Date().toISOString(),
          },
        })),
      })),
    });
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
    this.producer = undefined;
  }
}
