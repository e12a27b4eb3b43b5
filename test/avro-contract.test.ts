// The cross-language contract: events consumed from Kafka, written by the relay, decode with Apache
// Avro for Java (not avsc) using only the published packages/schema/avro/products.value.avsc: the
// demo's joined product documents, with their brand and reviews.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger, createMetricsRegistry } from '@syncline/core';
import { collectionTopic, ensureTopics } from '@syncline/kafka';
import { buildRelay, enableCapture, migrate } from '@syncline/outbox';
import { AVRO_DIR, EventCodec } from '@syncline/schema';
import { createNamespace, type Namespace, REPO_ROOT, readTopic } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_JOINED_SCHEMA_SQL, DEMO_SCHEMA_SQL, joinedNamespacedDeclaration } from './support/namespaced.ts';

const run = promisify(execFile);
const LIBS = join(REPO_ROOT, '.cache', 'avro-java', 'libs');

describe('the Avro contract in another language', () => {
  let ns: Namespace;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'avrojava');
    mkdirSync(LIBS, { recursive: true });
    await run('mvn', [
      '-q',
      '-B',
      '-f',
      join(REPO_ROOT, 'test/avro-java/pom.xml'),
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${LIBS}`,
    ]);
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  it('decodes real events from Kafka with Apache Avro for Java, joined documents included', async () => {
    // The demo as it runs: products joined with their brand and reviews, written with plain SQL.
    const { declaration } = joinedNamespacedDeclaration(ns, 1);
    const products = declaration.collections[0]!;
    await migrate(ns.pool, declaration);
    await ns.pool.query(DEMO_SCHEMA_SQL);
    await ns.pool.query(DEMO_JOINED_SCHEMA_SQL);
    await enableCapture(ns.pool, products);
    await ensureTopics(ns.kafka, declaration.collections.map(collectionTopic));
    await ns.pool.query(`begin;
      insert into brands values ('b-1', 'Hearth');
      insert into products (id, name, description, price, tags, in_stock, updated_at, brand_id)
        values ('j-1', 'Kettle', 'Steel, 1 l', 24.5, '{kitchen,steel}', true, '2026-11-27T08:00:00Z', 'b-1'),
               ('j-2', 'Pan', null, 12, null, null, null, null),
               ('j-3', 'Lid', null, 3, null, null, null, null);
      insert into reviews values ('r-2', 'j-1', 4, 'Heavy'), ('r-1', 'j-1', 5, null);
      commit`);
    await ns.pool.query("delete from products where id = 'j-3'");
    const relay = buildRelay({
      pgUrl: ns.pgUrl,
      kafka: ns.kafka,
      declaration,
      log: createLogger('avro', 'silent'),
      registry: createMetricsRegistry('avro', false),
      config: { SYNCLINE_RELAY_COMPRESSION: 'gzip', SYNCLINE_RELAY_ID: `${ns.name}-relay` },
    });
    relay.start();
    const messages = await readTopic(ns.kafkajs, products.topic, { atLeast: 4, groupPrefix: `${ns.groupPrefix}r` });
    await relay.stop();
    // The newest event of each document (what the compacted topic keeps): a document may also have been
    // assembled twice, once before the expander carried its reviews' marks to it and once after.
    const codec = new EventCodec(products);
    const newest = new Map<string, Buffer>();
    for (const m of messages)
      if (m.message.value !== null) newest.set(codec.decode(m.message.value).id, m.message.value);
    const values = [...newest.values()];
    expect(values).toHaveLength(3);
    expect(values.map((v) => codec.decode(v)).find((e) => e.id === 'j-1')?.document).toMatchObject({
      brand: { id: 'b-1', name: 'Hearth' },
      reviews: [
        { id: 'r-1', rating: 5, body: null },
        { id: 'r-2', rating: 4, body: 'Heavy' },
      ],
    });

    const dir = mkdtempSync(join(tmpdir(), 'syncline-avro-'));
    const files = values.map((v, i) => {
      const f = join(dir, `event-${i}.avro`);
      writeFileSync(f, v);
      return f;
    });
    const { stdout } = await run('java', [
      '-cp',
      `${LIBS}/*`,
      join(REPO_ROOT, 'test/avro-java/DecodeEvents.java'),
      join(AVRO_DIR, 'products.value.avsc'),
      ...files,
    ]);
    const decoded = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    decoded.forEach((javaEvent, i) => {
      const nodeEvent = codec.decode(values[i]!);
      expect(javaEvent.id).toBe(nodeEvent.id);
      expect(javaEvent.op).toBe(nodeEvent.op);
      expect(javaEvent.version).toBe(nodeEvent.version);
      expect(javaEvent.committedAt).toBe(nodeEvent.committedAt);
      if (nodeEvent.document === null) expect(javaEvent.document).toBeNull();
      else {
        const { updated_at, ...rest } = nodeEvent.document;
        expect(javaEvent.document).toMatchObject(rest);
        expect(javaEvent.document.updated_at).toBe(updated_at === null ? null : Date.parse(String(updated_at)));
      }
    });
    expect(decoded.map((e) => `${e.id}:${e.op}`).sort()).toEqual(['j-1:UPSERT', 'j-2:UPSERT', 'j-3:DELETE']);
  });
});
