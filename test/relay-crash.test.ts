// A relay that dies after Kafka acknowledged a batch but before it removed the rows republishes
// that batch on restart: duplicates, never a gap.

import { migrate, OutboxWriter, withTransaction } from '@syncline/outbox';
import { EventCodec } from '@syncline/schema';
import { createNamespace, eventually, type Namespace, readTopic, spawnService } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { namespacedDeclaration, serviceEnv } from './support/namespaced.ts';

describe('relay crash between produce and removal', () => {
  let ns: Namespace;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'crash');
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  it('republishes the batch it had not removed', async () => {
    const { declaration, path } = namespacedDeclaration(ns, 2);
    const products = declaration.collections[0]!;
    await migrate(ns.pool, declaration);
    const writer = new OutboxWriter(declaration);
    const ops = Array.from({ length: 10 }, (_, i) => ({
      op: 'upsert' as const,
      id: `c-${i}`,
      document: { name: `n${i}`, price: i, description: null, tags: null, in_stock: null, updated_at: null },
    }));
    const results = await withTransaction(ns.pool, (c) => writer.apply(c, 'products', ops));

    const env = serviceEnv(ns, path);
    const crashing = await spawnService('relay-crash', 'services/outbox-relay/src/main.ts', {
      ...env,
      SYNCLINE_FAULT_EXIT_AFTER_PUBLISH: '1',
    }).catch(() => undefined);
    if (crashing) await eventually(() => expect(crashing.child.exitCode).toBe(137));
    const { rows } = await ns.pool.query<{ n: string }>('select count(*) as n from syncline_outbox');
    expect(Number(rows[0]!.n)).toBe(10);

    const relay = await spawnService('relay-after-crash', 'services/outbox-relay/src/main.ts', env);
    await eventually(async () => {
      const r = await ns.pool.query<{ n: string }>('select count(*) as n from syncline_outbox');
      expect(Number(r.rows[0]!.n)).toBe(0);
    });
    await relay.kill();

    const codec = new EventCodec(products);
    const messages = await readTopic(ns.kafkajs, products.topic, { atLeast: 20, groupPrefix: `${ns.groupPrefix}r` });
    const versions = messages.map((m) => codec.decode(m.message.value!).version).sort((a, b) => a - b);
    const expected = results.flatMap((r) => [r.version, r.version]).sort((a, b) => a - b);
    expect(versions).toEqual(expected);
  });
});
