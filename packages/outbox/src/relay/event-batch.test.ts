import { EVENT_ID_HEADER, EventCodec, loadDeclaration, SCHEMA_HEADER } from '@syncline/schema';
import { describe, expect, it } from 'vitest';
import { BatchEncoder, unpack } from './event-batch.ts';

// The demo's products as a table Syncline owns (this suite tests that mode; test/capture.test.ts the other).
const declaration = {
  collections: loadDeclaration(
    new URL('../../../../syncline.collections.json', import.meta.url).pathname,
  ).collections.map((c) => ({ ...c, capture: false, relations: {} })),
};
const products = declaration.collections[0]!;
const document = {
  name: 'Kettle',
  description: null,
  price: 25,
  tags: ['kitchen'],
  in_stock: true,
  updated_at: '2026-11-27T08:00:00.000Z',
};

describe('packed outbox batches', () => {
  it('round-trips through one transferable buffer: Avro keys and values, headers, a tombstone after each delete', () => {
    const writer = new EventCodec(products);
    const packed = new BatchEncoder(declaration).pack([
      {
        seq: 7,
        collection: 'products',
        aggregateId: 'p-1',
        op: 'UPSERT',
        version: 41,
        document: writer.encodeDocument(document),
        schema: writer.fingerprint,
        committedAt: 1,
      },
      {
        seq: 9,
        collection: 'products',
        aggregateId: 'p-2',
        op: 'DELETE',
        version: 42,
        document: null,
        schema: writer.fingerprint,
        committedAt: 2,
      },
    ]);
    expect(packed.runs).toEqual([7, 7, 9, 9]);
    expect(packed.events).toBe(2);
    const structuredCopy = structuredClone(packed, { transfer: [packed.bytes] });
    const [topic] = unpack(structuredCopy);
    expect(topic!.topic).toBe(products.topic);
    const codec = new EventCodec(products);
    const m = topic!.messages;
    expect(m).toHaveLength(3);
    expect(m.map((x) => codec.decodeKey(x.key as Buffer))).toEqual(['p-1', 'p-2', 'p-2']);
    expect(codec.decode(m[0]!.value as Buffer)).toEqual({
      collection: 'products',
      id: 'p-1',
      op: 'UPSERT',
      version: 41,
      committedAt: 1,
      document,
    });
    expect(codec.decode(m[1]!.value as Buffer)).toMatchObject({ id: 'p-2', op: 'DELETE', version: 42, document: null });
    expect(m[2]!.value).toBeNull();
    for (const x of m) expect(x.headers![SCHEMA_HEADER]).toBe(codec.fingerprint);
    expect(m.map((x) => x.headers![EVENT_ID_HEADER])).toEqual([
      'products:p-1:41',
      'products:p-2:42',
      'products:p-2:42',
    ]);
  });

  it("keeps each record's own schema in order, and encodes rows stored as JSON by earlier versions", () => {
    const codec = new EventCodec(products);
    const row = (seq: number, version: number, schema: string | null) => ({
      seq,
      collection: 'products',
      aggregateId: 'p-1',
      op: 'UPSERT' as const,
      version,
      document: codec.encodeDocument(document),
      schema,
      committedAt: version,
    });
    const legacy = { ...row(4, 3, null), document: null, payload: document };
    const packed = new BatchEncoder(declaration).pack([row(1, 1, 'a'.repeat(64)), row(2, 2, null), legacy]);
    expect(packed.runs).toEqual([1, 2, 4, 4]);
    const [topic] = unpack(packed);
    expect(topic!.messages.map((m) => m.headers![SCHEMA_HEADER])).toEqual([
      'a'.repeat(64),
      codec.fingerprint,
      codec.fingerprint,
    ]);
    expect(topic!.messages.map((m) => codec.decode(m.value as Buffer))).toEqual(
      [1, 2, 3].map((v) => ({ collection: 'products', id: 'p-1', op: 'UPSERT', version: v, committedAt: v, document })),
    );
  });

  it('refuses a row of an unknown collection', () => {
    expect(() =>
      new BatchEncoder(declaration).pack([
        {
          seq: 1,
          collection: 'nope',
          aggregateId: 'x',
          op: 'UPSERT',
          version: 1,
          document: null,
          schema: null,
          committedAt: 0,
        },
      ]),
    ).toThrow(/unknown collection 'nope'/);
  });
});

describe('captured row images', () => {
  const captured = { collections: [{ ...products, capture: true }] };
  const image = (id: string, name: string) => ({
    seq: 1,
    collection: 'products',
    aggregateId: id,
    op: 'UPSERT' as const,
    version: 5,
    document: null,
    schema: null,
    payload: {
      id,
      name,
      description: null,
      price: 2.5,
      tags: null,
      in_stock: null,
      updated_at: '2026-01-02T03:04:05.678901+00:00',
      extra: 1,
    },
    committedAt: 3,
  });

  it('become events of the declared fields; what the declaration cannot carry becomes a dead letter with its reason', () => {
    const packed = new BatchEncoder(captured).pack([image('ok', 'Lamp'), { ...image('bad', 'x'.repeat(201)), seq: 2 }]);
    expect(packed.runs).toEqual([1, 2]);
    const topics = unpack(packed);
    const codec = new EventCodec(products);
    const events = topics.find((t) => t.topic === products.topic)!.messages;
    expect(codec.decode(events[0]!.value as Buffer).document).toEqual({
      name: 'Lamp',
      description: null,
      price: 2.5,
      tags: null,
      in_stock: null,
      updated_at: '2026-01-02T03:04:05.678Z',
    });
    const letters = topics.find((t) => t.topic === `${products.topic}.dlq`)!.messages;
    expect(letters).toHaveLength(1);
    expect(codec.decodeKey(letters[0]!.key as Buffer)).toBe('bad');
    expect(letters[0]!.headers!['syncline-dlq-error-type']).toBe('SYNC_CAPTURE_REFUSED');
    expect(letters[0]!.headers!['syncline-dlq-reason']).toMatch(/^name: must be at most 200 characters/);
    expect(JSON.parse((letters[0]!.value as Buffer).toString())).toMatchObject({ id: 'bad', version: 5 });
  });
});
