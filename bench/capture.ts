// ./dev bench capture [--seconds N] [--rounds N] [--clients N]: what capture costs the application.
// pgbench runs single-row write transactions (an upsert of a random one of 100 000 rows, prepared
// statements) with 32 clients on the captured demo table and on an identical table without capture,
// alternating, in the same run; the ratio of their transactions per second is the figure. Two
// settings: the triggers alone (nothing publishing meanwhile), and with the relay publishing the
// captured changes to Kafka at the same time on the same machine.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createLogger, createMetricsRegistry } from '@syncline/core';
import { ensureTopics, topicsOf } from '@syncline/kafka';
import { buildRelay, enableCapture, migrate } from '@syncline/outbox';
import type { Namespace } from '@syncline/testkit';
import { DEMO_SCHEMA_SQL } from '../test/support/namespaced.ts';
import { arg, benchmark, median, writeResult } from './common.ts';
import { type VersusResult, versusDebezium } from './versus-debezium.ts';

const run = promisify(execFile);
const SECONDS = arg('seconds', 10);
const ROUNDS = arg('rounds', 3);
const CLIENTS = arg('clients', 32);
const ROWS = 100_000;

const script = (table: string) => `\\set id random(1, ${ROWS})
INSERT INTO ${table} (id, name, price, updated_at) VALUES ('b-' || :id, 'bench', :id, now())
  ON CONFLICT (id) DO UPDATE SET price = ${table}.price + 1, updated_at = now();
`;

async function pgbench(ns: Namespace, table: string): Promise<number> {
  const file = `/tmp/syncline-bench-${table}-${process.pid}.sql`;
  writeFileSync(file, script(table));
  const url = new URL(ns.services.pgUrl);
  const { stdout } = await run(
    'pgbench',
    ['-h', url.hostname, '-p', url.port || '5432', '-U', url.username || 'postgres', '-n', '-M', 'prepared'].concat([
      '-c',
      String(CLIENTS),
      '-j',
      '2',
      '-T',
      String(SECONDS),
      '-f',
      file,
      url.pathname.slice(1),
    ]),
    { env: { ...process.env, PGOPTIONS: `-c search_path=${ns.name}` } },
  );
  const tps = /tps = ([\d.]+)/.exec(stdout);
  if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return Math.round(Number(tps[1]));
}

await benchmark('capture', async (ns, base) => {
  const declaration = { collections: base.collections.map((c) => ({ ...c, capture: true })) };
  const products = declaration.collections[0]!;
  await migrate(ns.pool, declaration);
  await ns.pool.query(DEMO_SCHEMA_SQL);
  await ns.pool.query('create table products_plain (like products including all)');
  for (const t of ['products', 'products_plain']) {
    await ns.pool.query(
      `insert into ${t} (id, name, price) select 'b-' || g, 'seed', g from generate_series(1, ${ROWS}) g`,
    );
  }
  await enableCapture(ns.pool, products);
  await ns.pool.query('vacuum analyze');
  await ensureTopics(ns.kafka, topicsOf(declaration.collections));

  const settings: { name: string; captured: number[]; plain: number[] }[] = [];
  for (const publishing of [false, true]) {
    const relay = publishing
      ? buildRelay({
          pgUrl: ns.pgUrl,
          kafka: ns.kafka,
          declaration,
          log: createLogger('bench', 'silent'),
          registry: createMetricsRegistry('bench', false),
          config: { SYNCLINE_RELAY_ID: `${ns.name}-relay` },
        })
      : undefined;
    relay?.start();
    const s = {
      name: publishing ? 'relay publishing meanwhile' : 'triggers alone',
      captured: [] as number[],
      plain: [] as number[],
    };
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first, so drift of the machine over a round weighs on both alike.
      const order = r % 2 === 0 ? ['products', 'products_plain'] : ['products_plain', 'products'];
      for (const table of order) {
        if (!publishing) await ns.pool.query('truncate syncline_outbox');
        const tps = await pgbench(ns, table);
        (table === 'products' ? s.captured : s.plain).push(tps);
        console.log(`${s.name}, round ${r + 1}: ${table} ${tps.toFixed(0)} tx/s`);
      }
    }
    await relay?.stop();
    settings.push(s);
  }

  const versus: VersusResult | undefined = process.argv.includes('--no-debezium')
    ? undefined
    : await versusDebezium(ns.kafkajs, ns.kafka, base);

  const rows = settings.map((s) => {
    const ratio = median(s.captured) / median(s.plain);
    return `| ${s.name} | ${median(s.captured)} | ${median(s.plain)} | **${ratio.toFixed(2)}** | ${s.captured.map((v) => v.toFixed(0)).join(', ')} / ${s.plain.map((v) => v.toFixed(0)).join(', ')} |`;
  });
  writeResult(
    'capture',
    `pgbench, ${CLIENTS} clients, ${SECONDS} s per round, ${ROUNDS} alternating rounds, prepared statements; each
transaction upserts one random row of ${ROWS} (INSERT … ON CONFLICT DO UPDATE). "captured": the demo table with
\`syncline capture enable\` (its AFTER ROW trigger versions the change and appends the row image to the outbox in the
same transaction); "plain": an identical table without capture. Target: captured ÷ plain ≥ 0.8.

| setting | captured tx/s (median) | plain tx/s (median) | captured ÷ plain | rounds (captured / plain) |
|---|---|---|---|---|
${rows.join('\n')}

${versus ? debeziumSection(versus) : ''}
Command: \`./dev bench capture --seconds ${SECONDS} --rounds ${ROUNDS} --clients ${CLIENTS}\`.`,
  );
});

function debeziumSection(v: VersusResult): string {
  const lat = v.latency
    .map((l) => `| ${l.tool} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} | ${l.samples} |`)
    .join('\n');
  const [syncline, debezium] = v.latency;
  return `
## Side by side with the Debezium PostgreSQL connector

Debezium 3.6.1.Final (pgoutput, \`poll.interval.ms=100\`, otherwise defaults) on Kafka Connect 3.9.2 standalone, and
Syncline's capture, on the same table of the benchmark's own PostgreSQL 15 cluster with \`wal_level=logical\`
(port 5433, \`bench/debezium.sh\`), into the same broker.

Throughput: ${v.changes} row changes committed while neither ran, then each started and timed until all were in Kafka.

| | events/s |
|---|---|
| Syncline (relay started → outbox empty) | ${v.synclineEventsPerSecond} |
| Debezium (Kafka Connect started → all records in the topic; start-up ${v.debeziumStartupMs} ms) | ${v.debeziumEventsPerSecond} |
| Debezium, from the connector RUNNING | ${v.debeziumEventsPerSecondRunning} |
| **Syncline ÷ Debezium** (target ≥ 1.0) | **${(v.synclineEventsPerSecond / v.debeziumEventsPerSecondRunning).toFixed(2)}** (against the RUNNING figure) |

Latency at a steady ${v.rate} transactions/s for ${v.seconds} s, both running: COMMIT returned → record seen by a
read_committed consumer, exact samples (ms). Target: Syncline's p99 lower than Debezium's.

| tool | p50 | p90 | p99 | max | samples |
|---|---|---|---|---|---|
${lat}

p99 Syncline ÷ Debezium: **${(syncline!.p99 / debezium!.p99).toFixed(2)}**
`;
}
