// Capture under load and faults (issue "Sync the tables an application already writes"): 16 clients
// of the pg driver — outside Syncline's code — write 5 hot rows of the application's table with
// INSERT, UPDATE and DELETE in READ COMMITTED, REPEATABLE READ and SERIALIZABLE transactions, some
// of them long and committing after later ones, while the write API writes the same rows. Meanwhile
// the active relay is SIGKILLed 3 times, PostgreSQL is restarted, Kafka is stopped for 30 s and a
// column is added. Once idle: every committed change is in Kafka exactly once per version, no id's
// version ever goes back, and Elasticsearch equals PostgreSQL (ids, fields, versions).

import { OutboxWriter, withTransaction } from '@syncline/outbox';
import { EventCodec, SCHEMA_HEADER } from '@syncline/schema';
import {
  createNamespace,
  eventually,
  type Namespace,
  type RunningService,
  readTopic,
  restartPostgres,
  spawnService,
  startStack,
  stopService,
} from '@syncline/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compareEsWithPg, versionsNeverGoBack } from '../support/compare.ts';
import { buildTestApp, setUpDemo } from '../support/harness.ts';
import { serviceEnv } from '../support/namespaced.ts';

const services = inject('services');
const HOT = ['h-1', 'h-2', 'h-3', 'h-4', 'h-5'];
const LEVELS = ['read committed', 'repeatable read', 'serializable'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(services.mode === 'local')(
  'capture under load, relay kills, a PostgreSQL restart and a Kafka outage',
  () => {
    let ns: Namespace;
    const processes: RunningService[] = [];
    beforeAll(async () => {
      ns = await createNamespace(services, 'captureload');
    });
    afterAll(async () => {
      await startStack();
      await Promise.all(processes.map((p) => p.kill('SIGKILL')));
      await ns?.cleanup();
    });

    it('loses nothing and never goes back', async () => {
      const { declaration, path, products } = await setUpDemo(ns, { partitions: 3, capture: true });
      const env = { ...serviceEnv(ns, path), SYNCLINE_RELAY_BATCH_SIZE: '50' };
      const relays: RunningService[] = [];
      const startRelay = async (n: number) => {
        relays[n] = await spawnService(`capture-relay-${n}`, 'services/outbox-relay/src/main.ts', env);
        processes.push(relays[n]);
      };
      await Promise.all([startRelay(0), startRelay(1)]);
      processes.push(await spawnService('capture-sink', 'services/es-sink/src/main.ts', env));
      const app = await buildTestApp(ns, declaration);

      // Row changes whose commit succeeded, and commits whose outcome is unknown (the connection was cut).
      let committed = 0;
      let unknown = 0;
      let serialization = 0;
      let deadlocks = 0;
      let writing = true;
      const direct = async (w: number) => {
        let client: pg.Client | undefined;
        for (let i = 0; writing; i++) {
          try {
            if (!client) {
              client = new pg.Client({ connectionString: ns.pgUrl });
              client.on('error', () => {});
              await client.connect();
            }
            const id = HOT[(w + i) % HOT.length]!;
            const level = LEVELS[(w + i) % LEVELS.length]!;
            const long = (w + i) % 7 === 0;
            await client.query(`begin isolation level ${level}`);
            let changed = 0;
            const roll = (w * 31 + i * 17) % 10;
            if (roll < 4) {
              const r = await client.query(
                `insert into products (id, name, price, tags, updated_at) values ($1, $2, $3, $4, now())
               on conflict (id) do update set name = excluded.name, price = excluded.price, tags = excluded.tags`,
                [id, `direct ${w}.${i}`, i, [`w${w}`]],
              );
              changed += r.rowCount ?? 0;
            } else if (roll < 8) {
              const r = await client.query(
                'update products set price = price + 1, in_stock = not coalesce(in_stock, false) where id = $1',
                [id],
              );
              changed += r.rowCount ?? 0;
            } else {
              const r = await client.query('delete from products where id = $1', [id]);
              changed += r.rowCount ?? 0;
            }
            // A long transaction commits after later ones of other writers.
            if (long) await sleep(200 + (i % 5) * 100);
            try {
              await client.query('commit');
              committed += changed;
            } catch (err) {
              if ((err as { code?: string }).code === undefined) unknown += changed;
              throw err;
            }
          } catch (err) {
            const code = (err as { code?: string }).code;
            // Serialization failures are the application's to retry (REPEATABLE READ and SERIALIZABLE on
            // hot rows). A deadlock cannot come from these one-row transactions themselves: it would be
            // capture's locks, so none is allowed.
            if (code === '40001') serialization++;
            else if (code === '40P01') deadlocks++;
            else {
              await client?.end().catch(() => {});
              client = undefined;
              await sleep(100);
            }
            await client?.query('rollback').catch(() => {});
          }
        }
        await client?.end().catch(() => {});
      };
      let apiWrites = 0;
      const api = async (w: number) => {
        for (let i = 0; writing; i++) {
          const id = HOT[(w * 2 + i) % HOT.length]!;
          const res =
            i % 5 === 4
              ? await app.inject({ method: 'DELETE', url: `/v1/collections/products/documents/${id}` })
              : await app.inject({
                  method: 'PUT',
                  url: `/v1/collections/products/documents/${id}`,
                  payload: { name: `api ${w}.${i}`, price: i, tags: ['api'] },
                });
          if (res.statusCode < 300) {
            apiWrites++;
            committed++;
          }
          await sleep(5);
        }
      };
      // Re-emits (what backfill, reconcile --repair and dlq replay do) of the same rows, meanwhile.
      let reemitted = 0;
      const writer = new OutboxWriter(declaration);
      const reemit = async () => {
        while (writing) {
          try {
            const results = await withTransaction(ns.pool, (client) => writer.recordChange(client, 'products', HOT));
            reemitted += results.length;
          } catch (err) {
            // A restart of PostgreSQL cuts the transaction: nothing was emitted.
            if ((err as { code?: string }).code === '40P01') deadlocks++;
          }
          await sleep(100);
        }
      };
      const load = [...Array.from({ length: 16 }, (_, w) => direct(w)), api(0), api(1), reemit()];

      const activeRelay = async () =>
        eventually(
          async () => {
            const { rows } = await ns.pool.query<{ app: string }>(
              `select a.application_name as app from pg_locks l join pg_stat_activity a on a.pid = l.pid
           where l.locktype = 'advisory' and l.granted and a.application_name like 'syncline-relay:%'`,
            );
            const pids = new Set(relays.map((r) => r.pid));
            const pid = rows.map((r) => Number(r.app.split(':')[1])).find((p) => pids.has(p));
            expect(pid).toBeDefined();
            return relays.findIndex((r) => r.pid === pid);
          },
          { timeoutMs: 60_000 },
        );
      const killActive = async () => {
        const n = await activeRelay();
        await relays[n]!.kill('SIGKILL');
        await startRelay(n);
      };

      await sleep(4000);
      await killActive();
      await sleep(3000);
      await restartPostgres(services.pgUrl);
      await sleep(3000);
      await ns.pool.query('alter table products add column color text');
      await killActive();
      await stopService('kafka');
      await sleep(15_000);
      await killActive();
      await sleep(15_000);
      await startStack();
      await sleep(4000);
      writing = false;
      await Promise.all(load);
      expect(apiWrites).toBeGreaterThan(50);
      expect(deadlocks).toBe(0);
      expect(committed).toBeGreaterThan(500);

      await eventually(
        async () => {
          const { rows } = await ns.pool.query<{ n: string }>('select count(*) as n from syncline_outbox');
          expect(Number(rows[0]!.n)).toBe(0);
        },
        { timeoutMs: 120_000 },
      );
      const codec = new EventCodec(products);
      const messages = await readTopic(ns.kafkajs, products.topic, {
        atLeast: committed,
        groupPrefix: `${ns.groupPrefix}reader`,
      });
      const seen = new Map<string, number[]>();
      for (const { message } of messages) {
        if (!message.value) continue;
        const e = codec.decode(message.value, message.headers?.[SCHEMA_HEADER]?.toString());
        seen.set(e.id, [...(seen.get(e.id) ?? []), e.version]);
      }
      const distinct = versionsNeverGoBack(seen);
      const events = [...distinct.values()].reduce((n, v) => n + v.length, 0);
      const newestOf = new Map([...distinct].map(([id, v]) => [id, v.at(-1)!]));
      // Every committed row change is one event (a commit cut by the restart may or may not have happened).
      expect(events).toBeGreaterThanOrEqual(committed + reemitted);
      expect(events).toBeLessThanOrEqual(committed + reemitted + unknown);
      expect(reemitted).toBeGreaterThan(0);
      await eventually(
        async () => {
          expect(await compareEsWithPg(ns.probe, ns.pool, products, newestOf)).toEqual({
            missing: [],
            orphaned: [],
            different: [],
          });
        },
        { timeoutMs: 120_000 },
      );
      console.log(
        `capture load: ${committed} row changes committed (${apiWrites} through the API, ${unknown} unknown), ${reemitted} re-emitted, ${serialization} serialization failures, ${deadlocks} deadlocks, ${events} events`,
      );
    });
  },
);
