// Write-path benchmark (issue 3): each Syncline figure against a baseline measured in the same run.
//   a. PUT over HTTP at concurrency 32  vs  the same transaction through pg at concurrency 32
//   b. _bulk rows/s                      vs  COPY of the same rows into the same table
//   c. relay draining 200k outbox events vs  a bare kafkajs producer sending the same messages
// Usage: ./dev bench write [--seconds 10] [--events 200000]
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { createLogger, createMetricsRegistry } from '@syncline/core';
import { ensureTopics, KafkaEventPublisher, migrate, OutboxRelay, OutboxWriter, PgOutboxStore } from '@syncline/outbox';
import { withNamespace } from '@syncline/schema';
import { createNamespace, spawnService, startServices, writeTempJson } from '@syncline/testkit';
import { withTransaction } from '@syncline/write-api';
import { demoDeclaration } from '../test/support/pipeline.ts';
import { rate, timed, writeResult } from './common.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 10);
const EVENTS = arg('events', 200_000);
const CONCURRENCY = 32;

const doc = (i: number) => ({
  name: `Product ${i}`,
  description: 'A product used by the write benchmark, with a description of moderate length.',
  price: i % 1000,
  tags: ['bench', `t${i % 10}`],
  in_stock: i % 2 === 0,
  updated_at: new Date(1_790_000_000_000 + i).toISOString(),
});

async function forDuration(concurrency: number, seconds: number, op: (worker: number, i: number) => Promise<void>) {
  const until = Date.now() + seconds * 1000;
  let count = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; Date.now() < until; i++) {
        await op(w, i);
        count++;
      }
    }),
  );
  return { count, ms: performance.now() - start };
}

const { services } = await startServices();
const ns = await createNamespace(services, 'benchwrite');
try {
  const declaration = withNamespace(demoDeclaration, { topicPrefix: ns.topicPrefix, indexPrefix: ns.indexPrefix });
  const c = declaration.collections[0]!;
  await migrate(ns.pool, declaration);
  const writer = new OutboxWriter(declaration);
  const pool = new (await import('pg')).default.Pool({ connectionString: ns.pgUrl, max: CONCURRENCY });

  // a. single-document PUT
  const direct = await forDuration(CONCURRENCY, SECONDS, (w, i) =>
    withTransaction(pool, (client) =>
      writer.apply(client, 'products', [{ op: 'upsert', id: `d-${w}-${i % 500}`, document: doc(i) }]),
    ).then(() => {}),
  );
  const path = writeTempJson(ns.name, declaration);
  const api = await spawnService('bench-write-api', 'services/write-api/src/main.ts', {
    SYNCLINE_PG_URL: ns.pgUrl,
    SYNCLINE_COLLECTIONS: path,
    SYNCLINE_EMBEDDED_RELAY: 'false',
    SYNCLINE_PG_POOL_SIZE: String(CONCURRENCY),
    SYNCLINE_LOG_LEVEL: 'info',
    SYNCLINE_API_KEYS: '',
  });
  const base = `http://127.0.0.1:${api.port}/v1/collections/products`;
  const http = await forDuration(CONCURRENCY, SECONDS, async (w, i) => {
    const res = await fetch(`${base}/documents/h-${w}-${i % 500}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(doc(i)),
    });
    if (!res.ok) throw new Error(`PUT answered ${res.status}`);
    await res.arrayBuffer();
  });

  // b. _bulk versus COPY, 100k rows each
  const ROWS = 100_000;
  const BULK = 1000;
  await ns.pool.query('truncate products; truncate syncline_outbox');
  const bulk = await timed(async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let start = next; start < ROWS; start = next) {
          next += BULK;
          const operations = Array.from({ length: BULK }, (_, k) => ({
            op: 'upsert',
            id: `b-${start + k}`,
            document: doc(start + k),
          }));
          const res = await fetch(`${base}/_bulk`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ operations }),
          });
          if (!res.ok) throw new Error(`_bulk answered ${res.status}: ${await res.text()}`);
          await res.arrayBuffer();
        }
      }),
    );
  });
  await api.kill();
  await ns.pool.query('truncate products; truncate syncline_outbox');
  const cols = ['id', ...Object.keys(c.fields), 'syncline_version'];
  const pgArray = (a: string[]) => `{${a.map((s) => `"${s}"`).join(',')}}`;
  const copy = await timed(async () => {
    const client = await ns.pool.connect();
    try {
      const stream = client.query(copyFrom(`copy products (${cols.join(', ')}) from stdin`));
      const lines = (function* () {
        for (let i = 0; i < ROWS; i++) {
          const d = doc(i);
          yield `b-${i}\t${d.name}\t${d.description}\t${d.price}\t${pgArray(d.tags)}\t${d.in_stock}\t${d.updated_at}\t${i + 1}\n`;
        }
      })();
      await pipeline(Readable.from(lines), stream);
    } finally {
      client.release();
    }
  });

  // c. relay draining a pre-filled outbox versus a bare producer
  await ns.pool.query('truncate syncline_outbox');
  await ns.pool.query(
    `insert into syncline_outbox (collection, aggregate_id, op, version, payload)
     select 'products', 'r-' || (g % 50000), 'UPSERT', g, $1::jsonb from generate_series(1, $2::int) g`,
    [JSON.stringify(doc(1)), EVENTS],
  );
  const kafka = new Kafka({ clientId: 'bench', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
  await ensureTopics(kafka, declaration);
  const publisher = new KafkaEventPublisher(kafka, declaration, {
    transactionalId: `${ns.name}-bench-relay`,
    compression: 'gzip',
  });
  const relay = new OutboxRelay({
    store: new PgOutboxStore(ns.pgUrl),
    publisher,
    log: createLogger('bench', 'silent'),
    registry: createMetricsRegistry('bench', false),
  });
  const relayRun = await timed(async () => {
    relay.start();
    for (;;) {
      const { rows } = await ns.pool.query<{ n: string }>('select count(*) as n from syncline_outbox');
      if (Number(rows[0]!.n) === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await relay.stop();
  });
  await publisher.close();
  // The same messages, encoded once up front, sent by a bare idempotent producer in batches of 2000.
  const encoder = new KafkaEventPublisher(kafka, declaration, { transactionalId: 'unused', compression: 'gzip' });
  const createdAt = new Date();
  const messages = Array.from(
    { length: EVENTS },
    (_, g) =>
      encoder.encode({
        seq: String(g + 1),
        collection: 'products',
        aggregateId: `r-${(g + 1) % 50000}`,
        op: 'UPSERT',
        version: g + 1,
        payload: doc(1),
        createdAt,
      }).messages[0]!,
  );
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: `${c.topic}.bare`, numPartitions: c.partitions }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const bare = await timed(async () => {
    for (let i = 0; i < messages.length; i += 2000) {
      await producer.send({
        topic: `${c.topic}.bare`,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: messages.slice(i, i + 2000),
      });
    }
  });
  await producer.disconnect();
  await pool.end();

  const httpRate = rate(http.count, http.ms);
  const directRate = rate(direct.count, direct.ms);
  const bulkRate = rate(ROWS, bulk.ms);
  const copyRate = rate(ROWS, copy.ms);
  const relayRate = rate(EVENTS, relayRun.ms);
  const bareRate = rate(EVENTS, bare.ms);
  writeResult(
    'write',
    `Command: \`./dev bench write --seconds ${SECONDS} --events ${EVENTS}\`

| measure | Syncline | baseline (same run) | ratio | target |
|---|---|---|---|---|
| single-document PUT, concurrency ${CONCURRENCY} | ${httpRate} writes/s over HTTP | ${directRate} tx/s, same transaction through pg | ${(httpRate / directRate).toFixed(2)} | ≥ 0.80 |
| \`_bulk\` (1000 rows/request, 4 in flight), ${ROWS} rows | ${bulkRate} rows/s | ${copyRate} rows/s with COPY | ${(bulkRate / copyRate).toFixed(2)} | ≥ 0.50 |
| relay drains ${EVENTS} outbox events (gzip, transactions of up to 5000) | ${relayRate} events/s | ${bareRate} events/s, bare idempotent producer, same messages | ${(relayRate / bareRate).toFixed(2)} | ≥ 0.80 |

The HTTP figure includes a separate write-API process and the load generator on the same 2 cores; the
pg baseline runs in the benchmark process. \`_bulk\` writes rows, versions and outbox events in one
transaction; COPY writes only the rows. The relay also reads and deletes the outbox rows.`,
  );
} finally {
  await ns.cleanup();
}
process.exit(0);
