// Capture of the changes an application makes to its own table, whoever makes them: row triggers
// record every committed INSERT, UPDATE, DELETE and TRUNCATE in the outbox inside the writer's own
// transaction, so the event commits (or rolls back) with the change, and the relay publishes it like
// any other. One version source per collection, whoever writes: the AFTER ROW trigger runs while the
// writer holds the row's lock (or, for an insert, its key in the primary key index) and only then
// draws the version from the version sequence, so versions of one id increase in commit order. It
// takes no lock of its own: a statement may change any number of rows. (Re-emits — backfill, repair,
// replay — order themselves against writers with row locks they never wait for; see OutboxWriter.)
// The table itself is not changed: versions live in the events (and the index).
// Everything is derived from the declaration; `syncline capture enable|disable|status` runs it.

import { createHash } from 'node:crypto';
import { retry, SynclineError } from '@syncline/core';
import { type Collection, fieldColumns, isJoined, type JoinNode } from '@syncline/schema';
import type pg from 'pg';
import { withTransaction } from '../write/transaction.ts';
import { joinNames, joinTables, joinTriggerPrefix, markTriggersSql, nodeColumns } from './join.ts';
import { classifyPgError } from './pg-errors.ts';
import { CAPTURE_TABLE, ident, JOIN_MARKS_TABLE, literal, OUTBOX_TABLE, q, VERSION_SEQUENCE } from './tables.ts';

/**
 * The names capture installs for a collection (functions in the current schema, triggers on the
 * table). A collection's name may be 63 characters: the functions carry a short prefix of it and a
 * hash of all of it, so they stay distinct and within PostgreSQL's 63.
 */
export const captureNames = (c: Collection) => {
  const base = `syncline_capture_${c.name.slice(0, 24)}_${createHash('sha256').update(c.name).digest('hex').slice(0, 8)}`;
  return {
    changeFn: base,
    truncateFn: `${base}_truncate`,
    changeTrigger: 'syncline_capture',
    truncateTrigger: 'syncline_capture_truncate',
  };
};

const guardName = (schema: string) => ident(`syncline_capture_guard_${schema}`.slice(0, 63));

/** The statements that install capture on the collection's table (idempotent; one transaction). */
function installSql(c: Collection, schema: string, undeclared: string[]): string[] {
  const n = captureNames(c);
  const t = `${ident(schema)}.${q(c.table)}`;
  const name = `'${c.name}'`;
  const seq = `nextval(${literal(`${ident(schema)}.${q(VERSION_SEQUENCE)}`)})`;
  const outbox = `${ident(schema)}.${q(OUTBOX_TABLE)}`;
  const key = (row: string) => `${row}.${q(c.primaryKey)}`;
  // The row as JSON without the columns the declaration leaves out (they may be large, or private):
  // by subtraction, not by naming the declared ones, so renaming a column later never makes the
  // application's statements fail here (the relay notices a declared column gone).
  const image = undeclared.length
    ? `to_jsonb(NEW) - ${literal(`{${undeclared.map((u) => `"${u}"`).join(',')}}`)}::text[]`
    : 'to_jsonb(NEW)';
  // An event's seq is its version: one draw.
  const event = (op: string, row: string, image: string) =>
    `v := ${seq};
    insert into ${outbox} (seq, collection, aggregate_id, op, version, payload) values (v, ${name}, ${key(row)}::text, '${op}', v, ${image});`;
  const fn = (fnName: string, body: string) =>
    `create or replace function ${ident(schema)}.${q(fnName)}() returns trigger language plpgsql
  -- With the rights of the role that enabled capture: the application's roles need none on Syncline's tables.
  security definer set search_path = pg_catalog, pg_temp as $syncline$
declare
  v bigint;
begin
${body}
end $syncline$`;
  // ENABLE ALWAYS: the triggers also fire under session_replication_role = replica (logical
  // replication apply, pg_restore --disable-triggers, some migration tools), which would otherwise
  // change the table unseen.
  const trigger = (trigName: string, when: string, fnName: string) => [
    `drop trigger if exists ${q(trigName)} on ${t}`,
    `create trigger ${q(trigName)} ${when} on ${t} ${when.includes('truncate') ? 'for each statement' : 'for each row'} execute function ${ident(schema)}.${q(fnName)}()`,
    `alter table ${t} enable always trigger ${q(trigName)}`,
  ];
  return [
    fn(
      n.changeFn,
      `  if TG_OP = 'DELETE' or (TG_OP = 'UPDATE' and ${key('OLD')} is distinct from ${key('NEW')}) then
    ${event('DELETE', 'OLD', 'null')}
  end if;
  if TG_OP <> 'DELETE' then
    ${event('UPSERT', 'NEW', image)}
  end if;
  return null;`,
    ),
    // TRUNCATE holds the table's exclusive lock, so no write of the table is in flight: every row
    // becomes a delete, versioned after every change that committed before it.
    fn(
      n.truncateFn,
      `  -- In REPEATABLE READ or SERIALIZABLE this statement would read the table with the snapshot taken before
  -- TRUNCATE waited for its lock, and miss rows committed meanwhile: refused, loudly, instead.
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'Syncline captures %: TRUNCATE it in a READ COMMITTED transaction', ${literal(c.table)}
      using hint = 'In REPEATABLE READ or SERIALIZABLE, the rows it removes cannot all be seen; use DELETE or READ COMMITTED';
  end if;
  insert into ${outbox} (seq, collection, aggregate_id, op, version)
  select e.v, ${name}, e.k, 'DELETE', e.v from (select ${seq} as v, ${q(c.primaryKey)}::text as k from only ${t}) e;
  return null;`,
    ),
    ...trigger(n.changeTrigger, 'after insert or update or delete', n.changeFn),
    ...trigger(n.truncateTrigger, 'before truncate', n.truncateFn),
  ];
}

/**
 * Refuses (at the end of the statement, so it is rolled back) an ALTER TABLE or DROP TABLE that takes
 * away a column a captured collection declares, or the table itself: a schema change that would
 * otherwise turn into wrong or missing documents is stopped with what to do instead.
 */
function guardSql(schema: string): string[] {
  const registry = `${ident(schema)}.${q(CAPTURE_TABLE)}`;
  const fn = `${ident(schema)}.${q('syncline_capture_guard')}`;
  return [
    `create or replace function ${fn}() returns event_trigger language plpgsql
  security definer set search_path = pg_catalog, pg_temp as $syncline$
declare
  r record;
  missing text;
begin
  -- Only the captured tables this command changed (or dropped).
  for r in select * from ${registry} g
    where to_regclass(format('%I.%I', ${literal(schema)}, g.table_name)) is null
       or to_regclass(format('%I.%I', ${literal(schema)}, g.table_name)) in (select objid from pg_event_trigger_ddl_commands())
  loop
    select string_agg(col, ', ') into missing from unnest(r.columns) as col
    where not exists (
      select 1 from pg_attribute a
      where a.attrelid = to_regclass(format('%I.%I', ${literal(schema)}, r.table_name)) and a.attname = col and not a.attisdropped);
    if missing is not null then
      raise exception 'Syncline captures table %.% for collection %; this change would take away: %', ${literal(schema)}, r.table_name, split_part(r.collection, ':', 1), missing
        using hint = format('Detach first (syncline capture disable %s), change the table, declare the fields'' new columns, then syncline capture enable %s and syncline backfill %s', split_part(r.collection, ':', 1), split_part(r.collection, ':', 1), split_part(r.collection, ':', 1));
    end if;
  end loop;
end $syncline$`,
    `drop event trigger if exists ${guardName(schema)}`,
    `create event trigger ${guardName(schema)} on ddl_command_end when tag in ('ALTER TABLE', 'DROP TABLE') execute function ${fn}()`,
  ];
}

export interface CaptureReport {
  collection: string;
  table: string;
  /** What was installed or removed, one line each. */
  actions: string[];
  /** What the user should know or do next. */
  notes: string[];
}

interface TableShape {
  schema: string;
  columns: Map<string, string>;
  primaryKey: string[];
  /** The primary key is checked at commit (DEFERRABLE): then a writer no longer waits for another of the same key. */
  deferrable: boolean;
  /** Partitioned, or a parent of inheritance children: TRUNCATE of a part would not be seen. */
  hasParts: boolean;
  superuser: boolean;
}

async function tableShape(client: pg.ClientBase, table: string): Promise<TableShape | undefined> {
  const { rows } = await client.query<{
    schema: string;
    columns: [string, string][] | null;
    pk: string[] | null;
    deferrable: boolean | null;
    has_parts: boolean;
    superuser: boolean;
  }>(
    `select current_schema() as schema,
       (select json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod)))
          from pg_attribute a where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped) as columns,
       (select array_agg(a.attname::text) from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
          where i.indrelid = r.oid and i.indisprimary) as pk,
       (select bool_or(c.condeferrable) from pg_constraint c where c.conrelid = r.oid and c.contype = 'p') as deferrable,
       r.relkind = 'p' or exists (select 1 from pg_inherits h where h.inhparent = r.oid) as has_parts,
       (select rolsuper from pg_roles where rolname = current_user) as superuser
     from pg_class r where r.oid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1))`,
    [table],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    schema: row.schema,
    columns: new Map(row.columns ?? []),
    primaryKey: row.pk ?? [],
    deferrable: row.deferrable === true,
    hasParts: row.has_parts,
    superuser: row.superuser,
  };
}

const KEY_COLUMN_TYPES: Record<Collection['primaryKeyType'], RegExp> = {
  text: /^(text|character varying(\(\d+\))?|character\(\d+\))$/,
  integer: /^(smallint|integer|bigint)$/,
  uuid: /^uuid$/,
};

/** What is wrong with the table for this declaration (empty when nothing). */
function shapeProblems(c: Collection, shape: TableShape | undefined): string[] {
  if (!shape) return [`table ${c.table} does not exist in the current schema`];
  const problems: string[] = [];
  if (shape.primaryKey.length !== 1 || shape.primaryKey[0] !== c.primaryKey) {
    problems.push(`the primary key of ${c.table} is (${shape.primaryKey.join(', ')}), not (${c.primaryKey})`);
  } else if (!KEY_COLUMN_TYPES[c.primaryKeyType].test(shape.columns.get(c.primaryKey) ?? '')) {
    problems.push(
      `${c.table}.${c.primaryKey} is ${shape.columns.get(c.primaryKey)}, which is not a key of type ${c.primaryKeyType} (declare primaryKeyType)`,
    );
  }
  if (shape.deferrable) {
    problems.push(
      `the primary key of ${c.table} is DEFERRABLE: versions would not follow commit order; make it not deferrable`,
    );
  }
  if (shape.hasParts)
    problems.push(`${c.table} is partitioned or has inheritance children, which capture does not support`);
  for (const { name, column } of fieldColumns(c)) {
    if (!shape.columns.has(column)) problems.push(`field ${name}: ${c.table} has no column ${column}`);
  }
  return problems;
}

/** Runs fn in a transaction that waits at most a second for a table lock, retried while writers hold it. */
function briefly<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return retry(
    (attempt) =>
      withTransaction(pool, async (client) => {
        // Writers wait at most a second behind this; after a minute of tries, give up with a message.
        if (attempt >= 40) {
          throw new SynclineError('SYNC_LOCKED', 'the table stayed busy for a minute; try again when writes are fewer');
        }
        await client.query(`set local lock_timeout = '1s'`);
        return fn(client);
      }),
    { backoff: { initialMs: 100, maxMs: 2000 }, classifiers: [classifyPgError] },
  );
}

/**
 * Installs (or refreshes) capture on the collection's table: the version column when missing, the
 * trigger functions, the triggers, the registry row and, as a superuser, the schema-change guard.
 * Takes the table's lock for a moment only (lock_timeout 1 s, retried), so writers wait at most that.
 */
export async function enableCapture(pool: pg.Pool, c: Collection): Promise<CaptureReport> {
  if (!c.capture) {
    throw new SynclineError('SYNC_USAGE', `collection ${c.name} is not declared with "capture": true`);
  }
  return briefly(pool, async (client) => {
    if (isJoined(c)) return enableJoined(client, c);
    const shape = await tableShape(client, c.table);
    const problems = shapeProblems(c, shape);
    if (problems.length || !shape) {
      throw new SynclineError('SYNC_CAPTURE_NOT_READY', `cannot capture ${c.table}:\n  ${problems.join('\n  ')}`);
    }
    const n = captureNames(c);
    const columns = [c.primaryKey, ...fieldColumns(c).map((d) => d.column)];
    const undeclared = [...shape.columns.keys()].filter((col) => !columns.includes(col));
    for (const sql of installSql(c, shape.schema, undeclared)) await client.query(sql);
    await client.query(
      `insert into ${q(CAPTURE_TABLE)} (collection, table_name, columns) values ($1, $2, $3)
       on conflict (collection) do update set table_name = excluded.table_name, columns = excluded.columns, enabled_at = now()`,
      [c.name, c.table, columns],
    );
    const actions = [
      `trigger ${n.changeTrigger} (after insert or update or delete, for each row) -> ${n.changeFn}()`,
      `trigger ${n.truncateTrigger} (before truncate) -> ${n.truncateFn}()`,
      'the triggers are ENABLE ALWAYS (they fire under session_replication_role = replica too)',
    ];
    const notes = [
      `columns captured: ${columns.join(', ')} (the others are left out of the events; a column added later is carried until capture is enabled again)`,
    ];
    if (shape.superuser) {
      for (const sql of guardSql(shape.schema)) await client.query(sql);
      actions.push(
        `event trigger ${guardName(shape.schema)}: refuses ALTER TABLE or DROP TABLE that takes away a captured column or table`,
      );
    } else {
      notes.push(
        'no schema-change guard (creating an event trigger needs a superuser): a captured column renamed or dropped sends its changes to the dead-letter topic with what to do',
      );
    }
    notes.push(`rows written before now are not published yet: run syncline backfill ${c.name}`);
    return { collection: c.name, table: c.table, actions, notes };
  });
}

/** Removes capture's triggers and functions and the registry row; keeps the version column (and the data). */
export async function disableCapture(pool: pg.Pool, c: Collection): Promise<CaptureReport> {
  return briefly(pool, async (client) => {
    if (isJoined(c)) return disableJoined(client, c);
    const n = captureNames(c);
    const shape = await tableShape(client, c.table);
    const actions: string[] = [];
    if (shape) {
      for (const trig of [n.changeTrigger, n.truncateTrigger]) {
        await client.query(`drop trigger if exists ${q(trig)} on ${q(c.table)}`);
      }
      actions.push(`dropped triggers ${n.changeTrigger}, ${n.truncateTrigger} on ${c.table}`);
    }
    for (const f of [n.changeFn, n.truncateFn]) await client.query(`drop function if exists ${q(f)}()`);
    actions.push(`dropped functions ${n.changeFn}, ${n.truncateFn}`);
    await client.query(`delete from ${q(CAPTURE_TABLE)} where collection = $1`, [c.name]);
    const notes = ['changes from now on are not published; enabling capture again and running backfill catches up'];
    return { collection: c.name, table: c.table, actions, notes };
  });
}

export interface CaptureStatus {
  collection: string;
  table: string;
  enabled: boolean;
  /** Problems that stop capture from being exact (empty when it is). */
  problems: string[];
}

/** Whether capture is installed and complete for the collection, and what is wrong if not. */
export async function captureStatus(client: pg.ClientBase, c: Collection): Promise<CaptureStatus> {
  if (isJoined(c)) return joinedStatus(client, c);
  const shape = await tableShape(client, c.table);
  const problems = shapeProblems(c, shape);
  const n = captureNames(c);
  const { rows } = await client.query<{ tgname: string; tgenabled: string }>(
    `select tgname, tgenabled from pg_trigger where tgrelid = to_regclass($1) and tgname = any($2)`,
    [c.table, [n.changeTrigger, n.truncateTrigger]],
  );
  const found = new Map(rows.map((r) => [r.tgname, r.tgenabled]));
  for (const trig of [n.changeTrigger, n.truncateTrigger]) {
    const state = found.get(trig);
    if (state === undefined) problems.push(`trigger ${trig} is not installed`);
    else if (state !== 'A') problems.push(`trigger ${trig} is not ENABLE ALWAYS (state ${state})`);
  }
  return { collection: c.name, table: c.table, enabled: found.size === 2, problems };
}

// Joined collections (join.ts): every table of the tree carries marking triggers.

/** The registry row of one table of a joined collection: the root's under the collection's name. */
const registryName = (c: Collection, table: string) => (table === c.table ? c.name : `${c.name}:${table}`);

/** What is wrong with one table of a joined collection (empty when nothing). */
function joinedShapeProblems(table: string, nodes: JoinNode[], shape: TableShape | undefined): string[] {
  if (!shape) return [`table ${table} does not exist in the current schema`];
  const problems: string[] = [];
  for (const node of nodes) {
    const at = node.path ? `relation ${node.path}` : 'the root';
    if (shape.primaryKey.length !== 1 || shape.primaryKey[0] !== node.primaryKey) {
      problems.push(`${at}: the primary key of ${table} is (${shape.primaryKey.join(', ')}), not (${node.primaryKey})`);
    } else if (!KEY_COLUMN_TYPES[node.primaryKeyType].test(shape.columns.get(node.primaryKey) ?? '')) {
      problems.push(
        `${at}: ${table}.${node.primaryKey} is ${shape.columns.get(node.primaryKey)}, not a key of type ${node.primaryKeyType} (declare primaryKeyType)`,
      );
    }
    for (const column of nodeColumns(node)) {
      if (!shape.columns.has(column)) problems.push(`${at}: ${table} has no column ${column}`);
    }
  }
  if (shape.hasParts)
    problems.push(`${table} is partitioned or has inheritance children, which capture does not support`);
  return problems;
}

/** The links without an index to find rows by: an assembly (many) or a fan-out (one) would read the whole table. */
async function unindexedLinks(client: pg.ClientBase, c: Collection): Promise<string[]> {
  const links = joinTables(c);
  const wanted: [string, string][] = [];
  for (const nodes of links.values()) {
    for (const node of nodes) {
      const r = node.relation;
      if (r?.kind === 'many') wanted.push([node.table, r.column]);
      if (r?.kind === 'one') wanted.push([node.parent!.table, r.column]);
    }
  }
  const missing: string[] = [];
  for (const [table, column] of wanted) {
    const { rows } = await client.query<{ ok: boolean }>(
      `select exists (select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        where i.indrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1)) and a.attname = $2) as ok`,
      [table, column],
    );
    if (!rows[0]!.ok) missing.push(`${table}.${column}`);
  }
  return [...new Set(missing)];
}

/**
 * The collection's marking triggers on tables its declaration no longer joins (a relation removed or
 * renamed): dropped, with the registry rows of those tables and the marks of nodes it no longer has,
 * which nothing would ever expand. Returns what it dropped.
 */
async function dropStale(client: pg.ClientBase, c: Collection, keep: Set<string>): Promise<string[]> {
  const { rows } = await client.query<{ table_name: string; tgname: string }>(
    `select c.relname as table_name, t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid
     where c.relnamespace = to_regnamespace(current_schema()) and starts_with(t.tgname::text, $1)`,
    [`${joinTriggerPrefix(c)}_`],
  );
  const dropped: string[] = [];
  for (const r of rows.filter((r) => !keep.has(r.table_name))) {
    await client.query(`drop trigger if exists ${q(r.tgname)} on ${q(r.table_name)}`);
    dropped.push(`dropped trigger ${r.tgname} on ${r.table_name} (no longer joined)`);
  }
  await client.query(
    `delete from ${q(CAPTURE_TABLE)} where starts_with(collection, $1) and not (collection = any($2))`,
    [`${c.name}:`, [...keep].map((t) => registryName(c, t))],
  );
  const nodes = [...joinTables(c).values()].flat().map((n) => n.path);
  await client.query(`delete from ${q(JOIN_MARKS_TABLE)} where collection = $1 and not (node = any($2))`, [
    c.name,
    keep.size ? nodes : [],
  ]);
  return dropped;
}

/** Tables whose rows a logical-replication subscription applies: its apply worker fires no statement trigger. */
async function subscribedTables(client: pg.ClientBase, tables: string[]): Promise<string[]> {
  const { rows } = await client.query<{ t: string }>(
    `select c.relname as t from pg_subscription_rel s join pg_class c on c.oid = s.srrelid
     where c.relnamespace = to_regnamespace(current_schema()) and c.relname = any($1)`,
    [tables],
  );
  return rows.map((r) => r.t);
}

async function enableJoined(client: pg.PoolClient, c: Collection): Promise<CaptureReport> {
  const tables = joinTables(c);
  const shapes = new Map<string, TableShape>();
  const problems: string[] = [];
  for (const [table, nodes] of tables) {
    const shape = await tableShape(client, table);
    problems.push(...joinedShapeProblems(table, nodes, shape));
    if (shape) shapes.set(table, shape);
  }
  if (problems.length) {
    throw new SynclineError('SYNC_CAPTURE_NOT_READY', `cannot capture ${c.name}:\n  ${problems.join('\n  ')}`);
  }
  const schema = shapes.get(c.table)!.schema;
  // A collection that was captured as one table before has that table's row triggers: replaced.
  const plain = captureNames(c);
  for (const trig of [plain.changeTrigger, plain.truncateTrigger]) {
    await client.query(`drop trigger if exists ${q(trig)} on ${q(c.table)}`);
  }
  const actions: string[] = await dropStale(client, c, new Set(tables.keys()));
  for (const [table, nodes] of tables) {
    for (const sql of markTriggersSql(c, schema, table, nodes)) await client.query(sql);
    const n = joinNames(c, table);
    const at = nodes.map((node) => (node.path ? `relation ${node.path}` : 'documents')).join(', ');
    actions.push(`${table} (${at}): triggers ${n.triggers.insert}, _update, _delete, _truncate -> ${n.fn}()`);
    const columns = [...new Set(nodes.flatMap(nodeColumns))];
    await client.query(
      `insert into ${q(CAPTURE_TABLE)} (collection, table_name, columns) values ($1, $2, $3)
       on conflict (collection) do update set table_name = excluded.table_name, columns = excluded.columns, enabled_at = now()`,
      [registryName(c, table), table, columns],
    );
  }
  actions.push(
    'the triggers run after each insert, update and delete statement and before truncate, ENABLE ALWAYS (they fire under session_replication_role = replica too, though not in a logical-replication apply worker)',
  );
  const notes = [
    'a change to any of these tables marks the documents it touches; the relay assembles them (the join evaluated in PostgreSQL) and publishes each with a new version',
  ];
  for (const t of await subscribedTables(client, [...tables.keys()])) {
    notes.push(
      `WARNING: ${t} is written by a logical-replication subscription, whose apply worker fires no statement trigger: its changes are not captured (capture the publisher's tables instead)`,
    );
  }
  for (const link of await unindexedLinks(client, c)) {
    notes.push(
      `${link} has no index: every assembly or fan-out through it reads the whole table; create index on ${link.replace('.', ' (')})`,
    );
  }
  if (shapes.get(c.table)!.superuser) {
    for (const sql of guardSql(schema)) await client.query(sql);
    actions.push(
      `event trigger ${guardName(schema)}: refuses ALTER TABLE or DROP TABLE that takes away a captured column or table`,
    );
  } else {
    notes.push(
      "no schema-change guard (creating an event trigger needs a superuser): a joined column renamed or dropped stops assembly with an error in the relay's log",
    );
  }
  notes.push(`rows written before now are not published yet: run syncline backfill ${c.name}`);
  return { collection: c.name, table: c.table, actions, notes };
}

async function disableJoined(client: pg.PoolClient, c: Collection): Promise<CaptureReport> {
  const actions: string[] = await dropStale(client, c, new Set(joinTables(c).keys()));
  for (const table of joinTables(c).keys()) {
    const n = joinNames(c, table);
    if (await tableShape(client, table)) {
      for (const trig of Object.values(n.triggers))
        await client.query(`drop trigger if exists ${q(trig)} on ${q(table)}`);
      actions.push(`dropped triggers ${Object.values(n.triggers).join(', ')} on ${table}`);
    }
    await client.query(`drop function if exists ${q(n.fn)}()`);
    actions.push(`dropped function ${n.fn}`);
    await client.query(`delete from ${q(CAPTURE_TABLE)} where collection = $1`, [registryName(c, table)]);
  }
  const notes = ['changes from now on are not published; enabling capture again and running backfill catches up'];
  return { collection: c.name, table: c.table, actions, notes };
}

async function joinedStatus(client: pg.ClientBase, c: Collection): Promise<CaptureStatus> {
  const problems: string[] = [];
  let installed = 0;
  const tables = joinTables(c);
  for (const [table, nodes] of tables) {
    problems.push(...joinedShapeProblems(table, nodes, await tableShape(client, table)));
    const n = joinNames(c, table);
    const { rows } = await client.query<{ tgname: string; tgenabled: string }>(
      `select tgname, tgenabled from pg_trigger where tgrelid = to_regclass($1) and tgname = any($2)`,
      [table, Object.values(n.triggers)],
    );
    const found = new Map(rows.map((r) => [r.tgname, r.tgenabled]));
    for (const trig of Object.values(n.triggers)) {
      const state = found.get(trig);
      if (state === undefined) problems.push(`trigger ${trig} is not installed on ${table}`);
      else if (state !== 'A') problems.push(`trigger ${trig} on ${table} is not ENABLE ALWAYS (state ${state})`);
    }
    if (found.size === 4) installed++;
  }
  for (const t of await subscribedTables(client, [...tables.keys()])) {
    problems.push(`${t} is written by a logical-replication subscription: its changes are not captured`);
  }
  return { collection: c.name, table: c.table, enabled: installed === tables.size, problems };
}
