// Capture of the application's own table (issue "Sync the tables an application already writes"):
// every committed change from any client — psql, the pg driver, the write API — reaches
// Elasticsearch with the same guarantees, whatever the key type; TRUNCATE, schema changes, values
// the declaration cannot carry, and backfill/reconcile/dlq replay on a captured table.
import { backfill, reconcile, replayDeadLetters } from '@syncline/cli';
import { createLogger, createMetricsRegistry } from '@syncline/core';
import { DLQ_HEADERS, deadLetterTopic, ensureTopics, topicsOf } from '@syncline/kafka';
import {
  buildRelay,
  captureNames,
  captureStatus,
  disableCapture,
  enableCapture,
  migrate,
  OutboxWriter,
} from '@syncline/outbox';
import { type Collection, EventCodec, parseDeclaration, SCHEMA_HEADER } from '@syncline/schema';
import { createNamespace, eventually, type Namespace, readTopic, spawnService, writeTempJson } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compareEsWithPg } from './support/compare.ts';
import { buildTestApp, type Harness, startHarness } from './support/harness.ts';
import { serviceEnv } from './support/namespaced.ts';

/** Each id's newest version in the collection's topic (what the index must hold). */
export async function topicVersions(ns: Namespace, c: Collection, atLeast = 1): Promise<Map<string, number>> {
  const codec = new EventCodec(c);
  const versions = new Map<string, number>();
  for (const { message } of await readTopic(ns.kafkajs, c.topic, { atLeast, quietMs: 1500 })) {
    if (!message.value) continue;
    const e = codec.decode(message.value, message.headers?.[SCHEMA_HEADER]?.toString());
    versions.set(e.id, Math.max(versions.get(e.id) ?? 0, e.version));
  }
  return versions;
}

/** Elasticsearch equals the table: every id and field, and each document at its newest version in the topic. */
const eventuallyInSync = (ns: Namespace, c: Collection) =>
  eventually(
    async () => {
      const versions = await topicVersions(ns, c);
      expect(await compareEsWithPg(ns.probe, ns.pool, c, versions)).toEqual({
        missing: [],
        orphaned: [],
        different: [],
      });
    },
    { timeoutMs: 60_000 },
  );

describe('capture of direct writes', () => {
  let ns: Namespace;
  let h: Harness;
  let products: Collection;

  const expectInSync = (c: Collection) => eventuallyInSync(ns, c);

  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'capture');
    h = await startHarness(ns, { partitions: 3, capture: true });
    products = h.collection;
    await h.startSink();
  });
  afterAll(async () => {
    await h?.close();
    await ns?.cleanup();
  });

  it('enable says what it installed, is idempotent, and status checks it', async () => {
    const again = await enableCapture(ns.pool, products);
    expect(again.actions.join('\n')).toMatch(/trigger syncline_capture \(after insert or update or delete/);
    expect(again.actions.join('\n')).toMatch(/before truncate/);
    const client = await ns.pool.connect();
    try {
      expect(await captureStatus(client, products)).toMatchObject({ enabled: true, problems: [] });
    } finally {
      client.release();
    }
  });

  it('psql INSERT naming only its own columns, UPDATE and DELETE reach Elasticsearch; undeclared columns do not', async () => {
    await ns.psql(`insert into products (id, name, description, price, tags, in_stock, updated_at, internal_note)
          values ('p-1', 'Lamp', 'warm light', 19.90, '{home,light}', true, '2026-01-02T03:04:05.678901Z', 'secret'),
                 ('p-2', 'Desk', null, 120, null, false, now(), null),
                 ('p-3', 'Chair', 'oak', 45.5, '{}', null, null, 'x')`);
    await ns.psql(`update products set price = 21, tags = array_append(tags, 'sale') where id = 'p-1'`);
    await ns.psql(`delete from products where id = 'p-2'`);
    await expectInSync(products);
    const doc = await ns.es.get({ index: products.index.alias, id: 'p-1' });
    expect(doc._source).toEqual({
      name: 'Lamp',
      description: 'warm light',
      price: 21,
      tags: ['home', 'light', 'sale'],
      in_stock: true,
      updated_at: '2026-01-02T03:04:05.678Z',
    });
  });

  it('the write API and direct SQL on the same rows: one version source, exact result', async () => {
    for (let i = 0; i < 20; i++) {
      const id = `shared-${i % 4}`;
      if (i % 2 === 0) {
        const res = await h.app.inject({
          method: 'PUT',
          url: `/v1/collections/products/documents/${id}`,
          payload: { name: `api ${i}`, price: i },
        });
        expect(res.statusCode).toBeLessThan(300);
        expect(res.json().version).toBeGreaterThan(0);
      } else {
        await ns.pool.query(
          `insert into products (id, name, price) values ($1, $2, $3)
           on conflict (id) do update set name = excluded.name, price = excluded.price`,
          [id, `sql ${i}`, i],
        );
      }
    }
    const del = await h.app.inject({ method: 'DELETE', url: '/v1/collections/products/documents/shared-3' });
    expect(del.statusCode).toBe(200);
    const ifMatch = await h.app.inject({
      method: 'PUT',
      url: '/v1/collections/products/documents/shared-0',
      headers: { 'if-match': '"1"' },
      payload: { name: 'x', price: 1 },
    });
    expect(ifMatch.json().error.code).toBe('SYNC_INVALID_PRECONDITION');
    const get = await h.app.inject({ method: 'GET', url: '/v1/collections/products/documents/shared-0' });
    expect(get.json()).toMatchObject({ id: 'shared-0', document: { name: 'api 16' } });
    const waited = await h.app.inject({
      method: 'PUT',
      url: '/v1/collections/products/documents/shared-1?wait=indexed',
      payload: { name: 'waited', price: 2 },
    });
    expect(waited.statusCode).toBe(200);
    const indexed = await ns.es.get({ index: products.index.alias, id: 'shared-1' });
    expect(indexed._version).toBe(waited.json().version);
    await expectInSync(products);
  });

  it('events carry the declared columns only, and any role that may write the table can (no rights on the outbox needed)', async () => {
    const role = `${ns.name}_app`;
    await ns.pool.query(`create role ${role}`);
    await ns.pool.query(`grant usage on schema ${ns.name} to ${role}`);
    await ns.pool.query(`grant select, insert, update, delete on products to ${role}`);
    const client = await ns.pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local role ${role}`);
      await client.query(`insert into products (id, name, price, internal_note) values ('r-1', 'Role', 1, 'private')`);
      await client.query('reset role');
      const { rows } = await client.query(`select payload from syncline_outbox where aggregate_id = 'r-1'`);
      expect(Object.keys(rows[0].payload).sort()).toEqual(
        ['description', 'id', 'in_stock', 'name', 'price', 'tags', 'updated_at'].sort(),
      );
      await client.query('commit');
    } finally {
      client.release();
    }
    await ns.pool.query(`drop owned by ${role}`);
    await ns.pool.query(`drop role ${role}`);
    await expectInSync(products);
  });

  it('refuses what would make capture wrong: TRUNCATE outside READ COMMITTED, deferrable keys, partitioned tables', async () => {
    await expect(ns.psql('begin isolation level repeatable read; truncate products; commit;')).rejects.toThrow(
      /TRUNCATE it in a READ COMMITTED transaction/,
    );
    const shaped = (table: string) => ({
      ...products,
      name: table,
      table,
      fields: { name: { type: 'string' as const, required: false } },
    });
    await ns.pool.query('create table deferred_keys (id text primary key deferrable, name text)');
    await expect(enableCapture(ns.pool, shaped('deferred_keys'))).rejects.toThrow(/DEFERRABLE/);
    await ns.pool.query('create table parted (id text, name text, primary key (id)) partition by hash (id)');
    await expect(enableCapture(ns.pool, shaped('parted'))).rejects.toThrow(/partitioned/);
    // Names of 63 characters still give two distinct functions within PostgreSQL's limit.
    const long = captureNames({ ...products, name: 'n'.repeat(63) });
    expect(long.changeFn).not.toBe(long.truncateFn);
    expect(long.truncateFn.length).toBeLessThanOrEqual(63);
  });

  it('TRUNCATE deletes every document', async () => {
    await ns.pool.query(
      `insert into products (id, name, price) select 't-' || g, 'n' || g, g from generate_series(1, 50) g`,
    );
    await eventually(async () => {
      const { count } = await ns.es.count({ index: products.index.alias, q: 'name:n1' });
      expect(count).toBe(1);
    });
    await ns.psql('truncate products');
    await expectInSync(products);
    await ns.es.indices.refresh({ index: products.index.alias });
    expect((await ns.es.count({ index: products.index.alias })).count).toBe(0);
  });

  it('a value the declaration cannot carry is dead-lettered with its reason; the transaction commits and the rest flows', async () => {
    const long = 'x'.repeat(300); // the table takes it; the declaration allows 200 characters
    await ns.pool.query(`insert into products (id, name, price) values ('bad-1', $1, 1), ('good-1', 'fine', 2)`, [
      long,
    ]);
    expect(
      (await ns.pool.query(`select count(*)::int as n from products where id in ('bad-1', 'good-1')`)).rows[0].n,
    ).toBe(2);
    const letters = await readTopic(ns.kafkajs, deadLetterTopic(products.topic), { atLeast: 1 });
    const letter = letters.find(
      (l) => l.message.headers?.[DLQ_HEADERS.errorType]?.toString() === 'SYNC_CAPTURE_REFUSED',
    )!;
    expect(letter.message.headers?.[DLQ_HEADERS.reason]?.toString()).toMatch(/name: must be at most 200 characters/);
    expect(JSON.parse(letter.message.value!.toString())).toMatchObject({ id: 'bad-1', row: { name: long } });
    await eventually(async () => {
      expect((await ns.es.get({ index: products.index.alias, id: 'good-1' }))._source).toMatchObject({ name: 'fine' });
    });
    // Fixed in the table, then replayed: the current row is re-emitted.
    await ns.pool.query(`update products set name = 'fixed' where id = 'bad-1'`);
    await replayDeadLetters(ns.kafka, ns.pool, new OutboxWriter({ collections: [products] }), products, {
      groupId: `${ns.groupPrefix}replay`,
    });
    await expectInSync(products);
  });

  it('schema changes: ADD COLUMN flows; renaming or dropping a captured column is refused with what to do', async () => {
    await ns.psql('alter table products add column color text');
    await ns.psql(`insert into products (id, name, price, color) values ('c-1', 'Red lamp', 3, 'red')`);
    await ns.psql('alter table products rename column internal_note to note');
    await ns.psql(`update products set note = 'n' where id = 'c-1'`);
    await expect(ns.psql('alter table products rename column name to title')).rejects.toThrow(
      /Syncline captures table .*products.* this change would take away: name[\s\S]*HINT: .*syncline capture enable products/,
    );
    await expect(ns.psql('alter table products drop column price')).rejects.toThrow(/would take away: price/);
    await expect(ns.psql('drop table products')).rejects.toThrow(/Syncline captures table/);
    await expectInSync(products);
  });

  it('backfill publishes rows written before capture; reconcile finds and repairs drift by content', async () => {
    await disableCapture(ns.pool, products);
    await ns.pool.query(
      `insert into products (id, name, price) select 'pre-' || g, 'before ' || g, g from generate_series(1, 30) g`,
    );
    await enableCapture(ns.pool, products);
    await backfill(ns.pool, { collections: [products] }, products, { chunk: 7 });
    await expectInSync(products);
    // Drift behind Syncline's back: an edited document and a deleted one in the index.
    await ns.es.index({
      index: products.index.alias,
      id: 'pre-1',
      document: { name: 'edited', price: 1 },
      refresh: true,
    });
    await ns.es.delete({ index: products.index.alias, id: 'pre-2', refresh: true });
    await ns.es.index({
      index: products.index.alias,
      id: 'ghost',
      document: { name: 'no row', price: 1 },
      refresh: true,
    });
    const found = await reconcile(ns.pool, ns.search, { collections: [products] }, products);
    expect(found.diverged).toContain('pre-1');
    expect(found.missing).toContain('pre-2');
    expect(found.orphaned).toContain('ghost');
    expect(found.ahead).toEqual([]);
    await reconcile(ns.pool, ns.search, { collections: [products] }, products, { repair: true });
    await eventually(async () => {
      const after = await reconcile(ns.pool, ns.search, { collections: [products] }, products);
      expect([after.missing, after.diverged, after.orphaned, after.stale]).toEqual([[], [], [], []]);
    });
  });
});

describe('capture of tables keyed by bigint and by uuid', () => {
  let ns: Namespace;
  const stops: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'capturekeys');
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await ns?.cleanup();
  });

  it("captures both, and the write API reaches their rows by the keys' text forms", async () => {
    const base = {
      partitions: 2,
      capture: true,
      fields: { label: { type: 'string' }, n: { type: 'long', column: 'amount' } },
    };
    const declaration = parseDeclaration({
      collections: [
        {
          ...base,
          name: 'counters',
          table: 'counters',
          primaryKeyType: 'integer',
          topic: `${ns.topicPrefix}counters`,
          index: { alias: `${ns.indexPrefix}counters` },
        },
        {
          ...base,
          name: 'tickets',
          table: 'tickets',
          primaryKeyType: 'uuid',
          topic: `${ns.topicPrefix}tickets`,
          index: { alias: `${ns.indexPrefix}tickets` },
        },
      ],
    });
    const [counters, tickets] = declaration.collections as [Collection, Collection];
    await ns.pool.query('create table counters (id bigint primary key, label text, amount bigint)');
    await ns.pool.query('create table tickets (id uuid primary key default gen_random_uuid(), label text, amount int)');
    await migrate(ns.pool, declaration);
    for (const c of declaration.collections) await enableCapture(ns.pool, c);
    await ensureTopics(ns.kafka, topicsOf(declaration.collections));
    const path = writeTempJson(ns.name, declaration);
    const sink = await spawnService('sink-keys', 'services/es-sink/src/main.ts', serviceEnv(ns, path));
    stops.push(() => sink.kill('SIGKILL'));
    const relay = buildRelay({
      pgUrl: ns.pgUrl,
      kafka: ns.kafka,
      declaration,
      log: createLogger('relay', 'silent'),
      registry: createMetricsRegistry('relay', false),
      config: { SYNCLINE_RELAY_ID: `${ns.name}-relay` },
    });
    relay.start();
    stops.push(() => relay.stop());
    const app = await buildTestApp(ns, declaration);
    stops.push(() => app.close());

    await ns.pool.query(`insert into counters select g, 'c' || g, g * 1000000000000 from generate_series(1, 20) g`);
    await ns.pool.query('update counters set amount = amount + 1 where id % 3 = 0');
    await ns.pool.query('delete from counters where id in (4, 5)');
    await ns.pool.query(`insert into tickets (label, amount) select 't' || g, g from generate_series(1, 20) g`);
    await ns.pool.query('delete from tickets where amount > 15');
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/collections/counters/documents/42',
      payload: { label: 'api', n: 1 },
    });
    expect(put.statusCode).toBe(201);
    expect((await ns.pool.query('select label from counters where id = 42')).rows[0].label).toBe('api');
    const bad = await app.inject({
      method: 'PUT',
      url: '/v1/collections/counters/documents/007',
      payload: { label: 'x' },
    });
    expect(bad.json().error.code).toBe('SYNC_INVALID_ID');
    const { rows } = await ns.pool.query<{ id: string }>('select id::text from tickets limit 1');
    const patch = await app.inject({
      method: 'PATCH',
      url: `/v1/collections/tickets/documents/${rows[0]!.id}`,
      payload: { n: 99 },
    });
    expect(patch.statusCode).toBe(200);

    for (const c of [counters, tickets]) await eventuallyInSync(ns, c);
    expect((await ns.es.get({ index: counters.index.alias, id: '3' }))._source).toEqual({
      label: 'c3',
      n: 3000000000001,
    });
  });
});
