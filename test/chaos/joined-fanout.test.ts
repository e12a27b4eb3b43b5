// A fan-out killed in the middle: one brand renamed under 100 000 products, the relay (which runs the
// assembler) SIGKILLed while the documents are being assembled, then started again. Nothing is lost,
// every document ends at its newest state, and the assembler's memory stays bounded meanwhile.
import { ensureTopics, topicsOf } from '@syncline/kafka';
import { enableCapture, JOIN_MARKS_TABLE, migrate } from '@syncline/outbox';
import { createNamespace, eventually, type Namespace, type RunningService, spawnService } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { joinedDrift } from '../support/joined.ts';
import {
  DEMO_JOINED_SCHEMA_SQL,
  DEMO_SCHEMA_SQL,
  joinedNamespacedDeclaration,
  serviceEnv,
} from '../support/namespaced.ts';
import { rssMiB } from '../support/slow-proxy.ts';

const PRODUCTS = 100_000;

describe('a 100 000-document fan-out', () => {
  let ns: Namespace;
  const running: RunningService[] = [];

  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'fanout');
  });
  afterAll(async () => {
    await Promise.all(running.map((s) => s.kill('SIGKILL')));
    await ns?.cleanup();
  });

  it('survives the assembling relay SIGKILLed in the middle: nothing lost, every document at its newest state', async () => {
    const { declaration, path } = joinedNamespacedDeclaration(ns, 3);
    const products = declaration.collections[0]!;
    await migrate(ns.pool, declaration);
    await ns.pool.query(DEMO_SCHEMA_SQL);
    await ns.pool.query(DEMO_JOINED_SCHEMA_SQL);
    await enableCapture(ns.pool, products);
    await ensureTopics(ns.kafka, topicsOf(declaration.collections));
    const env = { ...serviceEnv(ns, path), SYNCLINE_SINK_RETRY_MAX_MS: '2000' };
    const start = async (name: string, entry: string) => {
      const s = await spawnService(name, entry, env);
      running.push(s);
      return s;
    };
    await start('fanout-sink', 'services/es-sink/src/main.ts');
    let relay = await start('fanout-relay', 'services/outbox-relay/src/main.ts');

    const idleRss = rssMiB(relay.pid);
    let loadRss = 0;
    await ns.pool.query(`insert into brands values ('big', 'Before'), ('small', 'Small')`);
    await ns.pool.query(
      `insert into products (id, name, price, brand_id) select 'p-' || g, 'Product ' || g, g, 'big' from generate_series(1, $1) g`,
      [PRODUCTS],
    );
    await ns.pool.query(`insert into reviews values ('r-1', 'p-1', 5, 'Good')`);
    const count = async (query: object) =>
      (await ns.es.count({ index: products.index.alias, query: query as never })).count;
    await eventually(
      async () => {
        loadRss = Math.max(loadRss, rssMiB(relay.pid));
        expect(await count({ term: { 'brand.id': 'big' } })).toBe(PRODUCTS);
      },
      {
        timeoutMs: 180_000,
        intervalMs: 1000,
      },
    );

    const pending = async () =>
      Number((await ns.pool.query<{ n: string }>(`select count(*) as n from ${JOIN_MARKS_TABLE}`)).rows[0]!.n);
    await ns.pool.query(`update brands set name = 'After' where id = 'big'`);
    // Killed once the fan-out is under way: part of it assembled, most of it not.
    let maxRss = 0;
    let atKill = 0;
    await eventually(async () => expect(await pending()).toBeGreaterThan(PRODUCTS / 2), {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    await eventually(
      async () => {
        maxRss = Math.max(maxRss, rssMiB(relay.pid));
        atKill = await pending();
        expect(atKill).toBeLessThan(PRODUCTS * 0.6);
      },
      { timeoutMs: 120_000, intervalMs: 5 },
    );
    await relay.kill('SIGKILL');
    expect(atKill).toBeGreaterThan(10_000);
    // Meanwhile the application goes on: a product moves to another brand, a review is written.
    await ns.pool.query(`update products set brand_id = 'small' where id = 'p-2'`);
    await ns.pool.query(`insert into reviews values ('r-2', 'p-3', 4, 'Fine')`);
    relay = await start('fanout-relay-again', 'services/outbox-relay/src/main.ts');
    await eventually(
      async () => {
        maxRss = Math.max(maxRss, rssMiB(relay.pid));
        expect(await pending()).toBe(0);
        expect(await count({ term: { 'brand.name.keyword': 'After' } })).toBe(PRODUCTS - 1);
      },
      { timeoutMs: 300_000, intervalMs: 1000 },
    );
    await eventually(
      async () => expect(await joinedDrift(ns, products)).toEqual({ missing: [], orphaned: [], different: [] }),
      {
        timeoutMs: 60_000,
      },
    );
    console.log(
      `fan-out: killed with ${atKill} of ${PRODUCTS} marks pending; relay RSS at most ${maxRss.toFixed(0)} MiB (idle ${idleRss.toFixed(0)}, while the 100 000 rows were inserted ${loadRss.toFixed(0)})`,
    );
    // Bounded: the assembler holds one batch of documents at a time, however many a change fans out to,
    // so a 100 000-document fan-out costs the process no more memory than 100 000 rows inserted.
    expect(maxRss).toBeLessThan(loadRss * 1.3);
  }, 900_000);
});
