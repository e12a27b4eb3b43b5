#!/usr/bin/env node
// Starts one sink instance; run more with the same SYNCLINE_SINK_GROUP to scale out.
import { Client as EsClient } from '@elastic/elasticsearch';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger, createMetricsRegistry, isSynclineError } from '@syncline/core';
import { loadDeclaration } from '@syncline/schema';
import { buildSink } from './app.ts';
import { loadConfig } from './config.ts';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger('es-sink', config.SYNCLINE_LOG_LEVEL);
  const declaration = loadDeclaration(config.SYNCLINE_COLLECTIONS);
  const registry = createMetricsRegistry('es-sink');
  const kafka = new Kafka({
    clientId: 'syncline-es-sink',
    brokers: config.SYNCLINE_KAFKA_BROKERS,
    logLevel: logLevel.WARN,
  });
  const es = new EsClient({ node: config.SYNCLINE_ES_URL });
  const sink = await buildSink({ config, declaration, kafka, es, log, registry });
  await sink.start();
  await sink.http.listen({ host: config.SYNCLINE_HTTP_HOST, port: config.SYNCLINE_HTTP_PORT });
  const address = sink.http.server.address();
  log.info({ port: typeof address === 'object' ? address?.port : undefined }, 'listening');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down: finishing or abandoning in-flight batches');
    await sink.stop();
    await es.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err) => {
  console.error(isSynclineError(err) ? `es-sink: ${err.message}` : err);
  process.exit(1);
});
