// The writer on a real PostgreSQL: events carry the document Avro-encoded with its schema's
// fingerprint; a document the event schema cannot carry is refused before anything is written.

import { EventCodec, loadDeclaration } from '@syncline/schema';
import { createNamespace, type Namespace } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../db/migrations.ts';
import { withTransaction } from './transaction.ts';
import { OutboxWriter } from './writer.ts';

// The demo's products as a table Syncline owns (this suite tests that mode; test/capture.test.ts the other).
const declaration = {
  collections: loadDeclaration(
    new URL('../../../../syncline.collections.json', import.meta.url).pathname,
  ).collections.map((c) => ({ ...c, capture: false, relations: {} })),
};
const products = declaration.collections[0]!;

describe('outbox writer', () => {
  let ns: Namespace;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'writer');
    await migrate(ns.pool, declaration);
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  it('stores each event with its document in Avro and the fingerprint of the schema it was encoded with', async () => {
    const writer = new OutboxWriter(declaration);
    const document = { name: 'Kettle', price: 24.5, tags: ['kitchen'], in_stock: true };
    const [up, del] = await withTransaction(ns.pool, async (client) => [
      ...(await writer.apply(client, 'products', [{ op: 'upsert', id: 'w-1', document }])),
      ...(await writer.apply(client, 'products', [{ op: 'delete', id: 'w-1' }])),
    ]);
    const { rows } = await ns.pool.query<{ version: string; document: Buffer | null; schema: string }>(
      "select version, document, schema from syncline_outbox where aggregate_id = 'w-1' order by seq",
    );
    const codec = new EventCodec(products);
    expect(rows.map((r) => [Number(r.version), r.schema])).toEqual([
      [up!.version, codec.fingerprint],
      [del!.version, codec.fingerprint],
    ]);
    expect(rows[0]!.document).toEqual(codec.encodeDocument(document));
    expect(rows[1]!.document).toBeNull();
  });

  it('writes every field as given, quotes, backslashes and array syntax included', async () => {
    const writer = new OutboxWriter(declaration);
    const tags = ['a"b', 'c\\d', 'e,f', '{g}', 'NULL', '', ' h ', 'ключ €'];
    const document = { name: 'say "hi" \\ {x}', description: null, price: -0.25, tags, in_stock: false };
    await withTransaction(ns.pool, (client) =>
      writer.apply(client, 'products', [
        { op: 'upsert', id: 'w-q', document },
        { op: 'upsert', id: 'w-empty', document: { name: 'Empty', price: 0, tags: [] } },
      ]),
    );
    const { rows } = await ns.pool.query(
      "select id, name, description, price, tags, in_stock, updated_at from products where id in ('w-q', 'w-empty') order by id",
    );
    expect(rows).toEqual([
      { id: 'w-empty', name: 'Empty', description: null, price: 0, tags: [], in_stock: null, updated_at: null },
      { id: 'w-q', ...document, updated_at: null },
    ]);
  });

  it('refuses a document the event schema cannot carry, and writes nothing', async () => {
    const writer = new OutboxWriter(declaration);
    const before = await ns.pool.query('select count(*) as n from syncline_outbox');
    await expect(
      withTransaction(ns.pool, (client) =>
        writer.apply(client, 'products', [
          { op: 'upsert', id: 'w-2', document: { name: 'Mug', price: 3 } },
          { op: 'upsert', id: 'w-3', document: { name: 'Mug', price: 'three' } },
        ]),
      ),
    ).rejects.toMatchObject({ code: 'SYNC_VALIDATION_FAILED', details: [{ path: 'w-3' }] });
    const after = await ns.pool.query('select count(*) as n from syncline_outbox');
    expect(after.rows[0].n).toBe(before.rows[0].n);
    expect((await ns.pool.query("select 1 from products where id in ('w-2', 'w-3')")).rowCount).toBe(0);
  });
});
