// Every face of a declared field type, in one table: how a value is checked, stored in PostgreSQL,
// carried in Avro, mapped in the search index, described in OpenAPI and read back from a row. The
// table `satisfies Record<ScalarType, FieldType>`, so a type added without one of its faces fails
// `typecheck`. An array field is an array of one of the types that allow it (`arrayItem`).
import type { Collection, FieldDeclaration } from './declaration.ts';

export const SCALAR_TYPES = ['string', 'long', 'double', 'boolean', 'timestamp'] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

/** Why a value was refused (returned by `check` instead of the value). */
export class Refusal {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

export interface FieldType {
  /** Allowed as the items of an array field. */
  arrayItem: boolean;
  avro: unknown;
  /** PostgreSQL column type. */
  pg: string;
  /** Search index mapping. */
  search(field: FieldDeclaration): Record<string, unknown>;
  /** JSON Schema (OpenAPI) of one value, limits excluded. */
  json: Record<string, unknown>;
  /** The value as it is stored and published, or a Refusal. */
  check(value: unknown, field: FieldDeclaration): unknown;
  /** A value as node-postgres reads it, as the document shows it. */
  fromRow(value: unknown): unknown;
  /** A document value as the Avro value, and back. */
  toAvro(value: unknown): unknown;
  fromAvro(value: unknown): unknown;
}

/** The conversion of a face that has nothing to convert. */
export const identity = (v: unknown): unknown => v;
/** The faces of a type whose value is the same in a row, a document and Avro. */
const unconverted = { fromRow: identity, toAvro: identity, fromAvro: identity };
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function checkNumber(value: unknown, field: FieldDeclaration, integer: boolean): unknown {
  if (typeof value !== 'number' || !Number.isFinite(value)) return new Refusal('must be a number');
  if (integer && !Number.isSafeInteger(value)) return new Refusal('must be an integer');
  if (field.minimum !== undefined && value < field.minimum) return new Refusal(`must be >= ${field.minimum}`);
  if (field.maximum !== undefined && value > field.maximum) return new Refusal(`must be <= ${field.maximum}`);
  return value;
}

export const FIELD_TYPES = {
  string: {
    arrayItem: true,
    avro: 'string',
    pg: 'text',
    search: (f) =>
      f.search === 'keyword'
        ? { type: 'keyword' }
        : f.search === 'text_keyword'
          ? { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 1024 } } }
          : { type: 'text' },
    json: { type: 'string' },
    check: (value, f) => {
      if (typeof value !== 'string') return new Refusal('must be a string');
      if (f.maxLength !== undefined && [...value].length > f.maxLength) {
        return new Refusal(`must be at most ${f.maxLength} characters`);
      }
      return value;
    },
    ...unconverted,
  },
  long: {
    arrayItem: true,
    avro: 'long',
    pg: 'bigint',
    search: () => ({ type: 'long' }),
    json: { type: 'integer' },
    check: (value, f) => checkNumber(value, f, true),
    ...unconverted,
    fromRow: Number,
  },
  double: {
    arrayItem: true,
    avro: 'double',
    pg: 'double precision',
    search: () => ({ type: 'double' }),
    json: { type: 'number' },
    check: (value, f) => checkNumber(value, f, false),
    ...unconverted,
  },
  boolean: {
    arrayItem: true,
    avro: 'boolean',
    pg: 'boolean',
    search: () => ({ type: 'boolean' }),
    json: { type: 'boolean' },
    check: (value) => (typeof value === 'boolean' ? value : new Refusal('must be a boolean')),
    ...unconverted,
  },
  timestamp: {
    arrayItem: false,
    avro: { type: 'long', logicalType: 'timestamp-millis' },
    pg: 'timestamptz',
    search: () => ({ type: 'date' }),
    json: { type: 'string', format: 'date-time' },
    check: (value) => {
      const ms = typeof value === 'string' && ISO_TIMESTAMP.test(value) ? Date.parse(value) : Number.NaN;
      return Number.isFinite(ms)
        ? new Date(ms).toISOString()
        : new Refusal('must be an ISO-8601 timestamp with a zone');
    },
    fromRow: (v) => (v instanceof Date ? v : new Date(String(v))).toISOString(),
    toAvro: (v) => (typeof v === 'string' ? Date.parse(v) : v instanceof Date ? v.getTime() : v),
    fromAvro: (v) => (typeof v === 'number' ? new Date(v).toISOString() : v),
  },
} as const satisfies Record<ScalarType, FieldType>;

export const ARRAY_ITEM_TYPES = SCALAR_TYPES.filter((t) => FIELD_TYPES[t].arrayItem) as [ScalarType, ...ScalarType[]];

/** The scalar type of a field: its own, or its items'. */
export const scalarOf = (f: FieldDeclaration): FieldType => FIELD_TYPES[f.type === 'array' ? f.items! : f.type];

export const pgColumnType = (f: FieldDeclaration): string => `${scalarOf(f).pg}${f.type === 'array' ? '[]' : ''}`;

export const searchMapping = (f: FieldDeclaration): Record<string, unknown> => scalarOf(f).search(f);

export function avroType(f: FieldDeclaration): unknown {
  const base = f.type === 'array' ? { type: 'array', items: scalarOf(f).avro } : scalarOf(f).avro;
  return f.required ? base : ['null', base];
}

/** JSON Schema of a field's values, with its declared limits. */
export function jsonSchemaOf(f: FieldDeclaration): Record<string, unknown> {
  const item = { ...scalarOf(f).json, ...(f.maxLength !== undefined ? { maxLength: f.maxLength } : {}) };
  const limits = {
    ...(f.minimum !== undefined ? { minimum: f.minimum } : {}),
    ...(f.maximum !== undefined ? { maximum: f.maximum } : {}),
    ...(f.maxItems !== undefined ? { maxItems: f.maxItems } : {}),
  };
  const base = f.type === 'array' ? { type: 'array', items: item, ...limits } : { ...item, ...limits };
  return f.required ? base : { anyOf: [base, { type: 'null' }] };
}

/** JSON Schema of a collection's documents (OpenAPI). */
export function documentJsonSchema(c: Collection): Record<string, unknown> {
  return {
    type: 'object',
    title: c.name,
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(c.fields).map(([n, f]) => [n, jsonSchemaOf(f)])),
    required: Object.entries(c.fields)
      .filter(([, f]) => f.required)
      .map(([n]) => n),
  };
}
