// SQL derived from a collection declaration. Identifiers come only from the validated declaration
// (lower-case identifiers, see declaration.ts) and are quoted; values always travel as parameters.
import { createHash } from 'node:crypto';
import { type Collection, type FieldDeclaration, fieldColumns, pgColumnType } from '@syncline/schema';
import {
  documentLockKey,
  KEY_FORMS,
  KEY_PG_TYPES,
  OUTBOX_TABLE,
  q,
  type Sql,
  VERSION_COLUMN,
  VERSION_SEQUENCE,
} from './tables.ts';

/** True for the outbox rows of one relay shard (both given as SQL expressions): a document id's events all land in one. */
export const shardFilterSql = (count: string, index: string): string =>
  `(hashtextextended(aggregate_id, 0) & 9223372036854775807) % ${count} = ${index}`;

export const keyType = (c: Collection): string => KEY_PG_TYPES[c.primaryKeyType];

export function createTableSql(c: Collection): Sql {
  const columns = fieldColumns(c).map(
    ({ column, field: f }) => `${q(column)} ${pgColumnType(f)}${f.required ? ' not null' : ''}`,
  );
  return {
    text: `create table if not exists ${q(c.table)} (
  ${q(c.primaryKey)} ${keyType(c)} primary key,
  ${columns.join(',\n  ')},
  ${q(VERSION_COLUMN)} bigint not null
)`,
    values: [],
  };
}

/** Transaction-scoped advisory locks, in array order, on the ids of one collection (both given as SQL expressions). */
const lockIdsExpr = (collection: string, ids: string): string =>
  `select count(pg_advisory_xact_lock(${documentLockKey(collection, 'k')})) as n from unnest(${ids}::text[]) as u(k)`;

/** Locks the ids (sorted by the caller, so that two transactions over overlapping ids cannot deadlock). */
export const lockIdsSql = (c: Collection, sortedIds: string[]): Sql => ({
  text: lockIdsExpr('$1', '$2'),
  values: [c.name, sortedIds],
});

/**
 * One statement that versions and writes a batch of changes and appends their outbox events. The
 * changes come as one array per column — $1 ids, $2 the collection, $3 every upsert's Avro document
 * concatenated, $4 the fingerprint of their schema, $5 ops, $6/$7 offset and length of each change's
 * document in $3 (length -1: a delete), then one array per declared field in declaration order (array
 * fields as array literals), then with lockIds the sorted ids to lock: typed arrays are read far faster
 * than a JSON input turned into records. Each change takes the next version from the one sequence, upserts or deletes its row
 * and becomes an outbox event carrying the document already Avro-encoded, so the relay never parses
 * documents again. Returns each id with its version and whether an upsert created the row.
 * Versions of one id must increase in commit order, so they are drawn only under the ids' advisory
 * locks: either the caller took them, or (lockIds) the statement takes them itself — the one-row
 * `locks` aggregate is joined into `input`, so every lock is held before the first nextval. That form
 * is only for plain upserts: the statement's snapshot predates its locks, which INSERT … ON CONFLICT
 * does not depend on but a read or a delete would.
 */
export function writeChangesSql(c: Collection, lockIds: boolean): (values: unknown[]) => Sql {
  const declared = fieldColumns(c);
  const names = declared.map((d) => d.name);
  const fields = declared.map((d) => q(d.column));
  const cols = [q(c.primaryKey), ...fields, q(VERSION_COLUMN)];
  const key = keyType(c);
  const updates = [...fields, q(VERSION_COLUMN)].map((n) => `${n} = excluded.${n}`);
  const locks = lockIds ? `locks as materialized (${lockIdsExpr('$2', `$${8 + names.length}`)}), ` : '';
  // Array fields travel as text[] of array literals: a two-dimensional array would have to be rectangular.
  const paramType = (f: FieldDeclaration) => (f.type === 'array' ? 'text[]' : `${pgColumnType(f)}[]`);
  const arrays = names.map((name, k) => `$${8 + k}::${paramType(c.fields[name]!)}`);
  const aliases = names.map((_, k) => `f${k}`);
  const values = names.map((name, k) => {
    const f = c.fields[name]!;
    return f.type === 'array' ? `i.f${k}::${pgColumnType(f)}` : `i.f${k}`;
  });
  const text = `with ${locks}input as (
  select r.*, nextval('${q(VERSION_SEQUENCE)}') as version
  from ${lockIds ? 'locks, ' : ''}unnest($1::text[], $5::text[], $6::int[], $7::int[], ${arrays.join(', ')})
    as r(id, op, o, n, ${aliases.join(', ')})
), up as (
  insert into ${q(c.table)} (${cols.join(', ')})
  select i.id::${key}, ${values.join(', ')}, i.version
  from input i
  where i.op = 'UPSERT'
  on conflict (${q(c.primaryKey)}) do update set ${updates.join(', ')}
  returning ${q(c.primaryKey)}::text as id, (xmax = 0) as created
), del as (
  delete from ${q(c.table)} t using input i where i.op = 'DELETE' and t.${q(c.primaryKey)} = i.id::${key}
), events as (
  insert into ${q(OUTBOX_TABLE)} (seq, collection, aggregate_id, op, version, document, schema)
  select i.version, $2, i.id, i.op, i.version, case when i.n >= 0 then substring($3::bytea from i.o + 1 for i.n) end, $4
  from input i order by i.version
)
select i.id, i.version::text as version, coalesce(up.created, false) as created
from input i left join up on up.id = i.id`;
  return prepared(text);
}

/**
 * A statement run at every write, as a prepared statement named after its text: PostgreSQL parses and
 * plans it once per connection instead of at every execution (measured: most of the write API's
 * PostgreSQL CPU at 500 writes/s). Its result columns never depend on the table's, so a schema change
 * only makes PostgreSQL plan it again.
 */
function prepared(text: string): (values: unknown[]) => Sql {
  const name = `syncline_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
  return (values) => ({ name, text, values });
}

/** The version sequence (an event's seq is its version): a statement reads it before its triggers append events. */
const OUTBOX_SEQ = `'${q(VERSION_SEQUENCE)}'::regclass`;

/**
 * A captured collection's write (capture.ts): the same input arrays as writeChangesSql without the
 * document bytes ($1 ids, $2 ops, then one array per field), only the table's change — the
 * triggers lock, version and append the events. Returns each id with whether an upsert created it,
 * and `mark`, the outbox's last seq before the statement: its events are the ones after it.
 */
export function captureWriteSql(c: Collection): (values: unknown[]) => Sql {
  const declared = fieldColumns(c);
  const key = keyType(c);
  const fields = declared.map((d) => q(d.column));
  const paramType = (f: FieldDeclaration) => (f.type === 'array' ? 'text[]' : `${pgColumnType(f)}[]`);
  const arrays = declared.map((d, k) => `$${3 + k}::${paramType(d.field)}`);
  const values = declared.map((d, k) => (d.field.type === 'array' ? `i.f${k}::${pgColumnType(d.field)}` : `i.f${k}`));
  const text = `with input as (
  select * from unnest($1::text[], $2::text[], ${arrays.join(', ')}) as r(id, op, ${declared.map((_, k) => `f${k}`).join(', ')})
), up as (
  insert into ${q(c.table)} (${[q(c.primaryKey), ...fields].join(', ')})
  select i.id::${key}, ${values.join(', ')} from input i where i.op = 'UPSERT' order by i.id
  on conflict (${q(c.primaryKey)}) do update set ${fields.map((f) => `${f} = excluded.${f}`).join(', ')}
  returning ${q(c.primaryKey)}::text as id, (xmax = 0) as created
), del as (
  delete from ${q(c.table)} t using input i where i.op = 'DELETE' and t.${q(c.primaryKey)} = i.id::${key}
)
select i.id, coalesce(up.created, false) as created, coalesce(pg_sequence_last_value(${OUTBOX_SEQ}), 0)::text as mark
from input i left join up on up.id = i.id`;
  return prepared(text);
}

/** The newest event of each id a captured write appended (after `mark`, see captureWriteSql). */
const capturedEvents =
  prepared(`select distinct on (aggregate_id) aggregate_id as id, version::text as version from ${q(OUTBOX_TABLE)}
where seq > $1 and collection = $2 and aggregate_id = any($3::text[]) order by aggregate_id, seq desc`);
export const capturedEventsSql = (c: Collection, ids: string[], mark: string): Sql =>
  capturedEvents([mark, c.name, ids]);

/**
 * Locks the rows of these ids of a captured table against writers (FOR SHARE) without waiting for
 * any (NOWAIT: SQLSTATE 55P03 when a writer holds one), so a re-emit can never be in a deadlock with
 * the application; returns the ids of the rows that exist.
 */
export const lockCapturedRowsSql = (c: Collection, ids: string[], lock: boolean): Sql => ({
  text: `select t.${q(c.primaryKey)}::text as id from ${q(c.table)} t
where t.${q(c.primaryKey)} = any((select array_agg(k) from unnest($1::text[]) k where k ~ $2)::${keyType(c)}[])
${lock ? `order by t.${q(c.primaryKey)} for share of t nowait` : ''}`,
  values: [ids, KEY_FORMS[c.primaryKeyType]],
});

/** t's key equals the text id k (given as SQL), casting k only when it has the key type's form ($form). */
const keyMatch = (c: Collection, t: string, k: string, form: string) =>
  c.primaryKeyType === 'text'
    ? `${t}.${q(c.primaryKey)} = ${k}`
    : `${t}.${q(c.primaryKey)} = case when ${k} ~ ${form} then ${k}::${keyType(c)} end`;

/** A captured row's image of its declared columns only (a re-emit names them: it runs Syncline's SQL, not the application's). */
const declaredImage = (c: Collection, alias: string) =>
  `jsonb_build_object(${[c.primaryKey, ...fieldColumns(c).map((d) => d.column)].map((col) => `'${col}', ${alias}.${q(col)}`).join(', ')})`;

/**
 * Appends events for these ids of a captured table, each with a new version (and seq) from the one
 * sequence: deletes (absent: the ids without a row; ids no key of the table can equal count as such),
 * or the rows' images (the ids with a row, which the caller has locked).
 */
export const captureEmitSql = (c: Collection, ids: string[], absent: boolean): Sql => ({
  text: `insert into ${q(OUTBOX_TABLE)} (seq, collection, aggregate_id, op, version, payload)
select e.v, $1, e.k, ${absent ? `'DELETE'` : `'UPSERT'`}, e.v, e.image from (
  select nextval('${q(VERSION_SEQUENCE)}') as v, k, ${absent ? 'null::jsonb' : declaredImage(c, 't')} as image
  from unnest($2::text[]) as k
  ${absent ? 'left ' : ''}join ${q(c.table)} t on ${keyMatch(c, 't', 'k', '$3')}
  ${absent ? `where t.${q(c.primaryKey)} is null` : ''}
  order by k
) e
returning aggregate_id as id, op, version::text as version`,
  values: c.primaryKeyType === 'text' ? [c.name, ids] : [c.name, ids, KEY_FORMS[c.primaryKeyType]],
});

/** The transactions (other than this one) writing the captured table now: they hold its ROW EXCLUSIVE lock. */
export const tableWritersSql = (c: Collection): Sql => ({
  text: `select coalesce(array_agg(distinct virtualtransaction), '{}') as writers from pg_locks
where locktype = 'relation' and relation = $1::regclass and mode = 'RowExclusiveLock' and pid is distinct from pg_backend_pid()`,
  values: [c.table],
});

/** How many of these transactions still hold the table's lock (0: all of them ended). */
export const writersLeftSql = (c: Collection, writers: string[]): Sql => ({
  text: `select count(*)::int as n from pg_locks where locktype = 'relation' and relation = $1::regclass and virtualtransaction = any($2::text[])`,
  values: [c.table, writers],
});

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

/** What the key column is read as: its text form, the document's id. */
export const KEY_ALIAS = 'syncline_key';

/** The declared columns of the rows with these ids (the key as text, as KEY_ALIAS), optionally locking them. */
export function selectRowsSql(c: Collection, ids: string[], forUpdate = false): Sql {
  const cols = [...fieldColumns(c).map((d) => d.column), ...(c.capture ? [] : [VERSION_COLUMN])].map(q);
  return {
    text: `select ${q(c.primaryKey)}::text as ${KEY_ALIAS}, ${cols.join(', ')} from ${q(c.table)}
where ${q(c.primaryKey)} = any($1::text[]::${keyType(c)}[])${forUpdate ? ` order by ${q(c.primaryKey)} for update` : ''}`,
    values: [ids],
  };
}
