export {
  createKafka,
  type KafkaClientOptions,
  type KafkaConfig,
  type KafkaSecurity,
  kafkaFromConfig,
  kafkaSecurity,
} from './client.ts';
export { classifyKafkaError } from './errors.ts';
export { KafkajsClient } from './kafkajs.ts';
export { keyHash } from './partitioner.ts';
export * from './port.ts';
export { type EventPublisher, KafkaEventPublisher } from './publisher.ts';
export { readToEnd } from './read-to-end.ts';
export {
  collectionTopic,
  DLQ_HEADERS,
  deadLetterTopic,
  deadLetterTopicConfig,
  ensureTopics,
  topicsOf,
} from './topics.ts';
