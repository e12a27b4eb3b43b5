// Turns outbox rows into Kafka records: one topic per collection, key = document id (Avro), value =
// the Avro change event, and a tombstone after each delete so compaction can forget the key.
// A batch is packed into one transferable buffer so it can be built on a worker thread and handed
// to the thread that talks to Kafka without copying each record.

import { DLQ_HEADERS, deadLetterTopic, keyHash, type OutgoingRecord, type TopicMessages } from '@syncline/kafka';
import {
  type Collection,
  type Declaration,
  EVENT_ID_HEADER,
  EventCodec,
  fieldColumns,
  historicSchemas,
  imageToDocument,
  SCHEMA_HEADER,
} from '@syncline/schema';

export interface OutboxRow {
  seq: number;
  collection: string;
  aggregateId: string;
  op: 'UPSERT' | 'DELETE';
  version: number;
  /** The document Avro-encoded by the writer (EventCodec.encodeDocument); null for a delete. */
  document: Uint8Array | null;
  /** Fingerprint of the value schema `document` was encoded with; null: the collection's current one. */
  schema: string | null;
  /**
   * JSON instead of `document`: a captured collection's row image (its table's row as to_jsonb
   * prints it), or the document of a row written before documents were stored encoded.
   */
  payload?: Record<string, unknown> | null;
  /** Commit time, epoch milliseconds. */
  committedAt: number;
}

interface PackedTopic {
  topic: string;
  /** The value schemas of the topic's records (usually one), referred to by index. */
  fingerprints: string[];
  eventIds: string[];
  /** A dead-letter topic's records: why each one is there (parallel to eventIds). */
  reasons?: string[];
  /**
   * Per record (LAYOUT ints): key offset, key length, value offset, value length (-1 for a
   * tombstone), key hash (partitioner.ts), index of its value schema in `fingerprints`.
   */
  layout: Int32Array;
}

const LAYOUT = 6;

/**
 * A set of outbox seqs as runs of consecutive seqs, flat: [first, last, first, last, …]. A batch
 * read in seq order is a few runs, however many rows it has (gaps are rows committed later, or
 * never), so it is cheap to pass around and to remove or skip with index range scans.
 */
export type SeqRuns = number[];

export interface PackedBatch {
  /** The batch's outbox seqs, to remove once Kafka acknowledged it. */
  runs: SeqRuns;
  events: number;
  /** The largest record (key and value) in bytes. */
  maxRecordBytes: number;
  /** The commit time of the batch's oldest event (epoch ms; 0 when empty): what its latency metrics measure. */
  oldestCommittedAt: number;
  bytes: ArrayBuffer;
  topics: PackedTopic[];
}

/** A captured document larger than this is dead-lettered: the broker refuses records over 1 MiB. */
const MAX_DOCUMENT_BYTES = 1_000_000;
/** A dead letter's row image is left out beyond this. */
const MAX_DEAD_LETTER_BYTES = 64 * 1024;

/** The fingerprint slot of a dead letter made by the relay: its value is the JSON of the refused change. */
const REFUSED_CHANGE = 'json';

interface Entry {
  collection: Collection;
  codec: EventCodec;
  topic: string;
}

export class BatchEncoder {
  private readonly codecs = new Map<string, Entry>();

  constructor(declaration: Declaration) {
    for (const c of declaration.collections) {
      this.codecs.set(c.name, { collection: c, codec: new EventCodec(c, historicSchemas(c.name)), topic: c.topic });
    }
  }

  /** The current value schema of every collection. */
  fingerprints(): string[] {
    return [...this.codecs.values()].map((e) => e.codec.fingerprint);
  }

  pack(rows: OutboxRow[]): PackedBatch {
    const groups = new Map<
      string,
      { topic: string; fingerprints: string[]; eventIds: string[]; layout: number[]; reasons?: string[] }
    >();
    const events = rows.map((row) => {
      const entry = this.codecs.get(row.collection);
      if (!entry) throw new Error(`outbox row ${row.seq} names unknown collection '${row.collection}'`);
      const envelope = {
        collection: row.collection,
        id: row.aggregateId,
        op: row.op,
        version: row.version,
        committedAt: row.committedAt,
      };
      let { document, schema } = row;
      let refused: { reason: string; value: Buffer } | undefined;
      if (document === null && row.payload) {
        schema = null;
        if (!entry.collection.capture) document = entry.codec.encodeDocument(row.payload);
        else {
          // A captured row is checked like a write to the API; what the declaration cannot carry is
          // dead-lettered with the reason (the application's transaction has long committed).
          const checked = imageToDocument(entry.collection, row.payload);
          if (checked.ok) document = entry.codec.encodeDocument(checked.document);
          const reason = checked.ok
            ? document!.length > MAX_DOCUMENT_BYTES &&
              `the document is ${document!.length} bytes, more than a Kafka record takes (${MAX_DOCUMENT_BYTES})`
            : checked.details.map((d) => `${d.path}: ${d.message}`).join('; ');
          if (reason) {
            // The dead letter shows the declared columns only, and not when they are too large themselves.
            const declared = Object.fromEntries(
              [entry.collection.primaryKey, ...fieldColumns(entry.collection).map((d) => d.column)].map((k) => [
                k,
                row.payload![k],
              ]),
            );
            const full = JSON.stringify({ ...envelope, row: declared });
            const value = full.length <= MAX_DEAD_LETTER_BYTES ? full : JSON.stringify({ ...envelope, row: null });
            refused = { reason, value: Buffer.from(value) };
            document = null;
          }
        }
      }
      return { entry, envelope, document, schema: schema ?? entry.codec.fingerprint, refused };
    });
    // Keys and values are written straight into the one buffer that is handed over.
    const size = (e: (typeof events)[number]) =>
      e.refused
        ? e.entry.codec.eventSizeBound(e.envelope, null) + e.refused.value.length
        : e.entry.codec.eventSizeBound(e.envelope, e.document);
    const bytes = new ArrayBuffer(events.reduce((n, e) => n + size(e), 0));
    const buf = Buffer.from(bytes);
    const runs: SeqRuns = [];
    let offset = 0;
    let maxRecordBytes = 0;
    const groupOf = (topic: string) => {
      let group = groups.get(topic);
      if (!group) {
        group = { topic, fingerprints: [], eventIds: [], layout: [] };
        groups.set(topic, group);
      }
      return group;
    };
    for (let i = 0; i < events.length; i++) {
      const { entry, envelope, document, schema, refused } = events[i]!;
      const { codec, topic } = entry;
      const seq = rows[i]!.seq;
      if (runs.length && runs[runs.length - 1] === seq - 1) runs[runs.length - 1] = seq;
      else runs.push(seq, seq);
      const eventId = `${envelope.collection}:${envelope.id}:${envelope.version}`;
      if (refused) {
        const group = groupOf(deadLetterTopic(topic));
        const keyEnd = offset + codec.encodeKey(envelope.id).copy(buf, offset);
        const end = keyEnd + refused.value.copy(buf, keyEnd);
        if (!group.fingerprints.length) group.fingerprints.push(REFUSED_CHANGE);
        group.layout.push(offset, keyEnd - offset, keyEnd, end - keyEnd, keyHash(buf.subarray(offset, keyEnd)), 0);
        group.eventIds.push(eventId);
        group.reasons ??= [];
        group.reasons.push(refused.reason);
        maxRecordBytes = Math.max(maxRecordBytes, end - offset);
        offset = end;
        continue;
      }
      const group = groupOf(topic);
      let schemaIndex = group.fingerprints.indexOf(schema);
      if (schemaIndex < 0) schemaIndex = group.fingerprints.push(schema) - 1;
      const { keyEnd, end } = codec.writeEvent(buf, offset, envelope, document);
      const keyLength = keyEnd - offset;
      const hash = keyHash(buf.subarray(offset, keyEnd));
      group.layout.push(offset, keyLength, keyEnd, end - keyEnd, hash, schemaIndex);
      group.eventIds.push(eventId);
      if (envelope.op === 'DELETE') {
        group.layout.push(offset, keyLength, 0, -1, hash, schemaIndex);
        group.eventIds.push(eventId);
      }
      maxRecordBytes = Math.max(maxRecordBytes, end - offset);
      offset = end;
    }
    const topics = [...groups.values()].map((g) => ({ ...g, layout: Int32Array.from(g.layout) }));
    const oldestCommittedAt = rows.reduce((m, r) => Math.min(m, r.committedAt), rows[0]?.committedAt ?? 0);
    return { runs, events: rows.length, maxRecordBytes, oldestCommittedAt, bytes, topics };
  }
}

/** The Kafka records of a packed batch; keys and values are views into its buffer. */
export function unpack(batch: PackedBatch): TopicMessages[] {
  const bytes = Buffer.from(batch.bytes);
  return batch.topics.map(({ topic, fingerprints, eventIds, layout, reasons }) => {
    const messages: OutgoingRecord[] = new Array(eventIds.length);
    for (let i = 0; i < eventIds.length; i++) {
      const at = i * LAYOUT;
      const k = layout[at]!;
      const v = layout[at + 2]!;
      const vLen = layout[at + 3]!;
      messages[i] = {
        key: bytes.subarray(k, k + layout[at + 1]!),
        value: vLen < 0 ? null : bytes.subarray(v, v + vLen),
        headers: {
          [SCHEMA_HEADER]: fingerprints[layout[at + 5]!]!,
          [EVENT_ID_HEADER]: eventIds[i]!,
          ...(reasons && {
            [DLQ_HEADERS.errorType]: 'SYNC_CAPTURE_REFUSED',
            [DLQ_HEADERS.reason]: reasons[i]!.slice(0, 4000),
            [DLQ_HEADERS.source]: `outbox/${eventIds[i]}`,
            [DLQ_HEADERS.at]: new Date().toISOString(),
          }),
        },
        keyHash: layout[at + 4]!,
      };
    }
    return { topic, messages };
  });
}
