// Every face of a declared field type, in one table: how a value is checked, stored in PostgreSQL,
// carried in Avro, mapped in the search index, described in OpenAPI and read back from a row. The
// table `satisfies Record<ScalarType, FieldType>`, so a type added without one of its faces fails
// `typecheck`. An array field is an array of one of the types that allow it (`arrayItem`).
import type { Collection, FieldDeclaration, Relation } from './declaration.ts';

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
  /** A value as PostgreSQL's to_jsonb prints it (a captured row image), as the API would take it. */
  fromImage(value: unknown): unknown;
  /** A document value as the Avro value, and back. */
  toAvro(value: unknown): unknown;
  fromAvro(value: unknown): unknown;
}

/** The conversion of a face that has nothing to convert. */
export const identity = (v: unknown): unknown => v;
/** The faces of a type whose value is the same in a row, a document and Avro. */
const unconverted = { fromRow: identity, fromImage: identity, toAvro: identity, fromAvro: identity };

// A string every store keeps as it is: valid Unicode (a lone UTF-16 surrogate has no UTF-8 form, and
// PostgreSQL, Avro and Elasticsearch would each replace it differently) without NUL (PostgreSQL text
// cannot hold it). Other control characters are kept, identically, by all three.
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Why a string cannot be kept identically by every store, or undefined when it can (values and ids alike). */
export function textRefusal(value: string): Refusal | undefined {
  if (LONE_SURROGATE.test(value)) return new Refusal('must be valid Unicode (it holds a lone UTF-16 surrogate)');
  if (value.includes('\u0000')) return new Refusal('must not contain the NUL character (U+0000)');
  return undefined;
}

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2}))$/;
/** The instants PostgreSQL, Avro (timestamp-millis) and Elasticsearch (ISO dates) all keep: years 1 to 9999, UTC. */
const TIMESTAMP_MIN = -62135596800000; // 0001-01-01T00:00:00.000Z
const TIMESTAMP_MAX = 253402300799999; // 9999-12-31T23:59:59.999Z
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** An ISO-8601 timestamp with a zone, of a real calendar date and time, as UTC milliseconds; NaN otherwise. */
function timestampMillis(value: string): number {
  const m = ISO_TIMESTAMP.exec(value);
  if (!m) return Number.NaN;
  const [y, mo, d, h, mi, sec, offH, offM] = [1, 2, 3, 4, 5, 6, 9, 10].map((k) => Number(m[k] ?? 0)) as number[];
  const monthDays = mo === 2 && isLeap(y!) ? 29 : DAYS[mo! - 1];
  if (!monthDays || d! < 1 || d! > monthDays || h! > 23 || mi! > 59 || sec! > 59 || offH! > 15 || offM! > 59) {
    return Number.NaN;
  }
  const ms = Date.parse(value);
  return ms >= TIMESTAMP_MIN && ms <= TIMESTAMP_MAX ? ms : Number.NaN;
}

function checkNumber(value: unknown, field: FieldDeclaration, integer: boolean): unknown {
  if (typeof value !== 'number' || !Number.isFinite(value)) return new Refusal('must be a number');
  if (integer && !Number.isSafeInteger(value)) return new Refusal('must be an integer from -(2^53 - 1) to 2^53 - 1');
  if (field.minimum !== undefined && value < field.minimum) return new Refusal(`must be >= ${field.minimum}`);
  if (field.maximum !== undefined && value > field.maximum) return new Refusal(`must be <= ${field.maximum}`);
  // -0 is 0: JSON (the search index's source, the API's answers) has no negative zero.
  return value === 0 ? 0 : value;
}

export const FIELD_TYPES = {
  string: {
    arrayItem: true,
    avro: 'string',
    pg: 'text',
    // A keyword term longer than 32766 bytes would make Elasticsearch refuse the whole document: a longer
    // value (8191 characters of up to 4 bytes) is kept in _source but not indexed as a term.
    search: (f) =>
      f.search === 'keyword'
        ? { type: 'keyword', ignore_above: 8191 }
        : f.search === 'text_keyword'
          ? { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 1024 } } }
          : { type: 'text' },
    json: { type: 'string' },
    check: (value, f) => {
      if (typeof value !== 'string') return new Refusal('must be a string');
      const refusal = textRefusal(value);
      if (refusal) return refusal;
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
    // A numeric column (a captured table's) comes as a string.
    fromRow: Number,
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
      const ms = typeof value === 'string' ? timestampMillis(value) : Number.NaN;
      return Number.isFinite(ms)
        ? new Date(ms).toISOString()
        : new Refusal('must be an ISO-8601 timestamp with a zone, of a real date from year 1 to 9999 (UTC)');
    },
    fromRow: (v) => (v instanceof Date ? v : new Date(String(v))).toISOString(),
    // to_jsonb prints microseconds, and no zone for timestamp without time zone (read as UTC): the
    // document keeps milliseconds, which every store holds; the check then refuses what is not a date.
    fromImage: (v) => {
      const m = typeof v === 'string' ? /^([^.]*?)(?:\.(\d+))?(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(v) : null;
      return m ? `${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}${m[3] ?? 'Z'}` : v;
    },
    toAvro: (v) => (typeof v === 'string' ? Date.parse(v) : v instanceof Date ? v.getTime() : v),
    fromAvro: (v) => (typeof v === 'number' ? new Date(v).toISOString() : v),
  },
} as const satisfies Record<ScalarType, FieldType>;

export const ARRAY_ITEM_TYPES = SCALAR_TYPES.filter((t) => FIELD_TYPES[t].arrayItem) as [ScalarType, ...ScalarType[]];

/** The scalar type of a field: its own, or its items'. */
export const scalarOf = (f: FieldDeclaration): FieldType => FIELD_TYPES[f.type === 'array' ? f.items! : f.type];

export const pgColumnType = (f: FieldDeclaration): string => `${scalarOf(f).pg}${f.type === 'array' ? '[]' : ''}`;

export const searchMapping = (f: FieldDeclaration): Record<string, unknown> => scalarOf(f).search(f);

/** The search index's properties of a document or a joined object: its fields, then its relations (object or nested). */
export function searchProperties(
  fields: Record<string, FieldDeclaration>,
  relations: Record<string, Relation>,
): Record<string, unknown> {
  return {
    ...Object.fromEntries(Object.entries(fields).map(([name, f]) => [name, searchMapping(f)])),
    ...Object.fromEntries(
      Object.entries(relations).map(([name, r]) => [
        name,
        { type: r.mapping, properties: { id: { type: 'keyword' }, ...searchProperties(r.fields, r.relations) } },
      ]),
    ),
  };
}

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

/** JSON Schema of a joined object (readOnly: documents show it, writes never carry it). */
function relationJsonSchema(r: Relation): Record<string, unknown> {
  const object = {
    type: 'object',
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      ...Object.fromEntries(Object.entries(r.fields).map(([n, f]) => [n, jsonSchemaOf(f)])),
      ...Object.fromEntries(Object.entries(r.relations).map(([n, inner]) => [n, relationJsonSchema(inner)])),
    },
  };
  return r.kind === 'one'
    ? { anyOf: [object, { type: 'null' }], readOnly: true }
    : { type: 'array', items: object, readOnly: true };
}

/** JSON Schema of a collection's documents (OpenAPI). */
export function documentJsonSchema(c: Collection): Record<string, unknown> {
  return {
    type: 'object',
    title: c.name,
    additionalProperties: false,
    properties: {
      ...Object.fromEntries(Object.entries(c.fields).map(([n, f]) => [n, jsonSchemaOf(f)])),
      ...Object.fromEntries(Object.entries(c.relations).map(([n, r]) => [n, relationJsonSchema(r)])),
    },
    required: Object.entries(c.fields)
      .filter(([, f]) => f.required)
      .map(([n]) => n),
  };
}
