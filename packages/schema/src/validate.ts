// Validation and normalisation of documents against a collection declaration. The same function
// guards the HTTP API and the embedding API, so every document in the outbox has one shape:
// every declared field present (null when unset), timestamps as ISO-8601 UTC with milliseconds.
import type { ErrorDetail } from '@syncline/core';
import type { Collection, FieldDeclaration } from './declaration.ts';
import type { Document } from './avro.ts';

export type ValidationResult = { ok: true; document: Document } | { ok: false; details: ErrorDetail[] };

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function checkScalar(type: string, field: FieldDeclaration, value: unknown, path: string, out: ErrorDetail[]): unknown {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') return void out.push({ path, message: 'must be a string' });
      if (field.maxLength !== undefined && [...value].length > field.maxLength) {
        return void out.push({ path, message: `must be at most ${field.maxLength} characters` });
      }
      return value;
    case 'long':
    case 'double': {
      if (typeof value !== 'number' || !Number.isFinite(value))
        return void out.push({ path, message: 'must be a number' });
      if (type === 'long' && !Number.isSafeInteger(value))
        return void out.push({ path, message: 'must be an integer' });
      if (field.minimum !== undefined && value < field.minimum) {
        return void out.push({ path, message: `must be >= ${field.minimum}` });
      }
      if (field.maximum !== undefined && value > field.maximum) {
        return void out.push({ path, message: `must be <= ${field.maximum}` });
      }
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') return void out.push({ path, message: 'must be a boolean' });
      return value;
    case 'timestamp': {
      const ms = typeof value === 'string' && ISO_TIMESTAMP.test(value) ? Date.parse(value) : Number.NaN;
      if (!Number.isFinite(ms)) return void out.push({ path, message: 'must be an ISO-8601 timestamp with a zone' });
      return new Date(ms).toISOString();
    }
    default:
      throw new Error(`unknown field type ${type}`);
  }
}

function checkField(field: FieldDeclaration, value: unknown, path: string, out: ErrorDetail[]): unknown {
  if (value === null) {
    if (field.required) out.push({ path, message: 'is required' });
    return null;
  }
  if (field.type !== 'array') return checkScalar(field.type, field, value, path, out);
  if (!Array.isArray(value)) return void out.push({ path, message: 'must be an array' });
  if (field.maxItems !== undefined && value.length > field.maxItems) {
    return void out.push({ path, message: `must have at most ${field.maxItems} items` });
  }
  return value.map((item, i) => checkScalar(field.items!, field, item, `${path}[${i}]`, out));
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

export function isValidId(collection: Collection, id: unknown): id is string {
  return typeof id === 'string' && new RegExp(collection.idPattern).test(id);
}

/** A PostgreSQL row (as node-postgres returns it) as the document the API and the events show. */
export function rowToDocument(collection: Collection, row: Record<string, unknown>): Document {
  const doc: Document = {};
  for (const [name, field] of Object.entries(collection.fields)) {
    const v = row[name];
    if (v === null || v === undefined) doc[name] = null;
    else if (field.type === 'timestamp') doc[name] = (v instanceof Date ? v : new Date(String(v))).toISOString();
    else if (field.type === 'long') doc[name] = Number(v);
    else if (field.type === 'array' && field.items === 'long') doc[name] = (v as unknown[]).map(Number);
    else doc[name] = v;
  }
  return doc;
}
