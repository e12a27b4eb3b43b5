// SQL derived from a collection declaration. Identifiers come only from the validated declaration
// (lower-case identifiers, see declaration.ts) and are quoted; values always travel as parameters.
import pg from 'pg';
import type { Collection, FieldDeclaration } from '@syncline/schema';
import type { SeqRuns } from './event-batch.ts';

export const VERSION_COLUMN = 'syncline_version';
export const VERSION_SEQUENCE = 'syncline_version_seq';
export const OUTBOX_TABLE = 'syncline_outbox';
export const RELAY_LAYOUT_TABLE = 'syncline_relay_layout';

/** True for the outbox rows of one relay shard (both given as parameters): a document id's events all land in one. */
export const shardFilterSql = (countParam: string, indexParam: string): string =>
  `(hashtextextended(aggregate_id, 0) & 9223372036854775807) % ${countParam} = ${indexParam}`;

/** The runs as sorted, disjoint, non-adjacent [first, last] pairs. */
export function mergeRuns(runs: SeqRuns): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < runs.length; i += 2) pairs.push([runs[i]!, runs[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [first, last] of pairs) {
    const top = merged.at(-1);
    if (top && first <= top[1] + 1) top[1] = Math.max(top[1], last);
    else merged.push([first, last]);
  }
  return merged;
}

const MAX_SEQ = '9223372036854775807';

/**
 * The relay's read: up to `limit` committed outbox events oldest first (ascending seq), skipping the
 * runs of batches read but not yet removed. Every gap between those runs is one ordered index range
 * scan, cut at the limit: the skipped rows are never fetched. (A NOT IN filter fetched each skipped
 * row from the heap first, and with up to three batches in flight that was most of a read.) Up to
 * `maxBranches` gaps are merged in order (Merge Append); more are read through one lateral join and
 * sorted.
 */
export function readEventsSql(
  shard: { index: number; count: number },
  currentSchemas: readonly string[] = [],
  maxBranches = 32,
) {
  // Less text to print and parse per row: the document in base64 (not hex), and no schema
  // fingerprint when it is its collection's current one (null; fingerprints are hex digests).
  const current = currentSchemas.filter((f) => /^[0-9a-f]+$/.test(f)).map((f) => `'${f}'`);
  const schema = current.length ? `case when schema in (${current.join(', ')}) then null else schema end` : 'schema';
  const columns = `seq, collection, aggregate_id, op, version, encode(document, 'base64'), ${schema}, payload, created_at`;
  const inShard = shard.count > 1 ? ` and ${shardFilterSql(String(shard.count), String(shard.index))}` : '';
  const from = `from ${q(OUTBOX_TABLE)} where true${inShard}`;
  return (limit: number, exclude: SeqRuns): [string, unknown[]] => {
    const runs = mergeRuns(exclude);
    // The gaps around the runs, as open intervals (lo, hi).
    const gaps: [string, string][] = [];
    let lo = '0';
    for (const [first, last] of runs) {
      gaps.push([lo, String(first)]);
      lo = String(last);
    }
    gaps.push([lo, MAX_SEQ]);
    if (gaps.length === 1) return [`select ${columns} ${from} order by seq limit $1`, [limit]];
    if (gaps.length > maxBranches) {
      return [
        `select e.* from unnest($2::bigint[], $3::bigint[]) as g(lo, hi) cross join lateral (
  select ${columns} ${from} and seq > g.lo and seq < g.hi order by seq limit $1) e
order by seq limit $1`,
        [limit, `{${gaps.map((g) => g[0]).join(',')}}`, `{${gaps.map((g) => g[1]).join(',')}}`],
      ];
    }
    const params: unknown[] = [limit];
    const p = (n: string) => `$${params.push(n)}::bigint`;
    const branches = gaps.map(
      ([a, b]) => `(select ${columns} ${from} and seq > ${p(a)} and seq < ${p(b)} order by seq limit $1)`,
    );
    return [`${branches.join('\nunion all ')}\norder by seq limit $1`, params];
  };
}

const timestamptz = pg.types.getTypeParser(1184) as (v: string) => Date;

/**
 * Epoch milliseconds of a timestamptz as the relay's read session prints it (DateStyle ISO,
 * TimeZone UTC: 'YYYY-MM-DD HH:MM:SS[.ffffff]+00'); other forms go to the driver's parser.
 */
export function utcMillis(v: string): number {
  if (v.length < 22 || v[10] !== ' ' || !v.endsWith('+00')) return timestamptz(v).getTime();
  const fraction = v[19] === '.' ? v.slice(20, v.length - 3) : '';
  return Date.UTC(
    Number(v.slice(0, 4)),
    Number(v.slice(5, 7)) - 1,
    Number(v.slice(8, 10)),
    Number(v.slice(11, 13)),
    Number(v.slice(14, 16)),
    Number(v.slice(17, 19)),
    Number(fraction.slice(0, 3).padEnd(3, '0')),
  );
}

/** Removes the rows of the runs: one index range scan per run. */
export function removeRunsSql(runs: SeqRuns): [string, unknown[]] {
  const firsts: number[] = [];
  const lasts: number[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    firsts.push(runs[i]!);
    lasts.push(runs[i + 1]!);
  }
  return [
    `delete from ${q(OUTBOX_TABLE)} o using unnest($1::bigint[], $2::bigint[]) as r(first, last)
  where o.seq between r.first and r.last`,
    [`{${firsts.join(',')}}`, `{${lasts.join(',')}}`],
  ];
}

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
 * after the fields — the
 * one-row `locks` aggregate is joined into `input`, so every lock is held before the first nextval.
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
