// Dead letters: an event Elasticsearch (or the decoder) rejects for good is produced to the
// collection's dead-letter topic with the original key, value and headers plus the reason, before
// the source offset is committed. Inspect with `syncline dlq list`, replay with `dlq replay`.

import {
  DLQ_HEADERS,
  deadLetterTopic,
  type IncomingRecord,
  type KafkaClient,
  type RecordProducer,
} from '@syncline/kafka';

export interface DeadLetter {
  topic: string;
  partition: number;
  message: IncomingRecord;
  /** The catalog code of why (SYNC_INDEX_REJECTED, SYNC_EVENT_UNDECODABLE). */
  errorType: string;
  reason: string;
}

export interface DeadLetterSink {
  send(letters: DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

export class KafkaDeadLetterSink implements DeadLetterSink {
  private readonly producer: RecordProducer;

  constructor(kafka: KafkaClient) {
    this.producer = kafka.producer();
  }

  async send(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const byTopic = Map.groupBy(letters, (l) => deadLetterTopic(l.topic));
    await this.producer.send(
      [...byTopic].map(([topic, group]) => ({
        topic,
        messages: group.map((l) => ({
          key: l.message.key ?? Buffer.alloc(0),
          value: l.message.value,
          headers: {
            ...(l.message.headers as Record<string, Buffer>),
            [DLQ_HEADERS.errorType]: l.errorType,
            [DLQ_HEADERS.reason]: l.reason.slice(0, 4000),
            [DLQ_HEADERS.source]: `${l.topic}/${l.partition}/${l.message.offset}`,
            [DLQ_HEADERS.at]: new Date().toISOString(),
          },
        })),
      })),
    );
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}
