#!/usr/bin/env node
import { createLogger, createMetricsRegistry, runService, startOpsServer } from '@syncline/core';
import { createKafka, ensureTopics, topicsOf } from '@syncline/kafka';
import { buildRelay, claimRelayLayout, createPool, migrate } from '@syncline/outbox';
import { loadDeclaration } from '@syncline/schema';
// Runs the outbox relay as its own process, with /healthz, /readyz (200 only while active) and /metrics.
import pg from 'pg';
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
  const kafka = createKafka({ clientId: 'syncline-relay', brokers: config.SYNCLINE_KAFKA_BROKERS });
  await ensureTopics(kafka, topicsOf(declaration.collections));
  const relay = buildRelay({
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
  const http = await startOpsServer({
    registry,
    readiness: async () => ({ ready: relay.state === 'active', state: relay.state }),
    log,
    host: config.SYNCLINE_HTTP_HOST,
    port: config.SYNCLINE_HTTP_PORT,
  });
  return {
    log,
    async stop() {
      await http.close();
      await relay.stop();
    },
  };
});
