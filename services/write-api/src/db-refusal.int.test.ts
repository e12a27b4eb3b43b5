// A value the validation accepts but PostgreSQL refuses (here a CHECK constraint of the table's own)
// is a 400 SYNC_VALUE_REFUSED, never a 500; a _bulk names the operation and writes nothing.

import { createLogger, createMetricsRegistry } from '@syncline/core';
import { migrate } from '@syncline/outbox';
import { loadDeclaration } from '@syncline/schema';
import { createNamespace, type Namespace } from '@syncline/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from './app.ts';

// The demo's products as a table Syncline owns (this suite tests that mode; test/capture.test.ts the other).
const declaration = {
  collections: loadDeclaration(new URL('../../../syncline.collections.json', import.meta.url).pathname).collections.map(
    (c) => ({ ...c, capture: false, relations: {} }),
  ),
};

describe('values PostgreSQL refuses', () => {
  let ns: Namespace;
  let app: FastifyInstance;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'refusal');
    await migrate(ns.pool, declaration);
    await ns.pool.query('alter table products add constraint price_below_1000 check (price < 1000)');
    app = await buildApp({
      config: {
        SYNCLINE_API_KEYS: [],
        SYNCLINE_BODY_LIMIT_BYTES: 1 << 20,
        SYNCLINE_BULK_MAX_OPERATIONS: 100,
        SYNCLINE_WAIT_INDEXED_MAX_MS: 1000,
      },
      declaration,
      pool: ns.pool,
      log: createLogger('refusal-test', 'silent'),
      registry: createMetricsRegistry('refusal-test', false),
    });
  });
  afterAll(async () => {
    await app?.close();
    await ns?.cleanup();
  });

  const count = async (table: string) => Number((await ns.pool.query(`select count(*) as n from ${table}`)).rows[0].n);

  it('answers 400 SYNC_VALUE_REFUSED for one document', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/v1/collections/products/documents/r-1',
      payload: { name: 'r', price: 5000 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('SYNC_VALUE_REFUSED');
    expect(await count('products')).toBe(0);
  });

  it('names the refused operations of a _bulk and writes none of it', async () => {
    const operations = [1, 5000, 2, 3, 7000].map((price, i) => ({
      op: 'upsert',
      id: `b-${i}`,
      document: { name: 'b', price },
    }));
    const res = await app.inject({ method: 'POST', url: '/v1/collections/products/_bulk', payload: { operations } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('SYNC_VALUE_REFUSED');
    expect(res.json().error.details.map((d: { path: string }) => d.path)).toEqual(['operations[1]', 'operations[4]']);
    expect(await count('products')).toBe(0);
    expect(await count('syncline_outbox')).toBe(0);
  });

  it('spends a bounded number of transactions naming them: a _bulk refused everywhere names none', async () => {
    const operations = Array.from({ length: 100 }, (_, i) => ({
      op: 'upsert',
      id: `all-${i}`,
      document: { name: 'b', price: 5000 },
    }));
    const res = await app.inject({ method: 'POST', url: '/v1/collections/products/_bulk', payload: { operations } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([{ path: 'operations', message: expect.any(String) }]);
    expect(await count('products')).toBe(0);
  });
});
