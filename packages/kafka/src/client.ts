// The one way Syncline creates its Kafka client: the adapter SYNCLINE_KAFKA_CLIENT names.
import { KafkajsClient } from './kafkajs.ts';
import { PlatformaticClient } from './platformatic.ts';
import type { KafkaClient, KafkaClientName } from './port.ts';

export interface KafkaClientOptions {
  /** Which adapter (default kafkajs). */
  client?: KafkaClientName;
  clientId: string;
  brokers: string[];
  /** 'warn' for services; 'silent' for the command line, which reports failures itself. */
  log?: 'warn' | 'silent';
}

export function createKafka(options: KafkaClientOptions): KafkaClient {
  return options.client === 'platformatic' ? new PlatformaticClient(options) : new KafkajsClient(options);
}
