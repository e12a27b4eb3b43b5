// Guarantee 1 across a Kafka outage: Kafka stops for 30 s in the middle of a write load; writes keep
// being accepted (the outbox absorbs them); after Kafka returns every committed change is in Kafka.

import { migrate } from '@syncline/outbox';
import { EventCodec } from '@syncline/schema';
import {
  createNamespace,
  eventually,
  type Namespace,
  type RunningService,
  readTopic,
  spawnService,
  startStack,
  stopService,
} from '@syncline/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildTestApp } from '../support/harness.ts';
import { namespacedDeclaration, serviceEnv } from '../support/namespaced.ts';

const services = inject('services');

describe.runIf(services.mode === 'local')('Kafka outage during writes', () => {
  let ns: Namespace;
  let app: FastifyInstance;
  let relay: RunningService | undefined;
  beforeAll(async () => {
    ns = await createNamespace(services, 'kafkaout');
  });
  afterAll(async () => {
    await startStack();
    await relay?.kill('SIGKILL');
    await app?.close();
    await ns?.cleanup();
  });

  it('accepts writes while Kafka is down and publishes all of them after it returns', async () => {
    const { declaration, path } = namespacedDeclaration(ns, 3);
    const products = declaration.collections[0]!;
    await migrate(ns.pool, declaration);
    app = await buildTestApp(ns, declaration);
    relay = await spawnService('relay-outage', 'services/outbox-relay/src/main.ts', serviceEnv(ns, path));

    const versions: number[] = [];
    let writing = true;
    let failures = 0;
    const writer = async (w: number) => {
      for (let i = 0; writing; i++) {
        const res = await app.inject({
          method: 'PUT',
          url: `/v1/collections/products/documents/o-${w}-${i % 50}`,
          payload: { name: `w${w}`, price: i },
        });
        if (res.statusCode >= 300) failures++;
        else versions.push(res.json().version);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const writers = Array.from({ length: 4 }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, 3000));
    await stopService('kafka');
    const duringOutageFrom = versions.length;
    await new Promise((r) => setTimeout(r, 30_000));
    const acceptedDuringOutage = versions.length - duringOutageFrom;
    await startStack();
    await new Promise((r) => setTimeout(r, 3000));
    writing = false;
    await Promise.all(writers);

    expect(failures).toBe(0);
    expect(acceptedDuringOutage).toBeGreaterThan(100);
    await eventually(
      async () => {
        const { rows } = await ns.pool.query<{ n: string }>('select count(*) as n from syncline_outbox');
        expect(Number(rows[0]!.n)).toBe(0);
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const codec = new EventCodec(products);
    const messages = await readTopic(ns.kafkajs, products.topic, {
      atLeast: versions.length,
      groupPrefix: `${ns.groupPrefix}r`,
    });
    const published = new Set(messages.map((m) => codec.decode(m.message.value!).version));
    const missing = versions.filter((v) => !published.has(v));
    expect(missing).toEqual([]);
  });
});
