// The cross-language contract: events consumed from Kafka, written by the relay, decode with Apache
// Avro for Java (not avsc) using only the published packages/schema/avro/products.value.avsc.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger, createMetricsRegistry } from '@syncline/core';
import { collectionTopic, ensureTopics } from '@syncline/kafka';
import { buildRelay, migrate, OutboxWriter, withTransaction } from '@syncline/outbox';
import { AVRO_DIR, EventCodec } from '@syncline/schema';
import { createNamespace, type Namespace, REPO_ROOT, readTopic } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { namespacedDeclaration } from './support/namespaced.ts';

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

  it('decodes real events from Kafka with Apache Avro for Java', async () => {
    const { declaration } = namespacedDeclaration(ns, 1);
    const products = declaration.collections[0]!;
    await migrate(ns.pool, declaration);
    await ensureTopics(ns.kafka, declaration.collections.map(collectionTopic));
    const writer = new OutboxWriter(declaration);
    const docs = {
      'j-1': {
        name: 'Kettle',
        description: 'Steel, 1 l',
        price: 24.5,
        tags: ['kitchen', 'steel'],
        in_stock: true,
        updated_at: '2026-11-27T08:00:00.000Z',
      },
      'j-2': { name: 'Pan', description: null, price: 12, tags: null, in_stock: null, updated_at: null },
    };
    await withTransaction(ns.pool, (c) =>
      writer.apply(c, 'products', [
        ...Object.entries(docs).map(([id, document]) => ({ op: 'upsert' as const, id, document })),
      ]),
    );
    await withTransaction(ns.pool, (c) => writer.apply(c, 'products', [{ op: 'delete', id: 'j-2' }]));
    const relay = buildRelay({
      pgUrl: ns.pgUrl,
      kafka: ns.kafka,
      declaration,
      log: createLogger('avro', 'silent'),
      registry: createMetricsRegistry('avro', false),
      config: { SYNCLINE_RELAY_COMPRESSION: 'gzip', SYNCLINE_RELAY_ID: `${ns.name}-relay` },
    });
    relay.start();
    const messages = await readTopic(ns.kafka, products.topic, { atLeast: 4, groupPrefix: `${ns.groupPrefix}r` });
    await relay.stop();
    const values = messages.filter((m) => m.message.value !== null).map((m) => m.message.value!);
    expect(values).toHaveLength(3);

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
    const codec = new EventCodec(products);
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
    expect(decoded.map((e) => `${e.id}:${e.op}`)).toEqual(['j-1:UPSERT', 'j-2:UPSERT', 'j-2:DELETE']);
  });
});
