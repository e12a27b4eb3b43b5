// Builds a sink instance: index template and alias, dead-letter topics, the consumer group and the
// HTTP endpoints. Instances with the same group share the partitions; adding one scales out.
import { isSynclineError, type Logger, metricsOn, opsRoutes, type Registry, type sinkEnv } from '@syncline/core';
import {
  classifyKafkaError,
  deadLetterTopicConfig,
  ensureTopics,
  type GroupConsumer,
  type KafkaClient,
} from '@syncline/kafka';
import type { Declaration } from '@syncline/schema';
import type { SearchEngine } from '@syncline/search';
import { BulkWriter, ensureIndex, KafkaDeadLetterSink, SinkProcessor, sinkMetrics } from '@syncline/sink';
import Fastify from 'fastify';
import type { SinkConfig } from './config.ts';

export type Sink = Awaited<ReturnType<typeof buildSink>>;

export async function buildSink(deps: {
  /** The sink's own variables (core's sinkEnv). */
  config: Pick<SinkConfig, keyof typeof sinkEnv>;
  declaration: Declaration;
  kafka: KafkaClient;
  search: SearchEngine;
  log: Logger;
  registry: Registry;
}) {
  const { config, declaration, kafka, search, log, registry } = deps;
  const metrics = sinkMetrics(registry);
  const lag = metricsOn(registry).gauge(
    'syncline_sink_consumer_lag',
    'Events behind the end of the partition after the last settled batch',
    ['topic', 'partition'],
  );
  const writer = new BulkWriter(search, config.SYNCLINE_SINK_BULK_TIMEOUT_MS);
  const deadLetters = new KafkaDeadLetterSink(kafka);
  const limits = {
    maxDocs: config.SYNCLINE_SINK_MAX_DOCS,
    maxBytes: config.SYNCLINE_SINK_MAX_BYTES,
    retryInitialMs: config.SYNCLINE_SINK_RETRY_INITIAL_MS,
    retryMaxMs: config.SYNCLINE_SINK_RETRY_MAX_MS,
  };
  const processors = new Map(
    declaration.collections.map((collection) => [
      collection.topic,
      new SinkProcessor({
        collection,
        writer,
        deadLetters,
        limits,
        metrics,
        log: log.child({ collection: collection.name }),
      }),
    ]),
  );

  // Each consumer of the instance is a member of the group; ready once all of them joined.
  const joined = new Set<number>();
  const ready = () => joined.size === config.SYNCLINE_SINK_CONSUMERS;
  const http = Fastify();
  opsRoutes(http, { registry, readiness: async () => ({ ready: ready(), joined: joined.size }) });

  let running = false;
  const consumers: Array<GroupConsumer | undefined> = [];

  // A consumer fetches again only once all of its batches settled (both clients), so with one consumer
  // Elasticsearch idles during every fetch; with several, one indexes while another fetches.
  const launch = async (slot: number, beforeRun: () => Promise<void> = async () => {}): Promise<void> => {
    const c: GroupConsumer = kafka.consumer({
      groupId: config.SYNCLINE_SINK_GROUP,
      topics: [...processors.keys()],
      maxBytesPerPartition: config.SYNCLINE_SINK_FETCH_MAX_BYTES_PER_PARTITION,
      maxBytes: config.SYNCLINE_SINK_FETCH_MAX_BYTES,
      sessionTimeoutMs: config.SYNCLINE_SINK_SESSION_TIMEOUT_MS,
      concurrency: config.SYNCLINE_SINK_CONCURRENCY,
      onJoin: (assignment) => {
        joined.add(slot);
        log.info({ consumer: slot, assignment }, 'joined the consumer group');
      },
      onStop: () => joined.delete(slot),
      onCrash: (error, restarting) => {
        joined.delete(slot);
        log.error({ consumer: slot, err: (error as Error)?.message, restart: restarting }, 'consumer crashed');
        // A client that recovers by itself does; otherwise a new consumer takes the slot.
        if (!restarting && running) {
          setTimeout(() => {
            if (!running || consumers[slot] !== c) return;
            void c
              .stop()
              .catch(() => {})
              .then(() => (running ? launch(slot) : undefined))
              .catch((err) => log.error({ err }, 'could not restart the consumer'));
          }, 1000);
        }
      },
      eachBatch: async (batch, control) => {
        const processor = processors.get(batch.topic)!;
        const outcome = await processor.processBatch(batch.topic, batch.partition, batch.messages, control);
        if (outcome === 'abandoned') return 'abandoned';
        if (batch.messages.length === 0) return 'settled';
        const next = Number(batch.messages.at(-1)!.offset) + 1;
        try {
          await c.commit([{ topic: batch.topic, partition: batch.partition, offset: next }]);
        } catch (err) {
          // This instance no longer owns the partition: the batch is left uncommitted for the new owner
          // (duplicates are harmless), and the consumer rejoins.
          const known = classifyKafkaError(err);
          if (!isSynclineError(known, 'SYNC_PARTITION_LOST')) throw err;
          log.warn(
            { partition: batch.partition, err: known.message },
            'partition lost before the commit; the new owner repeats the batch',
          );
          return 'abandoned';
        }
        if (batch.highWatermark !== undefined) {
          lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, batch.highWatermark - next));
        }
        return 'settled';
      },
    });
    consumers[slot] = c;
    await beforeRun();
    await c.start();
  };

  return {
    http,
    ready,
    async start() {
      running = true;
      // The index and dead-letter topics are ensured while the consumers connect; then all consumers
      // join at once, so that they share the first generation instead of the later ones making the
      // first rejoin at its next heartbeat.
      const setup = (async () => {
        for (const c of declaration.collections) await ensureIndex(search, c);
        await ensureTopics(kafka, declaration.collections.map(deadLetterTopicConfig));
      })();
      const count = config.SYNCLINE_SINK_CONSUMERS;
      let arrived = 0;
      const allConnected = Promise.withResolvers<void>();
      const together = async () => {
        if (++arrived === count) allConnected.resolve();
        await Promise.all([allConnected.promise, setup]);
      };
      await Promise.all([setup, ...Array.from({ length: count }, (_, slot) => launch(slot, together))]);
    },
    async stop() {
      running = false;
      await Promise.all(consumers.map((c) => c?.stop()));
      await deadLetters.close();
      await http.close();
    },
  };
}
