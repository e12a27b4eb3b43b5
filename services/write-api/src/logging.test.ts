// No log line carries a query string, a header value or a request body: a token someone put in a URL,
// an API key or a document's content must never land in the service log (errors are logged with the
// route pattern and the error's type, code and stack frames only).
import { Writable } from 'node:stream';
import { createMetricsRegistry, type Logger } from '@syncline/core';
import { loadDeclaration } from '@syncline/schema';
import type pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';

// The demo's products as a table Syncline owns (this suite tests that mode; test/capture.test.ts the other).
const declaration = {
  collections: loadDeclaration(new URL('../../../syncline.collections.json', import.meta.url).pathname).collections.map(
    (c) => ({ ...c, capture: false, relations: {} }),
  ),
};

describe('logging', () => {
  it('never writes a query string, a header value or a body to the log', async () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'trace' },
      new Writable({ write: (chunk, _enc, done) => done(void lines.push(String(chunk))) }),
    );
    // A database that fails with the body in its message (as a driver error quoting a value would),
    // and an index that never shows a write: the two paths that log a failed request.
    const failing = {
      connect: async () => {
        throw new Error('value "SECRET-BODY" is not valid');
      },
      query: async () => ({ rows: [] }),
    } as unknown as pg.Pool;
    const app = await buildApp({
      config: {
        SYNCLINE_API_KEYS: ['SECRET-KEY'],
        SYNCLINE_BODY_LIMIT_BYTES: 1 << 20,
        SYNCLINE_BULK_MAX_OPERATIONS: 10,
        SYNCLINE_WAIT_INDEXED_MAX_MS: 100,
      },
      declaration,
      pool: failing,
      log: log as unknown as Logger,
      registry: createMetricsRegistry('logging-test', false),
      index: { waitIndexed: async () => false },
    });
    const headers = { 'x-api-key': 'SECRET-KEY', 'x-other': 'SECRET-HEADER', 'content-type': 'application/json' };
    const sent = [
      await app.inject({
        method: 'PUT',
        url: '/v1/collections/products/documents/a?token=SECRET-QUERY',
        headers,
        payload: { name: 'SECRET-BODY', price: 1 },
      }),
      await app.inject({ method: 'GET', url: '/nowhere?token=SECRET-QUERY', headers }),
      await app.inject({
        method: 'PUT',
        url: '/v1/collections/products/documents/b?token=SECRET-QUERY',
        headers: { ...headers, 'x-api-key': 'wrong' },
        payload: '{',
      }),
    ];
    expect(sent.map((r) => r.statusCode)).toEqual([500, 404, 401]);
    await app.close();
    expect(lines.some((l) => l.includes('unexpected error'))).toBe(true);
    for (const secret of ['SECRET-QUERY', 'SECRET-HEADER', 'SECRET-BODY', 'SECRET-KEY']) {
      expect(
        lines.filter((l) => l.includes(secret)),
        secret,
      ).toEqual([]);
    }
  });
});
