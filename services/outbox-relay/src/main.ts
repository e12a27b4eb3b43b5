#!/usr/bin/env node
// Runs the outbox relay as its own process, with /healthz, /readyz (200 only while active) and /metrics.
import { createLogger, createMetricsRegistry, retry, runService, startOpsServer } from '@syncline/core';
import { classifyKafkaError, ensureTopics, kafkaFromConfig, topicsOf } from '@syncline/kafka';
import { buildRelay, claimRelayLayout, createPool, migrate } from '@syncline/outbox';
import { loadDeclaration } from '@syncline/schema';
import { loadConfig } from './config.ts';

function exitAfter(n: number): () => void {
  let published = 0;
  return () => {
    if (++published >= n) process.exit(137);
  };
}

runService('outbox-relay', async () => {
  const config = loadConfig(process.env);
  const log = createLogger('outbox-relay', config.SYNCLINE_LOG_LEVEL);
  const declaration = loadDeclaration(config.SYNCLINE_COLLECTIONS);
  const registry = createMetricsRegistry('outbox-relay');
  const pool = createPool(config.SYNCLINE_PG_URL, 2);
  await migrate(pool, declaration);
  await claimRelayLayout(pool, config.SYNCLINE_RELAY_SHARDS).finally(() => pool.end());
  const kafka = kafkaFromConfig(config, 'syncline-relay');
  let relay: ReturnType<typeof buildRelay> | undefined;
  const http = await startOpsServer({
    registry,
    readiness: async () => ({ ready: relay?.state === 'active', state: relay?.state ?? 'starting' }),
    log,
    host: config.SYNCLINE_HTTP_HOST,
    port: config.SYNCLINE_HTTP_PORT,
  });
  // Started while Kafka is down (a restart during an outage), it waits for Kafka instead of exiting.
  await retry(() => ensureTopics(kafka, topicsOf(declaration.collections)), {
    backoff: { initialMs: 200, maxMs: 5000 },
    classifiers: [classifyKafkaError],
    onRetry: (err, attempt) => log.warn({ err: err.message, attempt }, 'Kafka is not reachable yet; retrying'),
  });
  relay = buildRelay({
    pgUrl: config.SYNCLINE_PG_URL,
    kafka,
    declaration,
    log,
    registry,
    config,
    shard: { index: config.SYNCLINE_RELAY_SHARD, count: config.SYNCLINE_RELAY_SHARDS },
    ...(config.SYNCLINE_FAULT_EXIT_AFTER_PUBLISH > 0
      ? { afterPublish: exitAfter(config.SYNCLINE_FAULT_EXIT_AFTER_PUBLISH) }
      : {}),
  });
  relay.start();
  return {
    log,
    async stop() {
      await http.close();
      await relay?.stop();
    },
  };
});
