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
 * One statement that versions and writes a batch of changes and appends their outbox events. The
 * changes come as one array per column ($1 ids, $5 ops, $6/$7 where each event's Avro document lies
 * in $3, then one typed array per declared field from $8 on, in declaration order; an array field's
 * values are array literals, cast per row): typed arrays are read far faster than a JSON input turned
 * into records. Each change takes the next version from the one sequence, upserts or deletes its row
 * and becomes an outbox event carrying the document already Avro-encoded (bytes o .. o+n of $3, n = -1
 * for a delete) and the fingerprint of the schema it was encoded with ($4), so the relay never parses
 * documents again. Returns each id with its version and whether an upsert created the row.
 * Versions of one id must increase in commit order, so they are drawn only under the ids' advisory
 * locks: either the caller took them, or (lockIds) the statement takes them itself from the parameter
 * after the fields — the one-row `locks` aggregate is joined into `input`, so every lock is held
 * before the first nextval.
 * That form is only for plain upserts: the statement's snapshot predates its locks, which
 * INSERT … ON CONFLICT does not depend on but a read or a delete would.
 */
export function writeChangesSql(c: Collection, lockIds: boolean): string {
  const names = Object.keys(c.fields);
  const fields = names.map(q);
  const cols = [q(c.primaryKey), ...fields, q(VERSION_COLUMN)];
  const updates = [...fields, q(VERSION_COLUMN)].map((n) => `${n} = excluded.${n}`);
  const locks = lockIds ? `locks as materialized (${lockIdsSql('$2', `$${8 + names.length}`)}), ` : '';
  // Array fields travel as text[] of array literals: a two-dimensional array would have to be rectangular.
  const paramType = (f: FieldDeclaration) => (f.type === 'array' ? 'text[]' : `${pgType(f)}[]`);
  const arrays = names.map((name, k) => `$${8 + k}::${paramType(c.fields[name]!)}`);
  const aliases = names.map((_, k) => `f${k}`);
  const values = names.map((name, k) => {
    const f = c.fields[name]!;
    return f.type === 'array' ? `i.f${k}::${pgType(f)}` : `i.f${k}`;
  });
  return `with ${locks}input as (
  select r.*, nextval('${q(VERSION_SEQUENCE)}') as version
  from ${lockIds ? 'locks, ' : ''}unnest($1::text[], $5::text[], $6::int[], $7::int[], ${arrays.join(', ')})
    as r(id, op, o, n, ${aliases.join(', ')})
), up as (
  insert into ${q(c.table)} (${cols.join(', ')})
  select i.id, ${values.join(', ')}, i.version
  from input i
  where i.op = 'UPSERT'
  on conflict (${q(c.primaryKey)}) do update set ${updates.join(', ')}
  returning ${q(c.primaryKey)} as id, (xmax = 0) as created
), del as (
  delete from ${q(c.table)} t using input i where i.op = 'DELETE' and t.${q(c.primaryKey)} = i.id
), events as (
  insert into ${q(OUTBOX_TABLE)} (collection, aggregate_id, op, version, document, schema)
  select $2, i.id, i.op, i.version, case when i.n >= 0 then substring($3::bytea from i.o + 1 for i.n) end, $4
  from input i order by i.version
)
select i.id, i.version::text as version, coalesce(up.created, false) as created
from input i left join up on up.id = i.id`;
}

/** A PostgreSQL array literal of scalars, for one array field of one row. */
export function arrayLiteral(values: readonly unknown[]): string {
  const items = values.map((v) =>
    v === null || v === undefined
      ? 'NULL'
      : typeof v === 'string'
        ? `"${v.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`
        : String(v),
  );
  return `{${items.join(',')}}`;
}

export function selectRowsSql(c: Collection): string {
  const cols = [c.primaryKey, ...Object.keys(c.fields), VERSION_COLUMN].map(q);
  return `select ${cols.join(', ')} from ${q(c.table)} where ${q(c.primaryKey)} = any($1::text[])`;
}
