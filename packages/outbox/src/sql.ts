// SQL derived from a collection declaration. Identifiers come only from the validated declaration
// (lower-case identifiers, see declaration.ts) and are quoted; values always travel as parameters.
import type { Collection, FieldDeclaration } from '@syncline/schema';

export const VERSION_COLUMN = 'syncline_version';
export const VERSION_SEQUENCE = 'syncline_version_seq';
export const OUTBOX_TABLE = 'syncline_outbox';

export const q = (identifier: string): string => `"${identifier}"`;

const pgScalar: Record<string, string> = {
  string: 'text',
  long: 'bigint',
  double: 'double precision',
  boolean: 'boolean',
  timestamp: 'timestamptz',
};

export function pgType(field: FieldDeclaration): string {
  return field.type === 'array' ? `${pgScalar[field.items!]}[]` : pgScalar[field.type]!;
}

export function createTableSql(c: Collection): string {
  const columns = Object.entries(c.fields).map(
    ([name, f]) => `${q(name)} ${pgType(f)}${f.required ? ' not null' : ''}`,
  );
  return `create table if not exists ${q(c.table)} (
  ${q(c.primaryKey)} text primary key,
  ${columns.join(',\n  ')},
  ${q(VERSION_COLUMN)} bigint not null
)`;
}

/** Column list for jsonb_to_recordset: id, every field, version. */
export function recordsetColumns(c: Collection): string {
  const fields = Object.entries(c.fields).map(([name, f]) => `${q(name)} ${pgType(f)}`);
  return [`${q(c.primaryKey)} text`, ...fields, `${q(VERSION_COLUMN)} bigint`].join(', ');
}

export function upsertSql(c: Collection): string {
  const cols = [c.primaryKey, ...Object.keys(c.fields), VERSION_COLUMN].map(q);
  const updates = [...Object.keys(c.fields), VERSION_COLUMN].map((n) => `${q(n)} = excluded.${q(n)}`);
  return `insert into ${q(c.table)} (${cols.join(', ')})
select ${cols.join(', ')} from jsonb_to_recordset($1::jsonb) as r(${recordsetColumns(c)})
on conflict (${q(c.primaryKey)}) do update set ${updates.join(', ')}`;
}

export function selectRowsSql(c: Collection): string {
  const cols = [c.primaryKey, ...Object.keys(c.fields), VERSION_COLUMN].map(q);
  return `select ${cols.join(', ')} from ${q(c.table)} where ${q(c.primaryKey)} = any($1::text[])`;
}
