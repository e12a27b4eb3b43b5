#!/usr/bin/env node
// Starts the write service: configuration, migrations, topics, the embedded relay (optional),
// HTTP on 127.0.0.1. SIGTERM/SIGINT: stop accepting, finish in-flight requests, drain the relay.
import { createLogger, createMetricsRegistry, listen, runService } from '@syncline/core';
import { ensureTopics, kafkaFromConfig, topicsOf } from '@syncline/kafka';
import { buildRelay, captureStatus, claimRelayLayout, createPool, migrate } from '@syncline/outbox';
import { loadDeclaration } from '@syncline/schema';
import { searchFromConfig, searchSettingError, searchUnavailable } from '@syncline/search';
import pg from 'pg';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { PipelineIndexWaiter } from './index-waiter.ts';

runService('write-api', async () => {
  const config = loadConfig(process.env);
  const log = createLogger('write-api', config.SYNCLINE_LOG_LEVEL);
  const declaration = loadDeclaration(config.SYNCLINE_COLLECTIONS);
  const registry = createMetricsRegistry('write-api');
  const pool = createPool(config.SYNCLINE_PG_URL, config.SYNCLINE_PG_POOL_SIZE, 'syncline-write-api');
  await migrate(pool, declaration);
  // A captured collection's writes are refused (SYNC_CAPTURE_NOT_READY) until capture is enabled: say so now.
  for (const c of declaration.collections.filter((c) => c.capture)) {
    const client = await pool.connect();
    const s = await captureStatus(client, c).finally(() => client.release());
    if (s.problems.length)
      log.warn(
        { collection: c.name, problems: s.problems },
        `capture of ${c.table} is not ready: run syncline capture enable ${c.name}`,
      );
  }
  // The search engine serves ?wait=indexed only: writes are accepted while it is down, but a setting
  // it refuses (credentials, trust, engine) stops the start-up.
  const search = searchFromConfig(config);
  await search.check().catch((err: unknown) => {
    // Refused credentials, an untrusted certificate, the other engine: a setting to fix before serving.
    if (!searchUnavailable(err)) throw searchSettingError(err, config) ?? err;
    log.warn({ err: (err as Error).message }, 'the search engine did not answer; ?wait=indexed waits until it does');
  });

  const kafka = kafkaFromConfig(config, 'syncline-write-api');
  let relay: ReturnType<typeof buildRelay> | undefined;
  if (config.SYNCLINE_EMBEDDED_RELAY) {
    await claimRelayLayout(pool, 1);
    await ensureTopics(kafka, topicsOf(declaration.collections));
    relay = buildRelay({ pgUrl: config.SYNCLINE_PG_URL, kafka, declaration, log, registry, config });
    relay.start();
  }
  const index = new PipelineIndexWaiter({ search, pool, kafka, sinkGroup: config.SYNCLINE_SINK_GROUP });
  const app = await buildApp({ config, declaration, pool, log, registry, afterCommit: () => relay?.wake(), index });
  await listen(app, log, config.SYNCLINE_HTTP_HOST, config.SYNCLINE_HTTP_PORT);
  return {
    log,
    async stop() {
      await app.close();
      await relay?.stop();
      await index.close();
      await pool.end();
      await search.close();
    },
  };
});
