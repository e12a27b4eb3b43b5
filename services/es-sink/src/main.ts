#!/usr/bin/env node
// Starts one sink instance; run more with the same SYNCLINE_SINK_GROUP to scale out. SIGTERM/SIGINT:
// finish or abandon in-flight batches, leave the group.
import { createLogger, createMetricsRegistry, listen, runService } from '@syncline/core';
import { kafkaFromConfig } from '@syncline/kafka';
import { loadDeclaration } from '@syncline/schema';
import { checkSearch, searchFromConfig } from '@syncline/search';
import { buildSink } from './app.ts';
import { loadConfig } from './config.ts';

runService('es-sink', async () => {
  const config = loadConfig(process.env);
  const log = createLogger('es-sink', config.SYNCLINE_LOG_LEVEL);
  const declaration = loadDeclaration(config.SYNCLINE_COLLECTIONS);
  const registry = createMetricsRegistry('es-sink');
  const kafka = kafkaFromConfig(config, 'syncline-es-sink');
  const search = searchFromConfig(config);
  const engine = await checkSearch(search, config);
  log.info({ engine }, 'search engine answered');
  const sink = await buildSink({ config, declaration, kafka, search, log, registry });
  await sink.start();
  await listen(sink.http, log, config.SYNCLINE_HTTP_HOST, config.SYNCLINE_HTTP_PORT);
  return {
    log,
    async stop() {
      await sink.stop();
      await search.close();
    },
  };
});
