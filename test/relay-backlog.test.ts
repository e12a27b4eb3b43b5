// The write API's embedded relay shows the outbox backlog on /metrics: it grows while another
// session holds the relay's leadership (so nothing is published) and falls to 0 once it drains.

import { createNamespace, eventually, type Namespace, type RunningService, spawnService } from '@syncline/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { namespacedDeclaration, serviceEnv } from './support/namespaced.ts';

const backlogOf = async (api: RunningService) => {
  const text = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('syncline_outbox_backlog'));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe('outbox backlog metric', () => {
  let ns: Namespace;
  let api: RunningService | undefined;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'backlog');
  });
  afterAll(async () => {
    await api?.kill();
    await ns?.cleanup();
  });

  it('is non-zero on the write API while a backlog exists, and 0 once drained', async () => {
    const { path } = namespacedDeclaration(ns);
    // Hold the relay's leadership (the lock key of packages/outbox/src/db/tables.ts) in a session of our own.
    const holder = new pg.Client({ connectionString: ns.pgUrl });
    await holder.connect();
    await holder.query(`select pg_advisory_lock(hashtextextended(current_schema() || ':' || 'syncline-relay:0', 0))`);
    try {
      api = await spawnService('backlog-write-api', 'services/write-api/src/main.ts', serviceEnv(ns, path));
      const metrics = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
      expect(metrics).toMatch(/^syncline_relay_active\{[^}]*\} 0$/m);
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`http://127.0.0.1:${api.port}/v1/collections/products/documents/b-${i}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: `backlog ${i}`, price: i }),
        });
        expect(res.status).toBe(201);
      }
      await eventually(async () => expect(await backlogOf(api!)).toBe(5), { timeoutMs: 20_000 });
    } finally {
      await holder.end();
    }
    await eventually(async () => expect(await backlogOf(api!)).toBe(0), { timeoutMs: 30_000 });
  });
});
