// The event contract in Avro. Key = the document id (Avro string); value = a ChangeEvent record
// derived from the collection declaration. A delete carries its version like an upsert; the
// tombstone that may follow it is a Kafka record with a null value and is not an Avro value.

import { SynclineError } from '@syncline/core';
import avro from 'avsc';
import type { Collection, FieldDeclaration, Relation } from './declaration.ts';
import { avroType, identity, scalarOf } from './field-types.ts';

export type Operation = 'UPSERT' | 'DELETE';
export type Document = Record<string, unknown>;

export interface ChangeEvent {
  collection: string;
  id: string;
  op: Operation;
  /** From the one PostgreSQL sequence: the Elasticsearch external version and the HTTP ETag. */
  version: number;
  /** Commit time of the writing transaction, epoch milliseconds. */
  committedAt: number;
  /** The whole document after the change (field values as the HTTP API shows them); null for deletes. */
  document: Document | null;
}

export type AvroSchema = Record<string, unknown>;

export const KEY_SCHEMA = 'string';
export const SCHEMA_HEADER = 'syncline-schema';
export const EVENT_ID_HEADER = 'syncline-event-id';

export function valueSchema(collection: Collection): AvroSchema {
  return {
    type: 'record',
    name: 'ChangeEvent',
    namespace: `syncline.${collection.name}`,
    doc: `A committed change of one document of the '${collection.name}' collection.`,
    fields: [
      { name: 'collection', type: 'string' },
      { name: 'id', type: 'string' },
      { name: 'op', type: { type: 'enum', name: 'Operation', symbols: ['UPSERT', 'DELETE'] } },
      { name: 'version', type: 'long' },
      { name: 'committedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
      {
        name: 'document',
        type: [
          'null',
          {
            type: 'record',
            name: 'Document',
            fields: avroFields(collection.fields, collection.relations, ''),
          },
        ],
        default: null,
      },
    ],
  };
}

/**
 * The Avro fields of a document (or a joined object): the declared fields, then each relation — a
 * record or null (one), an array of records (many), named after its path.
 */
function avroFields(
  fields: Record<string, FieldDeclaration>,
  relations: Record<string, Relation>,
  path: string,
): Record<string, unknown>[] {
  const declared = Object.entries(fields).map(([name, field]) =>
    field.required ? { name, type: avroType(field) } : { name, type: avroType(field), default: null },
  );
  const joined = Object.entries(relations).map(([name, r]) => {
    const at = path ? `${path}_${name}` : name;
    const record = {
      type: 'record',
      name: `Joined_${at}`,
      fields: [{ name: 'id', type: 'string' }, ...avroFields(r.fields, r.relations, at)],
    };
    return r.kind === 'one'
      ? { name, type: ['null', record], default: null }
      : { name, type: { type: 'array', items: record }, default: [] };
  });
  return [...declared, ...joined];
}

type Convert = (v: unknown) => unknown;

/**
 * A document's (or joined object's) conversion to its Avro record and back: every declared field
 * present (null when unset), the fields whose Avro value differs converted, relations recursively.
 */
function objectConversion(
  fields: Record<string, FieldDeclaration>,
  relations: Record<string, Relation>,
  joined: boolean,
): { toAvro: (doc: Document) => Document; fromAvro: (doc: Document) => Document } {
  const converted: { name: string; toAvro: Convert; fromAvro: Convert }[] = Object.entries(fields)
    .filter(([, f]) => scalarOf(f).toAvro !== identity)
    .map(([name, f]) => {
      const { toAvro, fromAvro } = scalarOf(f);
      if (f.type !== 'array') return { name, toAvro, fromAvro };
      const each = (convert: Convert) => (v: unknown) => (Array.isArray(v) ? v.map(convert) : v);
      return { name, toAvro: each(toAvro), fromAvro: each(fromAvro) };
    });
  for (const [name, r] of Object.entries(relations)) {
    const inner = objectConversion(r.fields, r.relations, true);
    const each = (convert: (doc: Document) => Document): Convert =>
      r.kind === 'one'
        ? (v) => (v === null || v === undefined ? null : convert(v as Document))
        : (v) => (Array.isArray(v) ? v.map((o) => convert(o as Document)) : []);
    converted.push({ name, toAvro: each(inner.toAvro), fromAvro: each(inner.fromAvro) });
  }
  const names = [...Object.keys(fields), ...Object.keys(relations)];
  return {
    toAvro: (doc) => {
      const out: Document = joined ? { id: doc.id } : {};
      for (const name of names) {
        const value = doc[name];
        out[name] = value === undefined ? null : value;
      }
      for (const { name, toAvro } of converted) out[name] = toAvro(out[name]);
      return out;
    },
    // Converts the freshly decoded record in place (it belongs to one decode alone).
    fromAvro: (doc) => {
      for (const { name, fromAvro } of converted) doc[name] = fromAvro(doc[name]);
      return doc;
    },
  };
}

function parseType(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema);
}

/** Throws SYNC_SCHEMA_INCOMPATIBLE unless a reader of `reader` can read data written with `writer`. */
export function assertCanRead(reader: AvroSchema, writer: AvroSchema): void {
  try {
    parseType(reader).createResolver(parseType(writer));
  } catch (cause) {
    throw new SynclineError('SYNC_SCHEMA_INCOMPATIBLE', `schemas are incompatible: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** The evolution rule: a new reader reads old events, and an old reader reads new events. */
export function assertFullyCompatible(previous: AvroSchema, next: AvroSchema): void {
  assertCanRead(next, previous);
  assertCanRead(previous, next);
}

export function fingerprint(schema: AvroSchema | string): string {
  return parseType(schema).fingerprint('sha256').toString('hex');
}

// The document field is the union ['null', Document]: a branch index (zig-zag varint) before the record.
const UNION_NULL = Buffer.from([0]);
const UNION_DOCUMENT = Buffer.from([2]);

/** Encodes and decodes one collection's keys and events; reads events written with older schemas it was given. */
export class EventCodec {
  readonly collection: Collection;
  readonly schema: AvroSchema;
  readonly fingerprint: string;
  private readonly keyType = parseType(KEY_SCHEMA);
  private readonly valueType: avro.Type;
  /** The value record without its last field (document), and the Document record alone. */
  private readonly envelopeType: avro.Type;
  private readonly documentType: avro.Type;
  /** A document as its Avro record, and back. */
  private readonly conversion: ReturnType<typeof objectConversion>;
  private readonly resolvers = new Map<string, { type: avro.Type; resolver: avro.Resolver }>();

  constructor(collection: Collection, olderSchemas: AvroSchema[] = []) {
    this.collection = collection;
    this.schema = valueSchema(collection);
    this.valueType = parseType(this.schema);
    this.fingerprint = this.valueType.fingerprint('sha256').toString('hex');
    const fields = (this.schema.fields as { name: string; type: unknown }[]).slice();
    const document = fields.pop()!;
    this.envelopeType = parseType({ type: 'record', name: 'Envelope', fields });
    this.documentType = parseType((document.type as unknown[])[1]);
    this.conversion = objectConversion(collection.fields, collection.relations, false);
    for (const older of olderSchemas) {
      const type = parseType(older);
      this.resolvers.set(type.fingerprint('sha256').toString('hex'), {
        type,
        resolver: this.valueType.createResolver(type),
      });
    }
  }

  encodeKey(id: string): Buffer {
    return this.keyType.toBuffer(id);
  }

  decodeKey(buf: Buffer): string {
    return this.keyType.fromBuffer(buf) as string;
  }

  encode(event: ChangeEvent): Buffer {
    const document = event.document === null ? null : this.toAvroDocument(event.document);
    return this.valueType.toBuffer({ ...event, document });
  }

  /**
   * The Avro bytes of a document alone (the Document record). An event's value is its envelope
   * fields followed by the document field, so a document encoded once, when it is written, can be
   * carried in an event later (encodeWithDocument) without being parsed again.
   */
  encodeDocument(document: Document): Buffer {
    return this.documentType.toBuffer(this.toAvroDocument(document));
  }

  /** The same bytes as encode(event) when `documentBytes` is encodeDocument(event.document) (null for deletes). */
  encodeWithDocument(event: Omit<ChangeEvent, 'document'>, documentBytes: Uint8Array | null): Buffer {
    const envelope = this.envelopeType.toBuffer(event);
    if (documentBytes === null) return Buffer.concat([envelope, UNION_NULL]);
    return Buffer.concat([envelope, UNION_DOCUMENT, documentBytes]);
  }

  /** At least the bytes writeEvent needs for this event. */
  eventSizeBound(event: Omit<ChangeEvent, 'document'>, documentBytes: Uint8Array | null): number {
    // Strings are a length varint (≤ 5 bytes here) and UTF-8; op, version and committedAt ≤ 21 bytes.
    const id = Buffer.byteLength(event.id) + 5;
    return 2 * id + Buffer.byteLength(event.collection) + 5 + 21 + 1 + (documentBytes?.length ?? 0);
  }

  /**
   * Writes the event's key (encodeKey) at `pos` and its value (encodeWithDocument) right after it,
   * into a buffer with at least eventSizeBound bytes from `pos`; returns where each ends.
   */
  writeEvent(
    buf: Buffer,
    pos: number,
    event: Omit<ChangeEvent, 'document'>,
    documentBytes: Uint8Array | null,
  ): { keyEnd: number; end: number } {
    const keyEnd = this.keyType.encode(event.id, buf, pos);
    let end = this.envelopeType.encode(event, buf, keyEnd);
    if (keyEnd < 0 || end < 0) throw new Error('writeEvent: the buffer is too small');
    buf[end++] = documentBytes === null ? UNION_NULL[0]! : UNION_DOCUMENT[0]!;
    if (documentBytes !== null) {
      buf.set(documentBytes, end);
      end += documentBytes.length;
    }
    return { keyEnd, end };
  }

  /** `writerFingerprint` comes from the record's schema header; absent means the current schema. */
  decode(buf: Buffer, writerFingerprint?: string): ChangeEvent {
    try {
      let raw: ChangeEvent;
      if (!writerFingerprint || writerFingerprint === this.fingerprint) {
        raw = this.valueType.fromBuffer(buf) as ChangeEvent;
      } else {
        const older = this.resolvers.get(writerFingerprint);
        if (!older) throw new Error(`unknown writer schema ${writerFingerprint}`);
        raw = this.valueType.fromBuffer(buf, older.resolver) as ChangeEvent;
      }
      const { collection, id, op, version, committedAt, document } = raw;
      const doc = document === null ? null : this.fromAvroDocument(document);
      return { collection, id, op, version, committedAt: Number(committedAt), document: doc };
    } catch (cause) {
      throw new SynclineError('SYNC_EVENT_UNDECODABLE', `cannot decode event: ${(cause as Error).message}`, { cause });
    }
  }

  private toAvroDocument(doc: Document): Document {
    return this.conversion.toAvro(doc);
  }

  private fromAvroDocument(doc: Document): Document {
    return this.conversion.fromAvro(doc);
  }
}
