// The capture benchmark's side-by-side with the Debezium PostgreSQL connector (3.6.1, pgoutput, Kafka
// Connect standalone of the broker's version; bench/debezium.sh provisions and runs it). Both capture
// the same table of the benchmark's own PostgreSQL cluster with wal_level=logical (port 5433): the
// rows change once, each tool publishes them to the same broker.
// (1) Throughput: 200 000 row changes committed while neither runs; then each is started and timed
//     until all of them are in Kafka (Debezium from its slot, Syncline from its outbox).
// (2) Latency: a steady 300 transactions/s for 30 s, both running; commit (COMMIT returned) → record
//     seen by a read_committed consumer, per transaction, for each tool.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createLogger, createMetricsRegistry } from '@syncline/core';
import { ensureTopics, type KafkaClient, topicsOf } from '@syncline/kafka';
import { buildRelay, createPool, enableCapture, migrate } from '@syncline/outbox';
import { type Declaration, EventCodec } from '@syncline/schema';
import { REPO_ROOT } from '@syncline/testkit';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { DEMO_SCHEMA_SQL } from '../test/support/namespaced.ts';
import { latencySummary } from './common.ts';

const run = promisify(execFile);
const dbz = (...args: string[]) =>
  run('bash', [`${REPO_ROOT}bench/debezium.sh`, ...args], { maxBuffer: 1 << 24 }).then((r) => r.stdout);
const BENCH_PG = 'postgres://postgres@127.0.0.1:5433/bench';

export interface VersusResult {
  changes: number;
  synclineEventsPerSecond: number;
  debeziumEventsPerSecond: number;
  /** From the connector RUNNING on (Kafka Connect's start-up left out). */
  debeziumEventsPerSecondRunning: number;
  debeziumStartupMs: number;
  latency: { tool: string; p50: number; p90: number; p99: number; max: number; samples: number }[];
  rate: number;
  seconds: number;
}

async function topicCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function versusDebezium(
  kafka: Kafka,
  client: KafkaClient,
  base: Declaration,
  { changes = 200_000, rate = 300, seconds = 30 } = {},
): Promise<VersusResult> {
  await dbz('pg-up');
  await dbz('provision');
  const schema = `cap_${process.pid}`;
  const name = `dbz-bench-${process.pid}`;
  const slot = `dbz_${process.pid}`;
  const url = new URL(BENCH_PG);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const admin = createPool(BENCH_PG, 2);
  await admin.query(`create schema ${schema}`);
  const pool = createPool(url.toString(), 4);
  const declaration = { collections: base.collections.map((c) => ({ ...c, capture: true })) };
  const products = declaration.collections[0]!;
  const dbzTopic = `dbz.bench.${schema}.products`;
  const props = `${REPO_ROOT}.stack/debezium/${name}.properties`;
  writeFileSync(
    props,
    [
      `name=${name}`,
      'connector.class=io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max=1',
      'database.hostname=127.0.0.1',
      'database.port=5433',
      'database.user=postgres',
      'database.password=',
      'database.dbname=bench',
      'plugin.name=pgoutput',
      `slot.name=${slot}`,
      `publication.name=${slot}`,
      'publication.autocreate.mode=filtered',
      `table.include.list=${schema}.products`,
      'topic.prefix=dbz.bench',
      'topic.creation.default.replication.factor=1',
      'topic.creation.default.partitions=1',
      'snapshot.mode=no_data',
      'poll.interval.ms=100',
      'tombstones.on.delete=false',
    ].join('\n'),
  );
  const relay = buildRelay({
    pgUrl: url.toString(),
    kafka: client,
    declaration,
    log: createLogger('bench', 'silent'),
    registry: createMetricsRegistry('bench', false),
    config: { SYNCLINE_RELAY_ID: `${products.topic}-relay` },
  });
  try {
    await migrate(pool, declaration);
    await pool.query(DEMO_SCHEMA_SQL);
    await enableCapture(pool, products);
    await ensureTopics(client, topicsOf(declaration.collections));
    // The connector creates its slot and publication, then stops: the slot keeps what follows.
    await dbz('connect-up', props);
    await dbz('connect-down');

    for (let i = 0; i < changes; i += 10_000) {
      await pool.query(
        `insert into products (id, name, price) select 'b-' || g, 'Product ' || g, g from generate_series($1::int, $2::int) g`,
        [i + 1, Math.min(changes, i + 10_000)],
      );
    }
    const t0 = performance.now();
    await dbz('connect-up', props);
    const running = performance.now();
    await until(async () => (await topicCount(kafka, dbzTopic)) >= changes, 600_000, 'Debezium');
    const debeziumMs = performance.now() - t0;
    const s0 = performance.now();
    relay.start();
    await until(
      async () => Number((await pool.query('select count(*) as n from syncline_outbox')).rows[0].n) === 0,
      600_000,
      'the relay',
    );
    const synclineMs = performance.now() - s0;

    // Latency, both running.
    const committedAt = new Map<string, number>();
    const seen = { syncline: new Map<string, number>(), debezium: new Map<string, number>() };
    const codec = new EventCodec(products);
    const consumers = await Promise.all(
      [
        { tool: 'syncline' as const, topic: products.topic },
        { tool: 'debezium' as const, topic: dbzTopic },
      ].map(async ({ tool, topic }) => {
        const consumer = kafka.consumer({ groupId: `${name}-${tool}`, readUncommitted: false });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: false });
        let joined = false;
        consumer.on(consumer.events.GROUP_JOIN, () => {
          joined = true;
        });
        await consumer.run({
          eachMessage: async ({ message }) => {
            if (!message.value) return;
            const at = performance.now();
            const doc =
              tool === 'syncline'
                ? (codec.decode(message.value).document as { name?: string } | null)
                : (() => {
                    const v = JSON.parse(message.value.toString());
                    return (v.payload ?? v).after as { name?: string } | null;
                  })();
            if (doc?.name?.startsWith('lat-')) seen[tool].set(doc.name, at);
          },
        });
        await until(async () => joined, 60_000, `${tool} consumer to join`);
        return consumer;
      }),
    );
    await new Promise((r) => setTimeout(r, 3000));
    const writer = new pg.Client({ connectionString: url.toString() });
    await writer.connect();
    const total = rate * seconds;
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const marker = `lat-${i}`;
      await writer.query('update products set name = $1 where id = $2', [marker, `b-${1 + ((i * 7919) % changes)}`]);
      committedAt.set(marker, performance.now());
    }
    await writer.end();
    await until(
      async () => seen.syncline.size >= total && seen.debezium.size >= total,
      60_000,
      'every latency sample',
    ).catch(() => {});
    await Promise.all(consumers.map((c) => c.disconnect()));
    const latency = (['syncline', 'debezium'] as const).map((tool) => ({
      tool,
      ...latencySummary([...committedAt].filter(([m]) => seen[tool].has(m)).map(([m, t]) => seen[tool].get(m)! - t)),
    }));
    return {
      changes,
      synclineEventsPerSecond: Math.round((changes * 1000) / synclineMs),
      debeziumEventsPerSecond: Math.round((changes * 1000) / debeziumMs),
      debeziumEventsPerSecondRunning: Math.round((changes * 1000) / (debeziumMs - (running - t0))),
      debeziumStartupMs: Math.round(running - t0),
      latency,
      rate,
      seconds,
    };
  } finally {
    await relay.stop().catch(() => {});
    await dbz('connect-down').catch(() => {});
    await admin
      .query('select pg_drop_replication_slot($1) from pg_replication_slots where slot_name = $1', [slot])
      .catch(() => {});
    await admin.query(`drop publication if exists ${slot}`).catch(() => {});
    await pool.end();
    await admin.query(`drop schema ${schema} cascade`).catch(() => {});
    await admin.end();
    const a = kafka.admin();
    await a.connect();
    await a.deleteTopics({ topics: [dbzTopic] }).catch(() => {});
    await a.disconnect();
  }
}
