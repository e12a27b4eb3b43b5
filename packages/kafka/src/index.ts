export { createKafka, type KafkaOptions } from './client.ts';
export { classifyKafkaError } from './errors.ts';
export { type HashedMessage, keyHash, keyHashPartitioner, murmur2 } from './partitioner.ts';
export {
  type EventPublisher,
  KafkaEventPublisher,
  type KafkaEventPublisherOptions,
  PRODUCE_REQUEST_LIMITS,
  produceRequests,
  type TopicMessages,
} from './publisher.ts';
export { readToEnd } from './read-to-end.ts';
export {
  collectionTopic,
  DLQ_HEADERS,
  deadLetterTopic,
  deadLetterTopicConfig,
  ensureTopics,
  topicsOf,
} from './topics.ts';
