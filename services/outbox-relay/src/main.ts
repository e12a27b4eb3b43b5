#!/usr/bin/env node
// Runs the outbox relay as its own process, with /healthz, /readyz (200 only while active) and /metrics.
import Fastify from 'fastify';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { createLogger, createMetricsRegistry, isSynclineError } from '@syncline/core';
import { claimRelayLayout, ensureTopics, migrate } from '@syncline/outbox';
import { loadDeclaration } from '@syncline/schema';
import { buildRelay } from '@syncline/write-api';
import { loadConfig } from './config.ts';

function exitAfter(n: number): () => void {
  let published = 0;
  return () => {
    if (++published >= n) process.exit(137);
  };
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger('outbox-relay', config.SYNCLINE_LOG_LEVEL);
  const declaration = loadDeclaration(config.SYNCLINE_COLLECTIONS);
  const registry = createMetricsRegistry('outbox-relay');
  const pool = new pg.Pool({ connectionString: config.SYNCLINE_PG_URL, max: 2 });
  await migrate(pool, declaration);
  await claimRelayLayout(pool, config.SYNCLINE_RELAY_SHARDS).finally(() => pool.end());
  const kafka = new Kafka({
    clientId: 'syncline-relay',
    brokers: config.SYNCLINE_KAFKA_BROKERS,
    logLevel: logLevel.WARN,
  });
  await ensureTopics(kafka, declaration);
  const relay = buildRelay({
    pgUrl: config.SYNCLINE_PG_URL,
    kafka,
    declaration,
    log,
    registry,
    compression: config.SYNCLINE_RELAY_COMPRESSION,
    shard: config.SYNCLINE_RELAY_SHARD,
    shards: config.SYNCLINE_RELAY_SHARDS,
    relayId: config.SYNCLINE_RELAY_ID,
    options: {
      batchSize: config.SYNCLINE_RELAY_BATCH_SIZE,
      batchBytes: config.SYNCLINE_RELAY_BATCH_BYTES,
      ...(config.SYNCLINE_FAULT_EXIT_AFTER_PUBLISH > 0
        ? { afterPublish: exitAfter(config.SYNCLINE_FAULT_EXIT_AFTER_PUBLISH) }
        : {}),
    },
  });
  relay.start();
  const backlog = setInterval(() => void relay.sampleBacklog().catch(() => {}), 5000);

  const http = Fastify();
  http.get('/healthz', async () => ({ status: 'ok', state: relay.state }));
  http.get('/readyz', async (_req, reply) =>
    reply.status(relay.state === 'active' ? 200 : 503).send({ state: relay.state }),
  );
  http.get('/metrics', async (_req, reply) =>
    reply.header('content-type', registry.contentType).send(await registry.metrics()),
  );
  await http.listen({ host: config.SYNCLINE_HTTP_HOST, port: config.SYNCLINE_HTTP_PORT });
  const address = http.server.address();
  log.info({ port: typeof address === 'object' ? address?.port : undefined }, 'listening');

  const stop = async () => {
    clearInterval(backlog);
    await http.close();
    await relay.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err) => {
  console.error(isSynclineError(err) ? `outbox-relay: ${err.message}` : err);
  process.exit(1);
});
