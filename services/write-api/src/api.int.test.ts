// The write API on a real PostgreSQL: every answer, the outbox in the same transaction, and the
// promise that a rejected request changes nothing.

import { createLogger, createMetricsRegistry } from '@syncline/core';
import { migrate } from '@syncline/outbox';
import { EventCodec, loadDeclaration } from '@syncline/schema';
import { createNamespace, type Namespace } from '@syncline/testkit';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from './app.ts';

// The demo's products as a table Syncline owns (this suite tests that mode; test/capture.test.ts the other).
const declaration = {
  collections: loadDeclaration(new URL('../../../syncline.collections.json', import.meta.url).pathname).collections.map(
    (c) => ({ ...c, capture: false, relations: {} }),
  ),
};
const KEY = 'test-key';
const auth = { 'x-api-key': KEY };
const doc = {
  name: 'Kettle',
  price: 24.5,
  tags: ['kitchen', 'steel'],
  in_stock: true,
  updated_at: '2026-11-27T08:00:00Z',
};

describe('write API on PostgreSQL', () => {
  let ns: Namespace;
  let app: FastifyInstance;

  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'writeapi');
    await migrate(ns.pool, declaration);
    app = await buildApp({
      config: {
        SYNCLINE_API_KEYS: [KEY],
        SYNCLINE_BODY_LIMIT_BYTES: 64 * 1024,
        SYNCLINE_BULK_MAX_OPERATIONS: 100,
        SYNCLINE_WAIT_INDEXED_MAX_MS: 1000,
      },
      declaration,
      pool: ns.pool,
      log: createLogger('write-api-test', 'error'),
      registry: createMetricsRegistry('write-api-test', false),
    });
  });
  afterAll(async () => {
    await app?.close();
    await ns?.cleanup();
  });

  const counts = async () => {
    const { rows } = await ns.pool.query<{ rows: string; events: string; v: string }>(
      `select (select count(*) from products) as rows, (select count(*) from syncline_outbox) as events,
              (select coalesce(sum(syncline_version), 0) from products) as v`,
    );
    return rows[0]!;
  };
  // The events as a consumer will see them: each document was Avro-encoded by the writer.
  const codec = new EventCodec(declaration.collections[0]!);
  const outboxFor = async (id: string) =>
    (
      await ns.pool.query<{ op: 'UPSERT' | 'DELETE'; version: string; document: Buffer | null; schema: string }>(
        'select op, version, document, schema from syncline_outbox where aggregate_id = $1 order by seq',
        [id],
      )
    ).rows.map((r) => {
      expect(r.schema).toBe(codec.fingerprint);
      const event = { collection: 'products', id, op: r.op, version: Number(r.version), committedAt: 0 };
      return { ...event, payload: codec.decode(codec.encodeWithDocument(event, r.document)).document };
    });

  it('creates, reads, replaces with If-Match, patches and deletes, with one outbox event per change', async () => {
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/collections/products/documents/p-1',
      headers: auth,
      payload: doc,
    });
    expect(put.statusCode).toBe(201);
    const v1 = put.json().version as number;
    expect(put.headers.etag).toBe(`"${v1}"`);
    expect(put.json().document).toEqual({ ...doc, description: null, updated_at: '2026-11-27T08:00:00.000Z' });

    const get = await app.inject({ method: 'GET', url: '/v1/collections/products/documents/p-1', headers: auth });
    expect(get.statusCode).toBe(200);
    expect(get.json()).toEqual(put.json());

    const replace = await app.inject({
      method: 'PUT',
      url: '/v1/collections/products/documents/p-1',
      headers: { ...auth, 'if-match': `"${v1}"` },
      payload: { ...doc, price: 30 },
    });
    expect(replace.statusCode).toBe(200);
    const v2 = replace.json().version as number;
    expect(v2).toBeGreaterThan(v1);
    // Without If-Match a replace needs no read of the current row; it still answers 200, not 201.
    const plain = await app.inject({
      method: 'PUT',
      url: '/v1/collections/products/documents/p-1',
      headers: auth,
      payload: { ...doc, price: 30 },
    });
    expect(plain.statusCode).toBe(200);
    const v2b = plain.json().version as number;
    expect(v2b).toBeGreaterThan(v2);

    const patch = await app.inject({
      method: 'PATCH',
      url: '/v1/collections/products/documents/p-1',
      headers: auth,
      payload: { in_stock: false, description: 'A steel kettle' },
    });
    expect(patch.statusCode).toBe(200);
    expect(patch.json().document).toMatchObject({
      name: 'Kettle',
      price: 30,
      in_stock: false,
      description: 'A steel kettle',
    });
    const v3 = patch.json().version as number;

    const del = await app.inject({ method: 'DELETE', url: '/v1/collections/products/documents/p-1', headers: auth });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({ id: 'p-1', deleted: true });
    const v4 = del.json().version as number;
    expect(
      (await app.inject({ method: 'GET', url: '/v1/collections/products/documents/p-1', headers: auth })).statusCode,
    ).toBe(404);

    const events = await outboxFor('p-1');
    expect(events.map((e) => [e.op, e.version])).toEqual([
      ['UPSERT', v1],
      ['UPSERT', v2],
      ['UPSERT', v2b],
      ['UPSERT', v3],
      ['DELETE', v4],
    ]);
    expect(events[3]!.payload).toEqual(patch.json().document);
    expect(events[4]!.payload).toBeNull();
  });

  it('applies a bulk request in one transaction with multi-row SQL', async () => {
    const operations = [
      ...Array.from({ length: 20 }, (_, i) => ({
        op: 'upsert',
        id: `b-${i}`,
        document: { ...doc, name: `Item ${i}` },
      })),
    ];
    const res = await app.inject({
      method: 'POST',
      url: '/v1/collections/products/_bulk',
      headers: auth,
      payload: { operations },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toHaveLength(20);
    const second = await app.inject({
      method: 'POST',
      url: '/v1/collections/products/_bulk',
      headers: auth,
      payload: {
        operations: [
          { op: 'delete', id: 'b-0' },
          { op: 'patch', id: 'b-1', document: { price: 1 } },
          { op: 'upsert', id: 'b-new', document: doc },
        ],
      },
    });
    expect(second.statusCode).toBe(200);
    const { rows } = await ns.pool.query(
      "select id, price from products where id in ('b-0','b-1','b-new') order by id",
    );
    expect(rows).toEqual([
      { id: 'b-1', price: 1 },
      { id: 'b-new', price: 24.5 },
    ]);
  });

  const cases: {
    name: string;
    method: 'PUT' | 'PATCH' | 'DELETE' | 'GET' | 'POST';
    url: string;
    headers?: Record<string, string>;
    payload?: string | object;
    status: number;
    code: string;
  }[] = [
    {
      name: 'malformed JSON',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
      status: 400,
      code: 'SYNC_MALFORMED_JSON',
    },
    {
      name: 'empty JSON body',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      headers: { 'content-type': 'application/json' },
      payload: '',
      status: 400,
      code: 'SYNC_MALFORMED_JSON',
    },
    {
      name: 'missing required field',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      payload: { price: 1 },
      status: 400,
      code: 'SYNC_VALIDATION_FAILED',
    },
    {
      name: 'wrong field type',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      payload: { name: 'a', price: 'cheap' },
      status: 400,
      code: 'SYNC_VALIDATION_FAILED',
    },
    {
      name: 'unknown field',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      payload: { name: 'a', price: 1, colour: 'red' },
      status: 400,
      code: 'SYNC_VALIDATION_FAILED',
    },
    {
      name: 'negative price',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      payload: { name: 'a', price: -1 },
      status: 400,
      code: 'SYNC_VALIDATION_FAILED',
    },
    {
      name: 'bad timestamp',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      payload: { name: 'a', price: 1, updated_at: 'yesterday' },
      status: 400,
      code: 'SYNC_VALIDATION_FAILED',
    },
    {
      name: 'array body',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      payload: '[1,2]',
      headers: { 'content-type': 'application/json' },
      status: 400,
      code: 'SYNC_VALIDATION_FAILED',
    },
    {
      name: 'bad id',
      method: 'PUT',
      url: '/v1/collections/products/documents/%20bad%20id',
      payload: doc,
      status: 400,
      code: 'SYNC_INVALID_ID',
    },
    {
      name: 'unknown collection',
      method: 'PUT',
      url: '/v1/collections/nope/documents/x-1',
      payload: doc,
      status: 404,
      code: 'SYNC_UNKNOWN_COLLECTION',
    },
    { name: 'unknown route', method: 'GET', url: '/v2/whatever', status: 404, code: 'SYNC_ROUTE_NOT_FOUND' },
    {
      name: 'stale If-Match',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      headers: { 'if-match': '"999999999"' },
      payload: doc,
      status: 412,
      code: 'SYNC_VERSION_MISMATCH',
    },
    {
      name: 'malformed If-Match',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      headers: { 'if-match': 'abc' },
      payload: doc,
      status: 400,
      code: 'SYNC_INVALID_PRECONDITION',
    },
    {
      name: 'patch of a missing document',
      method: 'PATCH',
      url: '/v1/collections/products/documents/x-404',
      payload: { price: 1 },
      status: 404,
      code: 'SYNC_NOT_FOUND',
    },
    {
      name: 'delete of a missing document',
      method: 'DELETE',
      url: '/v1/collections/products/documents/x-404',
      status: 404,
      code: 'SYNC_NOT_FOUND',
    },
    {
      name: 'body too large',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      payload: { name: 'a', price: 1, description: 'x'.repeat(70_000) },
      status: 413,
      code: 'SYNC_PAYLOAD_TOO_LARGE',
    },
    {
      name: 'wrong content type',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
      status: 415,
      code: 'SYNC_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'missing API key',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      headers: { 'x-api-key': '' },
      payload: doc,
      status: 401,
      code: 'SYNC_UNAUTHORIZED',
    },
    {
      name: 'wrong API key',
      method: 'PUT',
      url: '/v1/collections/products/documents/x-1',
      headers: { 'x-api-key': 'nope' },
      payload: doc,
      status: 401,
      code: 'SYNC_UNAUTHORIZED',
    },
    {
      name: 'bulk with one invalid item',
      method: 'POST',
      url: '/v1/collections/products/_bulk',
      payload: {
        operations: [
          { op: 'upsert', id: 'x-2', document: doc },
          { op: 'upsert', id: 'x-3', document: { price: 1 } },
        ],
      },
      status: 400,
      code: 'SYNC_VALIDATION_FAILED',
    },
    {
      name: 'bulk with a duplicate id',
      method: 'POST',
      url: '/v1/collections/products/_bulk',
      payload: {
        operations: [
          { op: 'upsert', id: 'x-2', document: doc },
          { op: 'delete', id: 'x-2' },
        ],
      },
      status: 400,
      code: 'SYNC_VALIDATION_FAILED',
    },
    {
      name: 'bulk with a stale ifMatch',
      method: 'POST',
      url: '/v1/collections/products/_bulk',
      payload: {
        operations: [
          { op: 'upsert', id: 'x-2', document: doc },
          { op: 'upsert', id: 'x-1', document: doc, ifMatch: 999999999 },
        ],
      },
      status: 412,
      code: 'SYNC_VERSION_MISMATCH',
    },
    {
      name: 'bulk without operations',
      method: 'POST',
      url: '/v1/collections/products/_bulk',
      payload: { ops: [] },
      status: 400,
      code: 'SYNC_VALIDATION_FAILED',
    },
  ];

  it.each(cases)('answers $status $code for $name, and changes nothing', async (c) => {
    await app.inject({ method: 'PUT', url: '/v1/collections/products/documents/x-1', headers: auth, payload: doc });
    const before = await counts();
    const headers = { ...auth, ...(c.headers ?? {}) };
    const res = await app.inject({
      method: c.method,
      url: c.url,
      headers,
      ...(c.payload === undefined ? {} : { payload: c.payload }),
    });
    expect(res.statusCode).toBe(c.status);
    const body = res.json();
    expect(body.error.code).toBe(c.code);
    expect(JSON.stringify(body)).not.toMatch(/\\n\s+at |select .* from|insert into|node_modules/i);
    expect(await counts()).toEqual(before);
  });

  it('keeps health and metrics open without a key', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('syncline_http_requests_total');
    const openapi = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(openapi.json().paths).toHaveProperty('/v1/collections/{collection}/documents/{id}');
  });

  it('never answers 5xx to any JSON body (property-based)', async () => {
    const field = fc.oneof(fc.jsonValue(), fc.string(), fc.double(), fc.array(fc.string()), fc.constant(null));
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        { name: field, price: field, tags: field, in_stock: field, updated_at: field, description: field },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('PUT', 'PATCH'), async (payload, method) => {
        const res = await app.inject({
          method,
          url: '/v1/collections/products/documents/fc-1',
          headers: { ...auth, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
        expect(res.statusCode, res.body).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });
});
