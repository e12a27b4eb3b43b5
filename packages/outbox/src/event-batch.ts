// Turns outbox rows into Kafka records: one topic per collection, key = document id (Avro), value =
// the Avro change event, and a tombstone after each delete so compaction can forget the key.
// A batch is packed into one transferable buffer so it can be built on a worker thread and handed
// to the thread that talks to Kafka without copying each record.
import type { Message } from 'kafkajs';
import { type Declaration, EVENT_ID_HEADER, EventCodec, historicSchemas, SCHEMA_HEADER } from '@syncline/schema';

export interface OutboxRow {
  seq: string;
  collection: string;
  aggregateId: string;
  op: 'UPSERT' | 'DELETE';
  version: number;
  payload: Record<string, unknown> | null;
  /** Commit time, epoch milliseconds. */
  committedAt: number;
}

interface PackedTopic {
  topic: string;
  fingerprint: string;
  eventIds: string[];
  /** Per record: key offset, key length, value offset, value length (-1 for a tombstone). */
  layout: Int32Array;
}

export interface PackedBatch {
  /** Outbox seqs in the batch, to remove once Kafka acknowledged it. */
  seqs: string[];
  events: number;
  bytes: ArrayBuffer;
  topics: PackedTopic[];
}

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

export class BatchEncoder {
  private readonly codecs = new Map<string, { codec: EventCodec; topic: string }>();

  constructor(declaration: Declaration) {
    for (const c of declaration.collections) {
      this.codecs.set(c.name, { codec: new EventCodec(c, historicSchemas(c.name)), topic: c.topic });
    }
  }

  pack(rows: OutboxRow[]): PackedBatch {
    const parts: Buffer[] = [];
    const groups = new Map<string, { topic: string; fingerprint: string; eventIds: string[]; layout: number[] }>();
    let offset = 0;
    for (const row of rows) {
      const entry = this.codecs.get(row.collection);
      if (!entry) throw new Error(`outbox row ${row.seq} names unknown collection '${row.collection}'`);
      const { codec, topic } = entry;
      const key = codec.encodeKey(row.aggregateId);
      const value = codec.encode({
        collection: row.collection,
        id: row.aggregateId,
        op: row.op,
        version: row.version,
        committedAt: row.committedAt,
        document: row.payload,
      });
      let group = groups.get(topic);
      if (!group) {
        group = { topic, fingerprint: codec.fingerprint, eventIds: [], layout: [] };
        groups.set(topic, group);
      }
      const eventId = `${row.collection}:${row.aggregateId}:${row.version}`;
      parts.push(key, value);
      group.layout.push(offset, key.length, offset + key.length, value.length);
      group.eventIds.push(eventId);
      if (row.op === 'DELETE') {
        group.layout.push(offset, key.length, 0, -1);
        group.eventIds.push(eventId);
      }
      offset += key.length + value.length;
    }
    const bytes = new ArrayBuffer(offset);
    const view = Buffer.from(bytes);
    let at = 0;
    for (const p of parts) {
      p.copy(view, at);
      at += p.length;
    }
    const topics = [...groups.values()].map((g) => ({ ...g, layout: Int32Array.from(g.layout) }));
    return { seqs: rows.map((r) => r.seq), events: rows.length, bytes, topics };
  }
}

/** The Kafka records of a packed batch; keys and values are views into its buffer. */
export function unpack(batch: PackedBatch): TopicMessages[] {
  const bytes = Buffer.from(batch.bytes);
  return batch.topics.map(({ topic, fingerprint, eventIds, layout }) => {
    const messages: Message[] = new Array(eventIds.length);
    for (let i = 0; i < eventIds.length; i++) {
      const k = layout[i * 4]!;
      const v = layout[i * 4 + 2]!;
      const vLen = layout[i * 4 + 3]!;
      messages[i] = {
        key: bytes.subarray(k, k + layout[i * 4 + 1]!),
        value: vLen < 0 ? null : bytes.subarray(v, v + vLen),
        headers: { [SCHEMA_HEADER]: fingerprint, [EVENT_ID_HEADER]: eventIds[i]! },
      };
    }
    return { topic, messages };
  });
}
