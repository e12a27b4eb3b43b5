// The topics Syncline uses: one compacted topic per collection (key = document id, so it always
// holds each document's latest event) and a dead-letter topic beside it.

import type { Collection } from '@syncline/schema';
import type { ITopicConfig, Kafka } from 'kafkajs';

export const deadLetterTopic = (topic: string): string => `${topic}.dlq`;

/** Headers a dead letter carries beside the original's (written by the sink, and by the relay for captured rows). */
export const DLQ_HEADERS = {
  errorType: 'syncline-dlq-error-type',
  reason: 'syncline-dlq-reason',
  source: 'syncline-dlq-source',
  at: 'syncline-dlq-at',
} as const;

export function collectionTopic(c: Pick<Collection, 'topic' | 'partitions'>): ITopicConfig {
  return {
    topic: c.topic,
    numPartitions: c.partitions,
    replicationFactor: -1,
    configEntries: [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'min.compaction.lag.ms', value: '60000' },
    ],
  };
}

/** Dead letters are kept for 30 days. */
export function deadLetterTopicConfig(c: Pick<Collection, 'topic'>): ITopicConfig {
  return {
    topic: deadLetterTopic(c.topic),
    numPartitions: 1,
    configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600 * 1000) }],
  };
}

/** Every topic of the collections: each one's topic and its dead-letter topic. */
export const topicsOf = (collections: Pick<Collection, 'topic' | 'partitions'>[]): ITopicConfig[] =>
  collections.flatMap((c) => [collectionTopic(c), deadLetterTopicConfig(c)]);

/** Creates the topics that do not exist yet. */
export async function ensureTopics(kafka: Kafka, topics: ITopicConfig[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length) await admin.createTopics({ waitForLeaders: true, topics: missing });
  } finally {
    await admin.disconnect();
  }
}
