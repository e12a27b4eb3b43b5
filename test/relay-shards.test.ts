// Relays sharing one outbox by document id: every event published once, each id's versions in
// commit order, both shards at work; a relay configured for another number of shards does not lead (in-process)
// or start (service).
import { readFileSync } from 'node:fs';
import { createLogger, createMetricsRegistry } from '@syncline/core';
import { buildRelay, migrate, OutboxWriter, withTransaction } from '@syncline/outbox';
import { EventCodec } from '@syncline/schema';
import { createNamespace, eventually, type Namespace, readTopic, spawnService } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { namespacedDeclaration, serviceEnv } from './support/namespaced.ts';

describe('relay shards', () => {
  let ns: Namespace;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'shards');
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  it('splits the outbox by document id: each event once, per-id order kept, a mismatched relay refused', async () => {
    const { declaration, path } = namespacedDeclaration(ns, 3);
    const products = declaration.collections[0]!;
    await migrate(ns.pool, declaration);
    const env = serviceEnv(ns, path);
    const relays = await Promise.all(
      [0, 1].map((shard) =>
        spawnService(`relay-shard-${shard}`, 'services/outbox-relay/src/main.ts', {
          ...env,
          SYNCLINE_RELAY_SHARDS: '2',
          SYNCLINE_RELAY_SHARD: String(shard),
          SYNCLINE_RELAY_BATCH_SIZE: '50',
        }),
      ),
    );

    // 8 writers, 1200 single-document transactions over 40 ids, while both relays drain.
    const writer = new OutboxWriter(declaration);
    const WRITES = 1200;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < WRITES; i = next++) {
          const document = { name: `n${i}`, price: i, description: null, tags: null, in_stock: null, updated_at: null };
          await withTransaction(ns.pool, (c) =>
            writer.apply(c, 'products', [{ op: 'upsert', id: `s-${i % 40}`, document }]),
          );
        }
      }),
    );
    await eventually(
      async () => {
        const { rows } = await ns.pool.query<{ n: string }>('select count(*) as n from syncline_outbox');
        expect(Number(rows[0]!.n)).toBe(0);
      },
      { timeoutMs: 60_000 },
    );
    for (const relay of relays) {
      const metrics = await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text();
      const published = Number(/syncline_relay_events_published_total(?:\{[^}]*\})? (\d+)/.exec(metrics)?.[1] ?? 0);
      expect(published, `${relay.name} published`).toBeGreaterThan(0);
    }
    await Promise.all(relays.map((r) => r.kill()));

    const codec = new EventCodec(products);
    const messages = await readTopic(ns.kafkajs, products.topic, {
      atLeast: WRITES,
      groupPrefix: `${ns.groupPrefix}r`,
    });
    const byId = new Map<string, number[]>();
    for (const m of messages) {
      if (m.message.value === null) continue;
      const e = codec.decode(m.message.value);
      byId.set(e.id, [...(byId.get(e.id) ?? []), e.version]);
    }
    expect([...byId.values()].reduce((n, v) => n + v.length, 0)).toBe(WRITES);
    const { rows } = await ns.pool.query<{ id: string; v: string }>('select id, syncline_version as v from products');
    expect(rows).toHaveLength(40);
    for (const row of rows) {
      const versions = byId.get(row.id)!;
      expect(
        versions.every((v, i) => i === 0 || v > versions[i - 1]!),
        `${row.id} in commit order`,
      ).toBe(true);
      expect(versions.at(-1)).toBe(Number(row.v));
    }

    // Any relay checks the layout when it would lead: an unsharded one built in-process stays a standby.
    const extra = { name: 'late', price: 1, description: null, tags: null, in_stock: null, updated_at: null };
    await withTransaction(ns.pool, (c) =>
      writer.apply(c, 'products', [{ op: 'upsert', id: 's-late', document: extra }]),
    );
    const inProcess = buildRelay({
      pgUrl: ns.pgUrl,
      kafka: ns.kafka,
      declaration,
      log: createLogger('test', 'silent'),
      registry: createMetricsRegistry('test', false),
      config: { SYNCLINE_RELAY_COMPRESSION: 'none', SYNCLINE_RELAY_ID: `${ns.name}-relay` },
    });
    inProcess.start();
    await new Promise((r) => setTimeout(r, 2000));
    expect(inProcess.state).toBe('standby');
    await inProcess.stop();
    const { rows: left } = await ns.pool.query<{ n: string }>('select count(*) as n from syncline_outbox');
    expect(Number(left[0]!.n)).toBe(1);

    const refused = await spawnService('relay-unsharded', 'services/outbox-relay/src/main.ts', env).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(refused?.message).toMatch(/exited with 1 during start-up/);
    const logFile = /see (\S+)$/.exec(refused!.message)![1]!;
    expect(readFileSync(logFile, 'utf8')).toMatch(/relayed in 2 shard\(s\) and this relay is configured for 1/);
  });
});
