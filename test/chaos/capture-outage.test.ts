// A long outage with capture (issue "Sync the tables an application already writes"): Kafka is down
// while the application commits 1 000 000 changes to its table with plain SQL. PostgreSQL keeps
// exactly the unpublished changes (the outbox: its size is bounded by what was written, as
// docs/guarantees.md promises), the relay's syncline_outbox_backlog shows them, and once Kafka is
// back everything drains: the outbox is empty and Elasticsearch equals the table.

import {
  createNamespace,
  eventually,
  type Namespace,
  type RunningService,
  spawnService,
  startStack,
  stopService,
} from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compareEsWithPg } from '../support/compare.ts';
import { setUpDemo } from '../support/harness.ts';
import { serviceEnv } from '../support/namespaced.ts';

const services = inject('services');
const ROWS = 100_000;
const CHANGES = 1_000_000;
/** The promise in docs/guarantees.md: an unpublished change of the demo row takes at most this much of the outbox. */
const OUTBOX_BYTES_PER_CHANGE = 450;

const backlogMetric = async (relay: RunningService) => {
  const text = await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text();
  return Number(/^syncline_outbox_backlog(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? Number.NaN);
};

describe.runIf(services.mode === 'local')('capture through a long Kafka outage', () => {
  let ns: Namespace;
  const processes: RunningService[] = [];
  beforeAll(async () => {
    ns = await createNamespace(services, 'captureout');
  });
  afterAll(async () => {
    await startStack();
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await ns?.cleanup();
  });

  it('keeps 1 000 000 changes in a bounded outbox, shows the backlog, and drains them all', async () => {
    const { path, products } = await setUpDemo(ns, { partitions: 3, capture: true });
    const env = serviceEnv(ns, path);
    const relay = await spawnService('outage-relay', 'services/outbox-relay/src/main.ts', env);
    processes.push(relay);
    processes.push(await spawnService('outage-sink', 'services/es-sink/src/main.ts', env));

    const t0 = Date.now();
    const at = (what: string) =>
      console.log(`capture outage: ${what} after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    await stopService('kafka');
    const sizeBefore = Number((await ns.pool.query(`select pg_total_relation_size('syncline_outbox') as n`)).rows[0].n);
    // 100 000 inserts, then 9 rounds of updating every row: 1 000 000 captured changes.
    await ns.pool.query(
      `insert into products (id, name, description, price, tags, in_stock)
       select 'o-' || g, 'Product ' || g, 'outage', g, '{a,b}', true from generate_series(1, ${ROWS}) g`,
    );
    for (let round = 1; round < CHANGES / ROWS; round++) {
      await ns.pool.query('update products set price = price + 1, updated_at = now()');
    }
    const { rows } = await ns.pool.query<{ n: string; bytes: string }>(
      `select count(*) as n, pg_total_relation_size('syncline_outbox') as bytes from syncline_outbox`,
    );
    expect(Number(rows[0]!.n)).toBe(CHANGES);
    at('1 000 000 changes committed');
    const perChange = (Number(rows[0]!.bytes) - sizeBefore) / CHANGES;
    expect(perChange).toBeLessThan(OUTBOX_BYTES_PER_CHANGE);
    await eventually(async () => expect(await backlogMetric(relay)).toBeGreaterThan(CHANGES * 0.9), {
      timeoutMs: 30_000,
    });

    await startStack();
    at('Kafka back');
    await eventually(
      async () => {
        const { rows } = await ns.pool.query<{ n: string }>('select count(*) as n from syncline_outbox');
        expect(Number(rows[0]!.n)).toBe(0);
      },
      { timeoutMs: 300_000, intervalMs: 2000 },
    );
    at('outbox drained');
    await eventually(async () => expect(await backlogMetric(relay)).toBe(0), { timeoutMs: 30_000 });
    await eventually(
      async () => {
        const { count } = await ns.es.count({ index: products.index.alias });
        expect(count).toBe(ROWS);
        const drift = await compareEsWithPg(ns.probe, ns.pool, products);
        expect([drift.missing, drift.orphaned, drift.different]).toEqual([[], [], []]);
      },
      { timeoutMs: 300_000, intervalMs: 3000 },
    );
    console.log(
      `capture outage: ${CHANGES} changes held in the outbox at ${perChange.toFixed(0)} bytes each, all drained`,
    );
  }, 900_000);
});
