// The topics Syncline uses: one compacted topic per collection (key = document id, so it always
// holds each document's latest event) and a dead-letter topic beside it.

import { isSynclineError, SynclineError, sleep } from '@syncline/core';
import type { Collection } from '@syncline/schema';
import { classifyKafkaError, leaderPending } from './errors.ts';
import type { KafkaClient, TopicSpec } from './port.ts';

export const deadLetterTopic = (topic: string): string => `${topic}.dlq`;

/** Headers a dead letter carries beside the original's (written by the sink, and by the relay for captured rows). */
export const DLQ_HEADERS = {
  errorType: 'syncline-dlq-error-type',
  reason: 'syncline-dlq-reason',
  source: 'syncline-dlq-source',
  at: 'syncline-dlq-at',
} as const;

export function collectionTopic(c: Pick<Collection, 'topic' | 'partitions'>): TopicSpec {
  return {
    topic: c.topic,
    partitions: c.partitions,
    config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' },
  };
}

/** Dead letters are kept for 30 days. */
export function deadLetterTopicConfig(c: Pick<Collection, 'topic'>): TopicSpec {
  return {
    topic: deadLetterTopic(c.topic),
    partitions: 1,
    config: { 'retention.ms': String(30 * 24 * 3600 * 1000) },
  };
}

/** Every topic of the collections: each one's topic and its dead-letter topic. */
export const topicsOf = (collections: Pick<Collection, 'topic' | 'partitions'>[]): TopicSpec[] =>
  collections.flatMap((c) => [collectionTopic(c), deadLetterTopicConfig(c)]);

/**
 * Creates the topics that do not exist yet. Every service does this first, so its failure is
 * classified here: wrong credentials or an untrusted certificate stop the start with a message naming
 * the setting; an unreachable cluster is SYNC_UNAVAILABLE (retriable).
 */
export async function ensureTopics(kafka: KafkaClient, topics: TopicSpec[]): Promise<void> {
  try {
    await createMissing(kafka, topics);
  } catch (err) {
    const known = classifyKafkaError(err, 'producer');
    if (isSynclineError(known, 'SYNC_UNAVAILABLE')) {
      throw new SynclineError(
        'SYNC_UNAVAILABLE',
        `no Kafka broker of SYNCLINE_KAFKA_BROKERS answered: ${known.message}`,
        {
          cause: err,
        },
      );
    }
    throw known ?? err;
  }
}

async function createMissing(kafka: KafkaClient, topics: TopicSpec[]): Promise<void> {
  const admin = await kafka.admin();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length) {
      await admin.createTopics(missing).catch((err: unknown) => {
        if (!leaderPending(err)) throw err;
      });
    }
    // On a cluster, a new topic's partitions get their leaders a moment after it is created (longer than
    // the client waits on a busy machine), and until then nothing can write or read them: wait for every
    // requested topic (another process may have created it a moment ago).
    const deadline = Date.now() + 60_000;
    for (const t of topics) {
      for (;;) {
        try {
          await admin.topicOffsets(t.topic);
          break;
        } catch (err) {
          if (!leaderPending(err) || Date.now() > deadline) throw err;
          await sleep(250);
        }
      }
    }
  } finally {
    await admin.close();
  }
}
