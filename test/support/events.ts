// Producing hand-made events straight into a collection topic, as the relay would.

import { type ChangeEvent, type Collection, EventCodec, SCHEMA_HEADER } from '@syncline/schema';
import { type Kafka, Partitioners } from 'kafkajs';

export async function produceEvents(
  kafka: Kafka,
  collection: Collection,
  events: (ChangeEvent | { tombstone: string })[],
) {
  const codec = new EventCodec(collection);
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic: collection.topic,
    acks: -1,
    messages: events.map((e) =>
      'tombstone' in e
        ? { key: codec.encodeKey(e.tombstone), value: null }
        : { key: codec.encodeKey(e.id), value: codec.encode(e), headers: { [SCHEMA_HEADER]: codec.fingerprint } },
    ),
  });
  await producer.disconnect();
}

export const upsert = (id: string, version: number, doc: Record<string, unknown> = {}): ChangeEvent => ({
  collection: 'products',
  id,
  op: 'UPSERT',
  version,
  committedAt: Date.now(),
  document: {
    name: `${id} v${version}`,
    description: null,
    price: version,
    tags: null,
    in_stock: true,
    updated_at: null,
    ...doc,
  },
});

export const del = (id: string, version: number): ChangeEvent => ({
  collection: 'products',
  id,
  op: 'DELETE',
  version,
  committedAt: Date.now(),
  document: null,
});
