export { createKafka } from './client.ts';
export { classifyKafkaError } from './errors.ts';
export { type HashedMessage, keyHash, keyHashPartitioner } from './partitioner.ts';
export { type EventPublisher, KafkaEventPublisher, type TopicMessages } from './publisher.ts';
export { readToEnd } from './read-to-end.ts';
export {
  collectionTopic,
  DLQ_HEADERS,
  deadLetterTopic,
  deadLetterTopicConfig,
  ensureTopics,
  topicsOf,
} from './topics.ts';
