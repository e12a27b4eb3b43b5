// The event contract's evolution rules, and the generated .avsc files being up to date.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertFullyCompatible, EventCodec, valueSchema } from './avro.ts';
import { AVRO_DIR, avscFiles, historicSchemas } from './avsc-files.ts';
import { type Collection, loadDeclaration, parseDeclaration } from './declaration.ts';

const declaration = loadDeclaration(new URL('../../../syncline.collections.json', import.meta.url).pathname);
const products = declaration.collections[0]!;

const withField = (c: Collection, name: string, field: object): Collection =>
  parseDeclaration({ collections: [{ ...c, fields: { ...c.fields, [name]: field } }] }).collections[0]!;

const event = {
  collection: 'products',
  id: 'p-1',
  op: 'UPSERT' as const,
  version: 42,
  committedAt: 1_790_000_000_123,
  document: {
    name: 'Kettle',
    description: null,
    price: 24.5,
    tags: ['kitchen'],
    in_stock: true,
    updated_at: '2026-11-27T08:00:00.000Z',
    brand: null,
    reviews: [],
  },
};

describe('event contract', () => {
  it('round-trips keys, upserts and deletes', () => {
    const codec = new EventCodec(products);
    expect(codec.decodeKey(codec.encodeKey('p-1'))).toBe('p-1');
    expect(codec.decode(codec.encode(event))).toEqual(event);
    const del = { ...event, op: 'DELETE' as const, document: null };
    expect(codec.decode(codec.encode(del))).toEqual(del);
  });

  it('an event built from a document encoded ahead is byte for byte the event encoded whole', () => {
    const codec = new EventCodec(products);
    const { document, ...envelope } = event;
    expect(codec.encodeWithDocument(envelope, codec.encodeDocument(document))).toEqual(codec.encode(event));
    const sparse = { ...event, version: 2 ** 40, document: { name: 'Mug', price: 3, in_stock: false } };
    expect(codec.encodeWithDocument(sparse, codec.encodeDocument(sparse.document))).toEqual(codec.encode(sparse));
    expect(codec.decode(codec.encodeWithDocument(sparse, codec.encodeDocument(sparse.document)))).toEqual({
      ...sparse,
      document: { ...sparse.document, description: null, tags: null, updated_at: null, brand: null, reviews: [] },
    });
    const del = { ...envelope, op: 'DELETE' as const };
    expect(codec.encodeWithDocument(del, null)).toEqual(codec.encode({ ...del, document: null }));
  });

  it('writes key and value into a shared buffer, within the size it announced', () => {
    const codec = new EventCodec(products);
    const { document, ...envelope } = event;
    for (const [e, bytes] of [
      [{ ...envelope, id: 'ключ-€-'.repeat(30), version: 2 ** 50 }, codec.encodeDocument(document)],
      [{ ...envelope, op: 'DELETE' as const, committedAt: -1 }, null],
    ] as const) {
      const bound = codec.eventSizeBound(e, bytes);
      const buf = Buffer.alloc(3 + bound);
      const { keyEnd, end } = codec.writeEvent(buf, 3, e, bytes);
      expect(end).toBeLessThanOrEqual(3 + bound);
      expect(buf.subarray(3, keyEnd)).toEqual(codec.encodeKey(e.id));
      expect(buf.subarray(keyEnd, end)).toEqual(codec.encodeWithDocument(e, bytes));
    }
  });

  it('adding an optional field keeps old and new readers working', () => {
    const next = withField(products, 'color', { type: 'string' });
    expect(() => assertFullyCompatible(valueSchema(products), valueSchema(next))).not.toThrow();
    const oldCodec = new EventCodec(products);
    const newCodec = new EventCodec(next, [valueSchema(products)]);
    // A new reader reads an old event: the new field is null.
    const old = newCodec.decode(oldCodec.encode(event), oldCodec.fingerprint);
    expect(old.document).toMatchObject({ name: 'Kettle', color: null });
    // An old reader reads a new event: the unknown field is skipped.
    const oldReaderOfNew = new EventCodec(products, [valueSchema(next)]);
    const decoded = oldReaderOfNew.decode(
      newCodec.encode({ ...event, document: { ...event.document, color: 'red' } }),
      newCodec.fingerprint,
    );
    expect(decoded.document).toEqual(event.document);
  });

  it('carries joined documents two levels deep: objects, arrays of objects, converted values inside', () => {
    const orders = parseDeclaration({
      collections: [
        {
          name: 'orders',
          table: 'orders',
          capture: true,
          topic: 'orders',
          index: { alias: 'orders' },
          fields: { placed_at: { type: 'timestamp' } },
          relations: {
            customer: { kind: 'one', table: 'customers', column: 'customer_id', fields: { name: { type: 'string' } } },
            items: {
              kind: 'many',
              table: 'items',
              column: 'order_id',
              primaryKeyType: 'integer',
              fields: { qty: { type: 'long', required: true }, shipped_at: { type: 'timestamp' } },
              relations: {
                product: { kind: 'one', table: 'products', column: 'product_id', fields: { name: { type: 'string' } } },
              },
            },
          },
        },
      ],
    }).collections[0]!;
    const codec = new EventCodec(orders);
    const order = {
      ...event,
      collection: 'orders',
      document: {
        placed_at: '2026-11-27T08:00:00.000Z',
        customer: { id: 'c-1', name: 'Ada' },
        items: [
          { id: '1', qty: 2, shipped_at: '2026-11-28T09:30:00.123Z', product: { id: 'p-1', name: 'Kettle' } },
          { id: '2', qty: 1, shipped_at: null, product: null },
        ],
      },
    };
    expect(codec.decode(codec.encode(order))).toEqual(order);
    const bare = { ...order, document: { placed_at: null, customer: null, items: [] } };
    expect(codec.decode(codec.encode(bare))).toEqual(bare);
    // Adding a relation is a compatible change (a record or null, an array: both default to empty).
    const without = { ...orders, relations: {} };
    expect(() => assertFullyCompatible(valueSchema(without), valueSchema(orders))).not.toThrow();
  });

  it('adding a required field is an incompatible change', () => {
    const next = withField(products, 'sku', { type: 'string', required: true });
    expect(() => assertFullyCompatible(valueSchema(products), valueSchema(next))).toThrow(/incompatible/);
  });

  it('changing a field type is an incompatible change', () => {
    const next = withField(products, 'price', { type: 'string' });
    expect(() => assertFullyCompatible(valueSchema(products), valueSchema(next))).toThrow(/incompatible/);
  });

  it('rejects an undecodable record with SYNC_EVENT_UNDECODABLE', () => {
    expect(() => new EventCodec(products).decode(Buffer.from([1, 2, 3]))).toThrow(
      expect.objectContaining({ code: 'SYNC_EVENT_UNDECODABLE' }),
    );
  });

  it('the checked-in .avsc files are generated from the current declaration', () => {
    for (const c of declaration.collections) {
      for (const [name, text] of Object.entries(avscFiles(c))) {
        expect(
          readFileSync(join(AVRO_DIR, name), 'utf8'),
          `${name} is stale: npm run generate -w @syncline/schema`,
        ).toBe(text);
      }
    }
  });

  it('the current schema can read, and be read by, every schema ever published', () => {
    for (const c of declaration.collections) {
      const history = historicSchemas(c.name);
      expect(history.length).toBeGreaterThan(0);
      for (const old of history) assertFullyCompatible(old, valueSchema(c));
    }
  });
});

describe('declaration', () => {
  it('refuses relations on a table Syncline owns, and a joined field named id', () => {
    const relation = { kind: 'one', table: 'brands', column: 'brand_id', fields: { id: { type: 'string' } } };
    const parse = () =>
      parseDeclaration({ collections: [{ ...products, capture: false, relations: { brand: relation } }] });
    expect(parse).toThrow(/collections\.0\.relations: relations need "capture": true/);
    expect(parse).toThrow(/collections\.0\.relations\.brand\.id: id is the joined row's key/);
    // A relation named like a column, and two paths that would make one Avro record name.
    const country = { kind: 'one', table: 'countries', column: 'country_id' };
    expect(() =>
      parseDeclaration({
        collections: [
          {
            ...products,
            relations: {
              tags: { kind: 'many', table: 't', column: 'p' },
              brand: { ...relation, fields: {}, relations: { country } },
              brand_country: country,
            },
          },
        ],
      }),
    ).toThrow(/relations\.tags: a field or column has this name[\s\S]*brand\.country and brand_country would share/);
  });

  it('names the path of every mistake', () => {
    expect(() =>
      parseDeclaration({
        collections: [{ ...products, table: 'Bad-Name', fields: { price: { type: 'money' } } }],
      }),
    ).toThrow(/collections\.0\.table[\s\S]*collections\.0\.fields\.price\.type/);
  });
});
