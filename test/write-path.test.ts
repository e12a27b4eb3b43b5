// Guarantee 3 (per-key order = commit order) and 1 (no lost change) on the real stack: concurrent
// writers hammer a few hot ids while two relay processes run and the active one is SIGKILLed again
// and again; then every committed version is in Kafka, in increasing order per id, and the last
// event per id equals the row in PostgreSQL.

import { migrate } from '@syncline/outbox';
import { EventCodec, rowToDocument, SCHEMA_HEADER } from '@syncline/schema';
import {
  createNamespace,
  eventually,
  type Namespace,
  type RunningService,
  readTopic,
  spawnService,
} from '@syncline/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { versionsNeverGoBack } from './support/compare.ts';
import { buildTestApp } from './support/harness.ts';
import { namespacedDeclaration, serviceEnv } from './support/namespaced.ts';

const HOT_IDS = ['hot-a', 'hot-b', 'hot-c', 'hot-d', 'hot-e'];

describe('write path: outbox relay failover', () => {
  let ns: Namespace;
  let app: FastifyInstance;
  const relays: RunningService[] = [];

  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'order');
  });
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.kill('SIGKILL')));
    await app?.close();
    await ns?.cleanup();
  });

  it('keeps per-id commit order and loses nothing while the active relay is killed repeatedly', async () => {
    const { declaration, path } = namespacedDeclaration(ns, 3);
    const products = declaration.collections[0]!;
    await migrate(ns.pool, declaration);
    app = await buildTestApp(ns, declaration);
    const env = { ...serviceEnv(ns, path), SYNCLINE_RELAY_BATCH_SIZE: '50', SYNCLINE_LOG_LEVEL: 'info' };
    const start = async (n: number) => {
      relays[n] = await spawnService(`relay-${n}`, 'services/outbox-relay/src/main.ts', env);
    };
    await Promise.all([start(0), start(1)]);

    const activePid = async (): Promise<number | undefined> => {
      const { rows } = await ns.pool.query<{ app: string }>(
        `select a.application_name as app from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where l.locktype = 'advisory' and l.granted and a.application_name like 'syncline-relay:%'`,
      );
      const pids = new Set(relays.map((r) => r.pid));
      return rows.map((r) => Number(r.app.split(':')[1])).find((p) => pids.has(p));
    };

    const committed = new Map<string, number[]>(HOT_IDS.map((id) => [id, []]));
    let writing = true;
    let writes = 0;
    const writer = async (w: number) => {
      let i = 0;
      while (writing) {
        const id = HOT_IDS[(w + i++) % HOT_IDS.length]!;
        const res = await app.inject({
          method: 'PUT',
          url: `/v1/collections/products/documents/${id}`,
          payload: { name: `w${w}-${i}`, price: i, tags: [String(w)] },
        });
        expect(res.statusCode).toBeLessThan(300);
        committed.get(id)!.push(res.json().version);
        writes++;
      }
    };
    const writers = Array.from({ length: 16 }, (_, w) => writer(w));

    let kills = 0;
    for (let round = 0; round < 4; round++) {
      await new Promise((r) => setTimeout(r, 1500));
      const pid = await eventually(async () => {
        const p = await activePid();
        expect(p).toBeDefined();
        return p!;
      });
      const idx = relays.findIndex((r) => r.pid === pid);
      await relays[idx]!.kill('SIGKILL');
      kills++;
      await start(idx);
    }
    writing = false;
    await Promise.all(writers);
    expect(kills).toBe(4);
    expect(writes).toBeGreaterThan(200);

    await eventually(
      async () => {
        const { rows } = await ns.pool.query<{ n: string }>('select count(*) as n from syncline_outbox');
        expect(Number(rows[0]!.n)).toBe(0);
      },
      { timeoutMs: 60_000 },
    );

    const codec = new EventCodec(products);
    const messages = await readTopic(ns.kafkajs, products.topic, {
      atLeast: writes,
      groupPrefix: `${ns.groupPrefix}reader`,
    });
    const seen = new Map<string, number[]>();
    for (const { message } of messages) {
      const ev = codec.decode(message.value!, message.headers?.[SCHEMA_HEADER]?.toString());
      const list = seen.get(ev.id) ?? [];
      list.push(ev.version);
      seen.set(ev.id, list);
    }
    const { rows } = await ns.pool.query<Record<string, unknown>>('select * from products');
    const distinctOf = versionsNeverGoBack(seen);
    for (const id of HOT_IDS) {
      const distinct = distinctOf.get(id)!;
      expect(distinct).toEqual([...committed.get(id)!].sort((a, b) => a - b));
      const row = rows.find((r) => r.id === id)!;
      expect(distinct.at(-1)).toBe(Number(row.syncline_version));
      const last = messages
        .map((m) => codec.decode(m.message.value!))
        .filter((e) => e.id === id)
        .at(-1)!;
      expect(last.document).toEqual(rowToDocument(products, row));
    }
  });
});
