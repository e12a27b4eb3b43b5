// Migrations on a real PostgreSQL: idempotent, and run beside live writers without waiting for them.

import { loadDeclaration } from '@syncline/schema';
import { createNamespace, type Namespace } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../db/migrations.ts';

// The demo's products as a table Syncline owns (this suite tests that mode; test/capture.test.ts the other).
const declaration = {
  collections: loadDeclaration(
    new URL('../../../../syncline.collections.json', import.meta.url).pathname,
  ).collections.map((c) => ({ ...c, capture: false, relations: {} })),
};

describe('migrations', () => {
  let ns: Namespace;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'migrate');
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  it('run again while a writer holds the tables, without waiting for it', async () => {
    await migrate(ns.pool, declaration);
    const writer = await ns.pool.connect();
    try {
      await writer.query('begin');
      await writer.query(`insert into products (id, name, price, syncline_version) values ('m-1', 'x', 1, 1)`);
      await writer.query(
        `insert into syncline_outbox (collection, aggregate_id, op, version) values ('products', 'm-1', 'UPSERT', 1)`,
      );
      // An ALTER TABLE here would queue behind the writer (and deadlock with its next statement).
      const again = migrate(ns.pool, declaration).then(() => 'done');
      const waited = new Promise((r) => setTimeout(() => r('blocked'), 3000));
      expect(await Promise.race([again, waited])).toBe('done');
      await writer.query('commit');
    } finally {
      writer.release();
    }
  });

  it('adds what an outbox of an earlier version lacks', async () => {
    await ns.pool.query('alter table syncline_outbox drop column document, drop column schema');
    await migrate(ns.pool, declaration);
    const { rows } = await ns.pool.query<{ column_name: string }>(
      `select column_name from information_schema.columns
       where table_schema = current_schema() and table_name = 'syncline_outbox' order by column_name`,
    );
    expect(rows.map((r) => r.column_name)).toEqual(expect.arrayContaining(['document', 'schema', 'payload']));
  });
});
