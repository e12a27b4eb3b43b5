// A pipeline in a test: the write API and its relay in-process, sinks as real child processes.
import { createLogger, createMetricsRegistry } from '@syncline/core';
import { ensureTopics, topicsOf } from '@syncline/kafka';
import { buildRelay, enableCapture, migrate, type OutboxRelay } from '@syncline/outbox';
import type { Collection, Declaration } from '@syncline/schema';
import { type Namespace, type RunningService, spawnService } from '@syncline/testkit';
import { buildApp, PipelineIndexWaiter } from '@syncline/write-api';
import type { FastifyInstance } from 'fastify';
import { DEMO_SCHEMA_SQL, namespacedDeclaration, serviceEnv } from './namespaced.ts';

export interface Harness {
  app: FastifyInstance;
  relay: OutboxRelay;
  collection: Collection;
  declarationPath: string;
  sinkEnv: Record<string, string>;
  sinks: RunningService[];
  startSink(extraEnv?: Record<string, string>): Promise<RunningService>;
  close(): Promise<void>;
}

/** The write API in-process on the suite's pool, without authentication, as scenarios use it. */
export function buildTestApp(
  ns: Namespace,
  declaration: Declaration,
  extra: Partial<Parameters<typeof buildApp>[0]> = {},
) {
  const log = createLogger('test-app', 'silent');
  return buildApp({
    config: {
      SYNCLINE_API_KEYS: [],
      SYNCLINE_BODY_LIMIT_BYTES: 1 << 20,
      SYNCLINE_BULK_MAX_OPERATIONS: 1000,
      SYNCLINE_WAIT_INDEXED_MAX_MS: 60_000,
    },
    declaration,
    pool: ns.pool,
    log,
    registry: createMetricsRegistry('test-app', false),
    ...extra,
  });
}

/**
 * capture: the demo application's own table (scripts/demo-schema.sql) with capture enabled, written
 * by the API and by plain SQL alike; otherwise a table Syncline creates and only the API writes.
 */
/** The demo declaration in the namespace, its tables (capture: the application's table, captured) and topics. */
export async function setUpDemo(ns: Namespace, { partitions = 6, capture = false } = {}) {
  const { declaration, path } = namespacedDeclaration(ns, partitions, { capture });
  await migrate(ns.pool, declaration);
  if (capture) {
    await ns.pool.query(DEMO_SCHEMA_SQL);
    await enableCapture(ns.pool, declaration.collections[0]!);
  }
  await ensureTopics(ns.kafka, topicsOf(declaration.collections));
  return { declaration, path, products: declaration.collections[0]! };
}

export async function startHarness(ns: Namespace, { partitions = 6, capture = false } = {}): Promise<Harness> {
  const { declaration, path } = await setUpDemo(ns, { partitions, capture });
  const log = createLogger('harness', 'silent');
  const registry = createMetricsRegistry('harness', false);
  const relay = buildRelay({
    pgUrl: ns.pgUrl,
    kafka: ns.kafka,
    declaration,
    log,
    registry,
    config: { SYNCLINE_RELAY_COMPRESSION: 'none', SYNCLINE_RELAY_ID: `${ns.name}-relay` },
  });
  relay.start();
  const index = new PipelineIndexWaiter({
    search: ns.search,
    pool: ns.pool,
    kafka: ns.kafka,
    sinkGroup: `${ns.groupPrefix}sink`,
  });
  const app = await buildTestApp(ns, declaration, { afterCommit: () => relay.wake(), index });
  const sinkEnv = {
    ...serviceEnv(ns, path),
    SYNCLINE_SINK_MAX_DOCS: '200',
    SYNCLINE_SINK_RETRY_MAX_MS: '2000',
    SYNCLINE_SINK_SESSION_TIMEOUT_MS: '10000',
  };
  const sinks: RunningService[] = [];
  return {
    app,
    relay,
    collection: declaration.collections[0]!,
    declarationPath: path,
    sinkEnv,
    sinks,
    async startSink(extraEnv = {}) {
      const s = await spawnService(`sink-${sinks.length}`, 'services/es-sink/src/main.ts', { ...sinkEnv, ...extraEnv });
      sinks.push(s);
      return s;
    },
    async close() {
      await Promise.all(sinks.map((s) => s.kill('SIGKILL')));
      await app.close();
      await index.close();
      await relay.stop();
    },
  };
}
