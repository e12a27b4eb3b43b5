// SQL derived from a collection declaration. Identifiers come only from the validated declaration
// (lower-case identifiers, see declaration.ts) and are quoted; values always travel as parameters.
import type { Collection, FieldDeclaration } from '@syncline/schema';

export const VERSION_COLUMN = 'syncline_version';
export const VERSION_SEQUENCE = 'syncline_version_seq';
export const OUTBOX_TABLE = 'syncline_outbox';
export const RELAY_LAYOUT_TABLE = 'syncline_relay_layout';

/** True for the outbox rows of one relay shard (both given as parameters): a document id's events all land in one. */
export const shardFilterSql = (countParam: string, indexParam: string): string =>
  `(hashtextextended(aggregate_id, 0) & 9223372036854775807) % ${countParam} = ${indexParam}`;

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

/** Transaction-scoped advisory locks, in array order, on the ids of one collection (both given as parameters). */
export const lockIdsSql = (collectionParam: string, idsParam: string): string =>
  `select count(pg_advisory_xact_lock(hashtextextended(${collectionParam} || chr(47) || k, 0))) as n from unnest(${idsParam}::text[]) as u(k)`;

/**
 * One statement that versions and writes a batch of changes and appends their outbox events: each
 * input row ($1, a JSON array of {id, op, payload}) takes the next version from the one sequence,
 * upserts (columns from its document via jsonb_populate_record) or deletes the row, and becomes an
 * outbox event. Returns each id with its version and whether an upsert created the row.
 * Versions of one id must increase in commit order, so they are drawn only under the ids' advisory
 * locks: either the caller took them, or (lockIds) the statement takes them itself from $3 — the
 * one-row `locks` aggregate is joined into `input`, so every lock is held before the first nextval.
 * That form is only for plain upserts: the statement's snapshot predates its locks, which
 * INSERT … ON CONFLICT does not depend on but a read or a delete would.
 */
export function writeChangesSql(c: Collection, lockIds: boolean): string {
  const fields = Object.keys(c.fields).map(q);
  const cols = [q(c.primaryKey), ...fields, q(VERSION_COLUMN)];
  const updates = [...fields, q(VERSION_COLUMN)].map((n) => `${n} = excluded.${n}`);
  const locks = lockIds ? `locks as materialized (${lockIdsSql('$2', '$3')}), ` : '';
  return `with ${locks}input as (
  select r.id, r.op, r.payload, nextval('${q(VERSION_SEQUENCE)}') as version
  from ${lockIds ? 'locks, ' : ''}jsonb_to_recordset($1::jsonb) as r(id text, op text, payload jsonb)
), up as (
  insert into ${q(c.table)} (${cols.join(', ')})
  select i.id, ${fields.map((f) => `d.${f}`).join(', ')}, i.version
  from input i cross join lateral jsonb_populate_record(null::${q(c.table)}, i.payload) d
  where i.op = 'UPSERT'
  on conflict (${q(c.primaryKey)}) do update set ${updates.join(', ')}
  returning ${q(c.primaryKey)} as id, (xmax = 0) as created
), del as (
  delete from ${q(c.table)} t using input i where i.op = 'DELETE' and t.${q(c.primaryKey)} = i.id
), events as (
  insert into ${q(OUTBOX_TABLE)} (collection, aggregate_id, op, version, payload)
  select $2, i.id, i.op, i.version, i.payload from input i order by i.version
)
select i.id, i.version::text as version, coalesce(up.created, false) as created
from input i left join up on up.id = i.id`;
}

export function selectRowsSql(c: Collection): string {
  const cols = [c.primaryKey, ...Object.keys(c.fields), VERSION_COLUMN].map(q);
  return `select ${cols.join(', ')} from ${q(c.table)} where ${q(c.primaryKey)} = any($1::text[])`;
}
