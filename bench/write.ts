// Write-path benchmark (issue 3): each Syncline figure against a baseline measured in the same run.
//   a. PUT over HTTP at concurrency 32  vs  the same transaction through pg at concurrency 32
//   b. _bulk rows/s                      vs  COPY of the same rows into the same table
//   c. relay draining 200k outbox events vs  a bare producer (same Kafka client) sending the same messages
// Usage: ./dev bench write [--seconds 10] [--events 200000] [--rounds 3] [--relay-only 1]
// (--relay-only 1: part c alone, into bench/results/relay.md; bench/clients.ts runs it per Kafka client)

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createLogger, createMetricsRegistry, RELAY_DEFAULTS } from '@syncline/core';
import { collectionTopic, ensureTopics } from '@syncline/kafka';
import { BatchEncoder, buildRelay, migrate, OutboxWriter, unpack, withTransaction } from '@syncline/outbox';
import { type Declaration, EventCodec } from '@syncline/schema';
import { type Namespace, spawnService, writeTempJson } from '@syncline/testkit';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { arg, benchDocument, benchmark, median, rate, timed, writeResult } from './common.ts';
import { LoadConnection } from './http-load.ts';

const SECONDS = arg('seconds', 10);
const EVENTS = arg('events', 200_000);
const ROUNDS = arg('rounds', 3);
const CONCURRENCY = 32;

const doc = (i: number) =>
  benchDocument(i, 'A product used by the write benchmark, with a description of moderate length.', 1_790_000_000_000);

async function forDuration(concurrency: number, seconds: number, op: (worker: number, i: number) => Promise<unknown>) {
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

/** Calls fn for every item, `workers` calls at a time, each worker taking the next item as it is free. */
async function eachInParallel<T>(workers: number, items: T[], fn: (item: T, worker: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i]!, w);
    }),
  );
}

/** c. The relay draining a pre-filled outbox versus a bare producer (same client, same records), alternating, ROUNDS times each. */
async function relayVersusBare(ns: Namespace, declaration: Declaration) {
  const c = declaration.collections[0]!;
  const codec = new EventCodec(c);
  const { kafka } = ns;
  await ensureTopics(kafka, declaration.collections.map(collectionTopic));
  // The same records (Avro, headers), encoded up front, sent by a bare idempotent producer in batches of 2000.
  const committedAt = Date.now();
  // Outbox events as the writer stores them: the document Avro-encoded, with its schema's fingerprint.
  const avroDoc = codec.encodeDocument(doc(1));
  const packed = new BatchEncoder(declaration).pack(
    Array.from({ length: EVENTS }, (_, g) => ({
      seq: g + 1,
      collection: 'products',
      aggregateId: `r-${(g + 1) % 50000}`,
      op: 'UPSERT' as const,
      version: g + 1,
      document: avroDoc,
      schema: codec.fingerprint,
      committedAt,
    })),
  );
  const messages = unpack(packed)[0]!.messages;
  const bareTopic = `${c.topic}.bare`;
  await ensureTopics(kafka, [{ topic: bareTopic, partitions: c.partitions, config: {} }]);
  // One produce request of the bare producers: records [from, to), acks=all, gzip like the relay.
  const bareRequest = (from: number, to: number) => [{ topic: bareTopic, messages: messages.slice(from, to) }];
  // Through the same port and client as the relay (SYNCLINE_KAFKA_CLIENT).
  const producer = kafka.producer({ compression: 'gzip' });
  // What atomic batches cost by themselves: the same records in transactions of TXN (the relay's
  // default batch), sent in requests of 2000 like the relay does.
  const TXN = RELAY_DEFAULTS.SYNCLINE_RELAY_BATCH_SIZE;
  const transactional = kafka.transactionalProducer({ transactionalId: `${ns.name}-bench-bare`, compression: 'gzip' });
  await transactional.connect();
  const transactionalRates: number[] = [];
  const relayRates: number[] = [];
  const bareRates: number[] = [];
  await ns.pool.query('truncate syncline_outbox');
  const fill = (events: number) =>
    ns.pool.query(
      `insert into syncline_outbox (collection, aggregate_id, op, version, document, schema)
       select 'products', 'r-' || (g % 50000), 'UPSERT', g, $1::bytea, $3 from generate_series(1, $2::int) g`,
      [avroDoc, events, codec.fingerprint],
    );
  // Like the bare producer, one relay is running and connected for all rounds (as a relay runs for
  // days): one event first; then each round commits EVENTS in one transaction (as after an outage)
  // and is timed from that commit until the relay counted the last of them removed (its own metric:
  // polling the table would load PostgreSQL).
  const registry = createMetricsRegistry('bench', false);
  const relay = buildRelay({
    pgUrl: ns.pgUrl,
    kafka,
    declaration,
    log: createLogger('bench', 'silent'),
    registry,
    config: { SYNCLINE_RELAY_COMPRESSION: 'gzip', SYNCLINE_RELAY_ID: `${ns.name}-bench-relay` },
  });
  const published = registry.getSingleMetric('syncline_relay_events_published_total')!;
  const publishedAtLeast = async (n: number) => {
    while (((await published.get()).values[0]?.value ?? 0) < n) await new Promise((r) => setTimeout(r, 5));
  };
  relay.start();
  await fill(1);
  await publishedAtLeast(1);
  for (let round = 0; round < ROUNDS; round++) {
    await fill(EVENTS);
    // As the write service does after each commit it makes, the relay is woken (else it finds the
    // backlog at its next idle poll, up to 100 ms later).
    relay.wake();
    const relayRun = await timed(() => publishedAtLeast(1 + (round + 1) * EVENTS));
    relayRates.push(rate(EVENTS, relayRun.ms));
    const bare = await timed(async () => {
      for (let i = 0; i < messages.length; i += 2000) await producer.send(bareRequest(i, i + 2000));
    });
    bareRates.push(rate(EVENTS, bare.ms));
    const atomic = await timed(async () => {
      for (let i = 0; i < messages.length; i += TXN) {
        const txn = await transactional.begin();
        for (let j = i; j < Math.min(i + TXN, messages.length); j += 2000) {
          await txn.send(bareRequest(j, Math.min(j + 2000, i + TXN)));
        }
        await txn.commit();
      }
    });
    transactionalRates.push(rate(EVENTS, atomic.ms));
  }
  await relay.stop();
  const { rows: left } = await ns.pool.query<{ n: string }>('select count(*) as n from syncline_outbox');
  if (Number(left[0]!.n) !== 0) throw new Error(`the relay left ${left[0]!.n} events in the outbox`);
  await producer.close();
  await transactional.close();
  return { relayRates, bareRates, transactionalRates, TXN };
}

const RELAY_ONLY = arg('relay-only', 0) === 1;

if (RELAY_ONLY) {
  await benchmark('benchrelay', async (ns, declaration) => {
    await migrate(ns.pool, declaration);
    const { relayRates, bareRates, transactionalRates, TXN } = await relayVersusBare(ns, declaration);
    const relayRate = median(relayRates);
    const bareRate = median(bareRates);
    writeResult(
      'relay',
      `Command: \`./dev bench write --relay-only 1 --events ${EVENTS} --rounds ${ROUNDS}\` (part c of \`./dev bench write\` alone)

| measure | Syncline | baseline (same run) | ratio |
|---|---|---|---|
| relay drains ${EVENTS} outbox events (gzip, transactions of up to ${TXN}) | ${relayRate} events/s | ${bareRate} events/s, bare idempotent producer, same messages | ${(relayRate / bareRate).toFixed(2)} |
| bare producer in transactions of ${TXN} | ${median(transactionalRates)} events/s | ${bareRate} events/s, bare idempotent producer | ${(median(transactionalRates) / bareRate).toFixed(2)} |

All rounds: relay ${relayRates.join(', ')}; bare ${bareRates.join(', ')}; in transactions ${transactionalRates.join(', ')}.`,
      { relay: relayRate, bare: bareRate, transactional: median(transactionalRates) },
    );
  });
} else {
  await benchmark('benchwrite', async (ns, declaration) => {
    const c = declaration.collections[0]!;
    const codec = new EventCodec(c);
    await migrate(ns.pool, declaration);
    const writer = new OutboxWriter(declaration);
    const pool = new pg.Pool({ connectionString: ns.pgUrl, max: CONCURRENCY });
    // One document upserted in its own transaction, straight through the outbox writer (no HTTP), the way
    // the write API does it (one statement, its own transaction).
    const upsert = (id: string, i: number) => writer.commit(pool, 'products', [{ op: 'upsert', id, document: doc(i) }]);

    const path = writeTempJson(ns.name, declaration);
    const api = await spawnService('bench-write-api', 'services/write-api/src/main.ts', {
      SYNCLINE_PG_URL: ns.pgUrl,
      SYNCLINE_COLLECTIONS: path,
      SYNCLINE_EMBEDDED_RELAY: 'false',
      SYNCLINE_PG_POOL_SIZE: String(CONCURRENCY),
      SYNCLINE_LOG_LEVEL: 'info',
      SYNCLINE_API_KEYS: '',
    });
    // One keep-alive connection per worker from a lean client (see http-load.ts): on 2 shared cores a
    // heavier client would be measured instead of the service.
    // (Opened per phase: the server closes connections idle for longer than its keep-alive timeout.)
    let connections = await Promise.all(Array.from({ length: CONCURRENCY }, () => LoadConnection.open(api.port)));
    const base = '/v1/collections/products';
    const request = async (worker: number, method: 'PUT' | 'POST', path: string, body: string) => {
      const res = await connections[worker]!.request(method, base + path, body);
      if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${res.body}`);
    };
    // a. single-document PUT; the two sides alternate, ROUNDS times each, and the medians are compared
    // (on 2 shared cores one run of each is noisy).
    const directRates: number[] = [];
    const httpRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const direct = await forDuration(CONCURRENCY, SECONDS, (w, i) => upsert(`d-${w}-${i % 500}`, i));
      directRates.push(rate(direct.count, direct.ms));
      const put = await forDuration(CONCURRENCY, SECONDS, (w, i) =>
        request(w, 'PUT', `/documents/h-${w}-${i % 500}`, JSON.stringify(doc(i))),
      );
      httpRates.push(rate(put.count, put.ms));
    }

    // d. What waking the relay with NOTIFY would cost the writers: the same direct transactions with a
    // statement trigger on the outbox that calls pg_notify (no extra round trip) and a relay-like LISTEN
    // session, alternating with plain transactions (Syncline's adaptive polling costs writers nothing).
    await ns.pool.query(`create function bench_notify() returns trigger language plpgsql as
    $$ begin perform pg_notify('syncline_outbox', ''); return null; end $$`);
    const listener = await ns.pool.connect();
    await listener.query('listen syncline_outbox');
    const plainRates: number[] = [];
    const notifyRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const notify of [false, true]) {
        if (notify) {
          await ns.pool.query(`create trigger bench_notify after insert on syncline_outbox
          for each statement execute function bench_notify()`);
        }
        const run = await forDuration(CONCURRENCY, SECONDS, (w, i) => upsert(`n-${w}-${i % 500}`, i));
        (notify ? notifyRates : plainRates).push(rate(run.count, run.ms));
        if (notify) await ns.pool.query('drop trigger bench_notify on syncline_outbox');
      }
    }
    await listener.query('unlisten *');
    listener.release();

    // b. _bulk versus COPY of the same rows, alternating, ROUNDS times each. Both sides get their input
    // built before the clock starts (request bodies; COPY text), and start after a checkpoint, so neither
    // measures the load generator nor the previous phase's WAL. A third side, COPY of the rows plus
    // COPY of their outbox events, is the least any transactional outbox has to write.
    const ROWS = 100_000;
    const BULK = 1000;
    const starts = Array.from({ length: ROWS / BULK }, (_, b) => b * BULK);
    const bodies = starts.map((start) =>
      JSON.stringify({
        operations: Array.from({ length: BULK }, (_, k) => ({
          op: 'upsert',
          id: `b-${start + k}`,
          document: doc(start + k),
        })),
      }),
    );
    const cols = ['id', ...Object.keys(c.fields), 'syncline_version'];
    const pgArray = (a: string[]) => `{${a.map((s) => `"${s}"`).join(',')}}`;
    const rowChunks = starts.map((start) =>
      Array.from({ length: BULK }, (_, k) => {
        const i = start + k;
        const d = doc(i);
        return `b-${i}\t${d.name}\t${d.description}\t${d.price}\t${pgArray(d.tags)}\t${d.in_stock}\t${d.updated_at}\t${i + 1}\n`;
      }).join(''),
    );
    const eventChunks = starts.map((start) =>
      Array.from(
        { length: BULK },
        (_, k) =>
          `products\tb-${start + k}\tUPSERT\t${start + k + 1}\t\\\\x${codec.encodeDocument(doc(start + k)).toString('hex')}\t${codec.fingerprint}\n`,
      ).join(''),
    );
    // The most favourable upsert statement an outbox design could use, as a bound for `_bulk`: typed
    // column arrays built before the clock, versions from the sequence, ONE outbox row per statement (a
    // blob standing for the whole batch of events), 4 connections; no HTTP, JSON, validation, Avro or locks.
    const boundInputs = starts.map((start) => {
      const ds = Array.from({ length: BULK }, (_, k) => doc(start + k));
      return [
        ds.map((_, k) => `b-${start + k}`),
        ds.map((d) => d.name),
        ds.map((d) => d.description),
        ds.map((d) => d.price),
        ds.map((d) => pgArray(d.tags)),
        ds.map((d) => d.in_stock),
        ds.map((d) => d.updated_at),
        Buffer.alloc(BULK * 150, 7),
      ];
    });
    const boundSql = `with input as (
      select x.*, nextval('syncline_version_seq') as v
      from unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::bool[], $7::timestamptz[])
        as x(id, name, description, price, tags, in_stock, updated_at)
    ), up as (
      insert into products (${cols.join(', ')})
      select id, name, description, price, tags::text[], in_stock, updated_at, v from input
      on conflict (id) do update set ${cols
        .slice(1)
        .map((n) => `${n} = excluded.${n}`)
        .join(', ')}
    ), events as (
      insert into syncline_outbox (collection, aggregate_id, op, version, document, schema)
      select 'products', min(id), 'UPSERT', max(v), $8, '' from input
    )
    select count(*) from input`;
    const copy = async (client: pg.ClientBase, table: string, columns: string[], chunks: string[]) =>
      pipeline(Readable.from(chunks), client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`)));
    const fresh = () => ns.pool.query('truncate products; truncate syncline_outbox; checkpoint');
    for (const connection of connections) connection.close();
    connections = await Promise.all(Array.from({ length: 4 }, () => LoadConnection.open(api.port)));
    const bulkRates: number[] = [];
    const copyRates: number[] = [];
    const floorRates: number[] = [];
    const boundRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await fresh();
      const bulk = await timed(() => eachInParallel(4, bodies, (body, w) => request(w, 'POST', '/_bulk', body)));
      bulkRates.push(rate(ROWS, bulk.ms));
      await fresh();
      const rows = await timed(() => withTransaction(pool, (client) => copy(client, 'products', cols, rowChunks)));
      copyRates.push(rate(ROWS, rows.ms));
      await fresh();
      const floor = await timed(() =>
        withTransaction(pool, async (client) => {
          await copy(client, 'products', cols, rowChunks);
          await copy(
            client,
            'syncline_outbox',
            ['collection', 'aggregate_id', 'op', 'version', 'document', 'schema'],
            eventChunks,
          );
        }),
      );
      floorRates.push(rate(ROWS, floor.ms));
      await fresh();
      const bound = await timed(() =>
        eachInParallel(4, boundInputs, (input) => withTransaction(pool, (client) => client.query(boundSql, input))),
      );
      boundRates.push(rate(ROWS, bound.ms));
    }
    for (const connection of connections) connection.close();
    await api.kill();

    const { relayRates, bareRates, transactionalRates, TXN } = await relayVersusBare(ns, declaration);
    await pool.end();

    const httpRate = median(httpRates);
    const directRate = median(directRates);
    const bulkRate = median(bulkRates);
    const copyRate = median(copyRates);
    const floorRate = median(floorRates);
    const boundRate = median(boundRates);
    const relayRate = median(relayRates);
    const bareRate = median(bareRates);
    writeResult(
      'write',
      `Command: \`./dev bench write --seconds ${SECONDS} --events ${EVENTS} --rounds ${ROUNDS}\`

| measure | Syncline | baseline (same run) | ratio | target |
|---|---|---|---|---|
| single-document PUT, concurrency ${CONCURRENCY} | ${httpRate} writes/s over HTTP | ${directRate} tx/s, same transaction through pg | ${(httpRate / directRate).toFixed(2)} | ≥ 0.80 |
| \`_bulk\` (1000 rows/request, 4 in flight), ${ROWS} rows | ${bulkRate} rows/s | ${copyRate} rows/s with COPY | ${(bulkRate / copyRate).toFixed(2)} | ≥ 0.50 |
| floor: COPY of the rows + COPY of their outbox events, one transaction | ${floorRate} rows/s | ${copyRate} rows/s with COPY | ${(floorRate / copyRate).toFixed(2)} | bound for \`_bulk\` |
| bound: typed-array upsert + versions + one outbox row per statement, 4 connections, no HTTP | ${boundRate} rows/s | ${copyRate} rows/s with COPY | ${(boundRate / copyRate).toFixed(2)} | bound for \`_bulk\` |
| writers with NOTIFY wake-ups (trigger + listener), concurrency ${CONCURRENCY} | ${median(notifyRates)} tx/s | ${median(plainRates)} tx/s without (polling) | ${(median(notifyRates) / median(plainRates)).toFixed(2)} | measured |
| relay drains ${EVENTS} outbox events (gzip, transactions of up to ${TXN}) | ${relayRate} events/s | ${bareRate} events/s, bare idempotent producer, same messages | ${(relayRate / bareRate).toFixed(2)} | ≥ 0.80 |
| bare producer in transactions of ${TXN} (what atomic batches cost) | ${median(transactionalRates)} events/s | ${bareRate} events/s, bare idempotent producer | ${(median(transactionalRates) / bareRate).toFixed(2)} | measured |

Figures are medians of ${ROUNDS} alternating rounds (each round: baseline and Syncline back to back);
all rounds: PUT ${httpRates.join(', ')} vs pg ${directRates.join(', ')}; \`_bulk\` ${bulkRates.join(', ')} vs COPY
${copyRates.join(', ')} (floor ${floorRates.join(', ')}; bound ${boundRates.join(', ')}); NOTIFY ${notifyRates.join(', ')} vs
without ${plainRates.join(', ')}; relay ${relayRates.join(', ')} vs bare
producer ${bareRates.join(', ')} (in transactions ${transactionalRates.join(', ')}). The HTTP figure includes a separate write-API process and the load
generator (a lean keep-alive HTTP/1.1 client, bench/http-load.ts) on the same 2 cores; the pg baseline runs in the benchmark process. \`_bulk\` validates and writes rows, versions and outbox events in one
transaction per request; COPY writes only the rows; the floor row writes rows and events with COPY, no HTTP, validation,
versions or upsert; the bound row is the most favourable upsert statement for an outbox (typed column arrays built
before the clock, versions from the sequence, one outbox row for the whole statement, no HTTP, JSON, validation, Avro
or locks), 4 connections like \`_bulk\`. Inputs of both sides are built before the clock starts, and each side starts after a checkpoint. The relay also reads and deletes the outbox rows; one relay runs through all rounds,
as the bare producer does (connected, one event published before the first round); each round commits the ${EVENTS} events
in one transaction and wakes the relay as the write service does after a commit, and its time runs from that commit until
the last of them is removed; the bare producer is connected before its clock starts.`,
      { relay: relayRate, bare: bareRate, put: httpRate, pg: directRate, bulk: bulkRate, bound: boundRate },
    );
  });
}
