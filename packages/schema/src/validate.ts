// Validation and normalisation of documents against a collection declaration. The same function
// guards the HTTP API and the embedding API, so every document in the outbox has one shape:
// every declared field present (null when unset), timestamps as ISO-8601 UTC with milliseconds.
import type { ErrorDetail } from '@syncline/core';
import type { Document } from './avro.ts';
import { type Collection, type FieldDeclaration, fieldColumns, type Relation } from './declaration.ts';
import { Refusal, scalarOf, textRefusal } from './field-types.ts';

export type ValidationResult = { ok: true; document: Document } | { ok: false; details: ErrorDetail[] };

function checkScalar(field: FieldDeclaration, value: unknown, path: string, out: ErrorDetail[]): unknown {
  const checked = scalarOf(field).check(value, field);
  if (checked instanceof Refusal) return void out.push({ path, message: checked.message });
  return checked;
}

function checkField(field: FieldDeclaration, value: unknown, path: string, out: ErrorDetail[]): unknown {
  if (value === null) {
    if (field.required) out.push({ path, message: 'is required' });
    return null;
  }
  if (field.type !== 'array') return checkScalar(field, value, path, out);
  if (!Array.isArray(value)) return void out.push({ path, message: 'must be an array' });
  if (field.maxItems !== undefined && value.length > field.maxItems) {
    return void out.push({ path, message: `must have at most ${field.maxItems} items` });
  }
  return value.map((item, i) => checkScalar(field, item, `${path}[${i}]`, out));
}

/**
 * mode 'full': a whole document (PUT, bulk upsert); missing optional fields become null.
 * mode 'patch': only the given fields (PATCH); the caller merges the result into the stored document.
 */
export function validateDocument(collection: Collection, input: unknown, mode: 'full' | 'patch'): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, details: [{ path: '', message: 'the document must be a JSON object' }] };
  }
  const details: ErrorDetail[] = [];
  const body = input as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(collection.fields, key))
      details.push({ path: key, message: 'is not a field of the collection' });
  }
  const document: Document = {};
  for (const [name, field] of Object.entries(collection.fields)) {
    if (!Object.hasOwn(body, name)) {
      if (mode === 'patch') continue;
      if (field.required) details.push({ path: name, message: 'is required' });
      document[name] = null;
      continue;
    }
    document[name] = checkField(field, body[name], name, details);
  }
  return details.length ? { ok: false, details } : { ok: true, document };
}

/** The longest id in UTF-8 bytes: Elasticsearch's limit for _id (PostgreSQL and Kafka keep longer ones). */
export const MAX_ID_BYTES = 512;

const idPatterns = new Map<string, RegExp>();

/** An id every store keeps as it is: a string textRefusal accepts, of the collection's pattern, at most MAX_ID_BYTES. */
function idPattern(source: string): RegExp {
  const re = idPatterns.get(source) ?? new RegExp(source);
  idPatterns.set(source, re);
  return re;
}

export function isValidId(collection: Collection, id: unknown): id is string {
  return (
    typeof id === 'string' &&
    !textRefusal(id) &&
    Buffer.byteLength(id) <= MAX_ID_BYTES &&
    idPattern(collection.idPattern).test(id)
  );
}

/** A PostgreSQL row (as node-postgres returns it) as the document the API and the events show. */
export function rowToDocument(collection: Collection, row: Record<string, unknown>): Document {
  const doc: Document = {};
  for (const { name, column, field } of fieldColumns(collection)) {
    const v = row[column];
    const { fromRow } = scalarOf(field);
    if (v === null || v === undefined) doc[name] = null;
    else if (field.type === 'array') doc[name] = (v as unknown[]).map((item) => (item === null ? null : fromRow(item)));
    else doc[name] = fromRow(v);
  }
  return doc;
}

/**
 * A captured row image (the row as PostgreSQL's to_jsonb renders it) as a validated document: the
 * declared columns mapped to their fields and checked like a write to the API. A joined collection's
 * image carries each relation under its name: the joined row's image, null, or an array of them. A
 * declared column missing from an image (renamed or dropped since capture was enabled) is a refusal
 * that says so.
 */
export function imageToDocument(collection: Collection, image: Record<string, unknown>): ValidationResult {
  const details: ErrorDetail[] = [];
  const document = imageObject(
    collection,
    collection.table,
    collection.fields,
    collection.relations,
    image,
    '',
    details,
  );
  return details.length ? { ok: false, details } : { ok: true, document };
}

function imageObject(
  c: Collection,
  table: string,
  fields: Record<string, FieldDeclaration>,
  relations: Record<string, Relation>,
  image: Record<string, unknown>,
  path: string,
  out: ErrorDetail[],
): Document {
  const doc: Document = {};
  for (const [name, field] of Object.entries(fields)) {
    const column = field.column ?? name;
    if (!Object.hasOwn(image, column)) {
      out.push({
        path: `${path}${name}`,
        message: `column ${table}.${column} is gone (renamed or dropped): declare the field's column, then run syncline capture enable ${c.name} and syncline reconcile ${c.name} --repair`,
      });
      continue;
    }
    const v = image[column];
    const { fromImage } = scalarOf(field);
    const value =
      v === null ? null : Array.isArray(v) ? v.map((item) => (item === null ? null : fromImage(item))) : fromImage(v);
    doc[name] = checkField(field, value, `${path}${name}`, out);
  }
  for (const [name, r] of Object.entries(relations)) {
    const joined = (o: unknown, at: string): Document | null => {
      if (o === null || typeof o !== 'object' || Array.isArray(o)) {
        out.push({ path: at, message: 'must be an object' });
        return null;
      }
      const row = o as Record<string, unknown>;
      return { id: String(row[r.primaryKey]), ...imageObject(c, r.table, r.fields, r.relations, row, `${at}.`, out) };
    };
    const v = image[name];
    if (r.kind === 'one') doc[name] = v === null || v === undefined ? null : joined(v, `${path}${name}`);
    else doc[name] = Array.isArray(v) ? v.map((o, i) => joined(o, `${path}${name}[${i}]`)) : [];
  }
  return doc;
}
