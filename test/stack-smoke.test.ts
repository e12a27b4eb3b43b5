// The first end-to-end proof on the real stack, without Syncline's own services: a row written
// to PostgreSQL becomes an Avro event in a compacted topic, is consumed by a consumer group,
// bulk-indexed into Elasticsearch with its external version, and only then is the offset committed.

import { EventCodec, loadDeclaration, SCHEMA_HEADER } from '@syncline/schema';
import { createNamespace, eventually, type Namespace } from '@syncline/testkit';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The demo's products as a table Syncline owns (this suite tests that mode; test/capture.test.ts the other).
const declaration = {
  collections: loadDeclaration(new URL('../syncline.collections.json', import.meta.url).pathname).collections.map(
    (c) => ({ ...c, capture: false, relations: {} }),
  ),
};
const products = declaration.collections[0]!;

describe('the real stack carries a row from PostgreSQL through Kafka into Elasticsearch', () => {
  let ns: Namespace;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'smoke');
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  it('answers with the real servers', async () => {
    const nodes = await ns.es.nodes.info({ node_id: '_local', metric: '_none' });
    const version = Object.values(nodes.nodes)[0]?.version;
    expect(version).toMatch(/^9\./);
    const admin = ns.kafkajs.admin();
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.disconnect();
    expect(cluster.brokers.length).toBeGreaterThanOrEqual(1);
    const { rows } = await ns.pool.query<{ v: string }>("select current_setting('server_version_num') as v");
    expect(Number(rows[0]!.v)).toBeGreaterThanOrEqual(140000);
  });

  it('writes, produces, consumes, bulk-indexes and commits', async () => {
    const topic = `${ns.topicPrefix}products`;
    const index = `${ns.indexPrefix}products`;
    const group = `${ns.groupPrefix}smoke`;
    const codec = new EventCodec(products);

    await ns.pool.query('create table products (id text primary key, name text not null, price float8, v bigint)');
    const { rows } = await ns.pool.query<{ id: string; name: string; price: number; v: string }>(
      "insert into products values ('p-1', 'Kettle', 24.5, 7) returning *",
    );
    const row = rows[0]!;

    const admin = ns.kafkajs.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
    });
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: topic, configNames: ['cleanup.policy'] }],
    });
    expect(configs.resources[0]!.configEntries[0]!.configValue).toBe('compact');

    const producer = ns.kafkajs.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: codec.encodeKey(row.id),
          value: codec.encode({
            collection: 'products',
            id: row.id,
            op: 'UPSERT',
            version: Number(row.v),
            committedAt: Date.now(),
            document: { name: row.name, price: row.price },
          }),
          headers: { [SCHEMA_HEADER]: codec.fingerprint },
        },
      ],
    });
    await producer.disconnect();

    await ns.es.indices.create({ index, settings: { number_of_replicas: 0 } });
    const consumer = ns.kafkajs.consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let indexed = 0;
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const operations = batch.messages.flatMap((m) => {
          const event = codec.decode(m.value!, m.headers?.[SCHEMA_HEADER]?.toString());
          return [
            { index: { _index: index, _id: event.id, version: event.version, version_type: 'external' as const } },
            event.document,
          ];
        });
        const res = await ns.es.bulk({ operations, refresh: true });
        expect(res.errors).toBe(false);
        const last = batch.messages.at(-1)!;
        await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(Number(last.offset) + 1) }]);
        indexed += batch.messages.length;
      },
    });
    await eventually(() => expect(indexed).toBe(1));
    await consumer.disconnect();

    const doc = await ns.es.get<{ name: string; price: number }>({ index, id: 'p-1' });
    expect(doc._version).toBe(7);
    expect(doc._source).toMatchObject({ name: 'Kettle', price: 24.5, tags: null, in_stock: null });

    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const committed = offsets[0]!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    expect(committed).toBe(1);
    await admin.disconnect();
  });
});
