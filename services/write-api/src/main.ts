#!/usr/bin/env node
// Starts the write service: configuration, migrations, topics, the embedded relay (optional),
// HTTP on 127.0.0.1. SIGTERM/SIGINT: stop accepting, finish in-flight requests, drain the relay.
import { Client as EsClient } from '@elastic/elasticsearch';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { createLogger, createMetricsRegistry, isSynclineError } from '@syncline/core';
import { claimRelayLayout, ensureTopics, migrate } from '@syncline/outbox';
import { loadDeclaration } from '@syncline/schema';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { EsIndexedVersionReader } from './es-indexed-version.ts';
import { buildRelay } from './relay.ts';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger('write-api', config.SYNCLINE_LOG_LEVEL);
  const declaration = loadDeclaration(config.SYNCLINE_COLLECTIONS);
  const registry = createMetricsRegistry('write-api');
  const pool = new pg.Pool({ connectionString: config.SYNCLINE_PG_URL, max: config.SYNCLINE_PG_POOL_SIZE });
  await migrate(pool, declaration);
  const kafka = new Kafka({
    clientId: 'syncline-write-api',
    brokers: config.SYNCLINE_KAFKA_BROKERS,
    logLevel: logLevel.WARN,
  });
  const es = new EsClient({ node: config.SYNCLINE_ES_URL });

  let relay: ReturnType<typeof buildRelay> | undefined;
  if (config.SYNCLINE_EMBEDDED_RELAY) {
    await claimRelayLayout(pool, 1);
    await ensureTopics(kafka, declaration);
    relay = buildRelay({
      pgUrl: config.SYNCLINE_PG_URL,
      kafka,
      declaration,
      log,
      registry,
      compression: config.SYNCLINE_RELAY_COMPRESSION,
    });
    relay.start();
  }
  const app = await buildApp({
    config,
    declaration,
    pool,
    log,
    registry,
    afterCommit: () => relay?.wake(),
    index: new EsIndexedVersionReader(es),
  });
  await app.listen({ host: config.SYNCLINE_HTTP_HOST, port: config.SYNCLINE_HTTP_PORT });
  const address = app.server.address();
  log.info({ port: typeof address === 'object' ? address?.port : undefined }, 'listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await app.close();
    await relay?.stop();
    await pool.end();
    await es.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(isSynclineError(err) ? `write-api: ${err.message}` : err);
  process.exit(1);
});
