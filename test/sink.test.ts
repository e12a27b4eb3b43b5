// The sink on the real stack: idempotent and version-ordered writes (guarantees 2 and 4), poison
// isolation with dead letters and replay (guarantee 5), and offsets committed only after indexing.
import { replayDeadLetters } from '@syncline/cli';
import { createLogger, createMetricsRegistry } from '@syncline/core';
import { buildSink, type Sink } from '@syncline/es-sink';
import { collectionTopic, DLQ_HEADERS, deadLetterTopic, ensureTopics } from '@syncline/kafka';
import { buildRelay, migrate, OutboxWriter, withTransaction } from '@syncline/outbox';
import { createNamespace, eventually, type Namespace, readTopic, searchEngineName } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { del, produceEvents, upsert } from './support/events.ts';
import { namespacedDeclaration } from './support/namespaced.ts';

describe(`the sink (${searchEngineName()})`, () => {
  let ns: Namespace;
  let sink: Sink;

  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'sink');
  });
  afterAll(async () => {
    await sink?.stop();
    await ns?.cleanup();
  });

  const start = async (declaration: ReturnType<typeof namespacedDeclaration>['declaration'], group: string) => {
    sink = await buildSink({
      config: {
        SYNCLINE_SINK_GROUP: group,
        SYNCLINE_SINK_CONSUMERS: 2,
        SYNCLINE_SINK_CONCURRENCY: 3,
        SYNCLINE_SINK_MAX_DOCS: 500,
        SYNCLINE_SINK_MAX_BYTES: 1 << 20,
        SYNCLINE_SINK_FETCH_MAX_BYTES_PER_PARTITION: 1 << 20,
        SYNCLINE_SINK_FETCH_MAX_BYTES: 10 << 20,
        SYNCLINE_SINK_RETRY_INITIAL_MS: 50,
        SYNCLINE_SINK_RETRY_MAX_MS: 500,
        SYNCLINE_SINK_BULK_TIMEOUT_MS: 10_000,
        SYNCLINE_SINK_SESSION_TIMEOUT_MS: 10_000,
      },
      declaration,
      kafka: ns.kafka,
      search: ns.search,
      log: createLogger('sink-test', 'silent'),
      registry: createMetricsRegistry('sink-test', false),
    });
    await sink.start();
    await eventually(() => expect(sink.ready()).toBe(true));
  };

  it('ends with exactly the newest version: duplicates, shuffled versions, delete and re-create', async () => {
    const { declaration } = namespacedDeclaration(ns, 3);
    const products = declaration.collections[0]!;
    await ensureTopics(ns.kafka, declaration.collections.map(collectionTopic));
    const alias = products.index.alias;

    await start(declaration, `${ns.groupPrefix}sink-a`);
    // Shuffled versions of one id, each delivered twice.
    const shuffled = [upsert('s-1', 5), upsert('s-1', 2), upsert('s-1', 9), upsert('s-1', 7)];
    await produceEvents(ns.kafkajs, products, [...shuffled, ...shuffled]);
    // Delete then re-create, with a tombstone in between (the sink ignores it).
    await produceEvents(ns.kafkajs, products, [
      upsert('d-1', 10),
      del('d-1', 11),
      { tombstone: 'd-1' },
      upsert('d-1', 12, { name: 'again' }),
    ]);
    // Delete of a document that was never indexed, then a stale upsert older than the delete.
    await produceEvents(ns.kafkajs, products, [del('g-1', 20), upsert('g-1', 19)]);
    // Many ids across partitions.
    await produceEvents(
      ns.kafkajs,
      products,
      Array.from({ length: 300 }, (_, i) => upsert(`m-${i}`, 100 + i)),
    );

    await eventually(async () => {
      const s1 = await ns.probe.get(alias, 's-1');
      expect(s1.version).toBe(9);
      expect((s1.source as { name: string }).name).toBe('s-1 v9');
      const d1 = await ns.probe.get(alias, 'd-1');
      expect(d1.version).toBe(12);
      expect((d1.source as { name: string }).name).toBe('again');
      const g1 = await ns.probe.get(alias, 'g-1');
      expect(g1.found).toBe(false);
      await ns.probe.refresh(alias);
      expect(await ns.probe.count(alias)).toBe(302);
    });

    // Offsets: committed exactly to the end of every partition.
    await eventually(async () => {
      const admin = ns.kafkajs.admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(products.topic);
      const committed = await admin.fetchOffsets({ groupId: `${ns.groupPrefix}sink-a`, topics: [products.topic] });
      await admin.disconnect();
      for (const p of ends) {
        const c = committed[0]!.partitions.find((x) => x.partition === p.partition)!;
        expect(Math.max(0, Number(c.offset))).toBe(Number(p.high));
      }
    });
    await sink.stop();
  });

  it('dead-letters a poison event with its reason, keeps the partition flowing, and replays it after a fix', async () => {
    const { declaration } = namespacedDeclaration(
      { ...ns, topicPrefix: `${ns.topicPrefix}p.`, indexPrefix: `${ns.indexPrefix}p-` },
      1,
    );
    const products = declaration.collections[0]!;
    await migrate(ns.pool, declaration);
    await ensureTopics(ns.kafka, declaration.collections.map(collectionTopic));
    const relay = buildRelay({
      pgUrl: ns.pgUrl,
      kafka: ns.kafka,
      declaration,
      log: createLogger('relay-test', 'silent'),
      registry: createMetricsRegistry('relay-test', false),
      config: { SYNCLINE_RELAY_COMPRESSION: 'none', SYNCLINE_RELAY_ID: `${ns.name}-relay` },
    });
    relay.start();
    // Someone set the live index's price to a long that refuses fractions.
    await ns.probe.createIndex(`${products.index.alias}_000001`, {
      aliases: { [products.index.alias]: {} },
      mappings: {
        dynamic: 'strict',
        properties: {
          name: { type: 'text' },
          price: { type: 'long', coerce: false },
          description: { type: 'text' },
          tags: { type: 'keyword' },
          in_stock: { type: 'boolean' },
          updated_at: { type: 'date' },
          syncline_id: { type: 'keyword' },
        },
      },
      settings: { number_of_replicas: 0 },
    });
    await start(declaration, `${ns.groupPrefix}sink-p`);
    const writer = new OutboxWriter(declaration);
    const put = (id: string, price: number) =>
      withTransaction(ns.pool, (c) =>
        writer.apply(c, 'products', [
          {
            op: 'upsert',
            id,
            document: { name: id, price, description: null, tags: null, in_stock: true, updated_at: null },
          },
        ]),
      );
    await put('ok-1', 1);
    const [bad] = await put('bad-1', 24.5);
    const [ok2] = await put('ok-2', 3);

    const letters = await readTopic(ns.kafkajs, deadLetterTopic(products.topic), {
      atLeast: 1,
      groupPrefix: `${ns.groupPrefix}dlq`,
    });
    expect(letters).toHaveLength(1);
    const headers = letters[0]!.message.headers!;
    // The catalog's code, then the index's own error type and reason.
    expect(headers[DLQ_HEADERS.errorType]!.toString()).toBe('SYNC_INDEX_REJECTED');
    expect(headers[DLQ_HEADERS.reason]!.toString()).toMatch(/^\w*(parsing|argument)\w*: .*price/);
    expect(headers[DLQ_HEADERS.source]!.toString()).toMatch(new RegExp(`^${products.topic}/0/`));
    await eventually(async () => {
      expect((await ns.probe.get(products.index.alias, 'ok-2')).version).toBe(ok2!.version);
    });
    expect((await ns.probe.get(products.index.alias, 'bad-1')).found).toBe(false);

    // The fix: let the field coerce; then replay the dead letter through the outbox.
    await ns.probe.putMapping(products.index.alias, { price: { type: 'long', coerce: true } });
    const replayed = await replayDeadLetters(ns.kafka, ns.pool, writer, products, {
      groupId: `${ns.groupPrefix}dlq-replay`,
    });
    expect(replayed).toBe(1);
    await eventually(async () => {
      const doc = await ns.probe.get(products.index.alias, 'bad-1');
      expect(doc.version).toBeGreaterThan(bad!.version);
      expect((doc.source as { price: number }).price).toBe(24.5);
    });
    // A second replay finds nothing new.
    expect(
      await replayDeadLetters(ns.kafka, ns.pool, writer, products, { groupId: `${ns.groupPrefix}dlq-replay` }),
    ).toBe(0);
    await relay.stop();
  });
});
