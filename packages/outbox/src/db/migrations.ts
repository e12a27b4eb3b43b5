// Idempotent schema set-up of every table Syncline uses: the version sequence, the outbox, the
// relay layout, the operations' state (backfill, reindex) and one table per collection. New fields in
// the declaration become new nullable columns; nothing is ever dropped here.

import { type Declaration, fieldColumns, pgColumnType } from '@syncline/schema';
import type pg from 'pg';
import { withTransaction } from '../write/transaction.ts';
import { createTableSql } from './sql.ts';
import {
  BACKFILL_TABLE,
  CAPTURE_TABLE,
  JOIN_MARKS_TABLE,
  MIGRATION_LOCK_KEY,
  OUTBOX_TABLE,
  q,
  REINDEX_TABLE,
  RELAY_LAYOUT_TABLE,
  RETIRED_INDEX_TABLE,
  VERSION_COLUMN,
  VERSION_SEQUENCE,
} from './tables.ts';

export async function migrate(pool: pg.Pool, declaration: Declaration): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    // ALTER TABLE takes an exclusive lock even when the column exists; taken while writers hold
    // their tables, it deadlocks with them. So columns are only added when missing.
    const { rows } = await client.query<{ table_name: string; column_name: string }>(
      'select table_name, column_name from information_schema.columns where table_schema = current_schema()',
    );
    const existing = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
    const addColumns = async (table: string, columns: [string, string][]) => {
      const missing = columns.filter(([name]) => !existing.has(`${table}.${name}`));
      if (missing.length === 0) return;
      const adds = missing.map(([name, type]) => `add column if not exists ${q(name)} ${type}`);
      await client.query(`alter table ${q(table)} ${adds.join(', ')}`);
    };
    await client.query(`create sequence if not exists ${q(VERSION_SEQUENCE)} as bigint`);
    await client.query(`create table if not exists ${q(OUTBOX_TABLE)} (
      seq bigint primary key default nextval('${q(VERSION_SEQUENCE)}'),
      collection text not null,
      aggregate_id text not null,
      op text not null check (op in ('UPSERT', 'DELETE')),
      version bigint not null,
      document bytea,
      schema text,
      payload jsonb,
      created_at timestamptz not null default clock_timestamp()
    )`);
    // An event's document is stored Avro-encoded (document) with the fingerprint of its value schema
    // (schema). Rows written before that carry it as JSON (payload) and are encoded by the relay.
    // An event's seq is its version (one draw from the one sequence): the outbox's order, and so the
    // topic's order per key, is version order. Outboxes made when seq had a sequence of its own move
    // to the version sequence, which first passes every seq already used.
    const { rows: seqDefault } = await client.query<{ d: string }>(
      `select pg_get_expr(adbin, adrelid) as d from pg_attrdef where adrelid = '${q(OUTBOX_TABLE)}'::regclass and adnum = 1`,
    );
    if (!seqDefault[0]?.d.includes(VERSION_SEQUENCE)) {
      // Only ever forward: a version drawn meanwhile by a running writer is never handed out again.
      await client.query(
        `select setval('${q(VERSION_SEQUENCE)}', m) from (select max(seq) as m from ${q(OUTBOX_TABLE)}) x
         where m > (select last_value from ${q(VERSION_SEQUENCE)})`,
      );
      await client.query(
        `alter table ${q(OUTBOX_TABLE)} alter column seq set default nextval('${q(VERSION_SEQUENCE)}')`,
      );
    }
    await addColumns(OUTBOX_TABLE, [
      ['document', 'bytea'],
      ['schema', 'text'],
    ]);
    // How many relay shards share the outbox (one row, set by the first relay; see relay-layout.ts).
    await client.query(`create table if not exists ${q(RELAY_LAYOUT_TABLE)} (
      id int primary key check (id = 1),
      shards int not null check (shards > 0)
    )`);
    // The progress of `syncline backfill` and `syncline reindex` (resumable), and indexes a reindex retired.
    await client.query(`create table if not exists ${q(BACKFILL_TABLE)} (
      collection text primary key, last_id text, emitted bigint not null default 0,
      started_at timestamptz not null default now(), finished_at timestamptz)`);
    await client.query(`create table if not exists ${q(REINDEX_TABLE)} (
      collection text primary key, index text not null, group_id text not null,
      started_at timestamptz not null default now())`);
    await client.query(`create table if not exists ${q(RETIRED_INDEX_TABLE)} (
      index text primary key, collection text not null, retired_at timestamptz not null default now())`);
    await client.query(`create table if not exists ${q(CAPTURE_TABLE)} (
      collection text primary key, table_name text not null, columns text[] not null,
      enabled_at timestamptz not null default now())`);
    // Marks of joined documents to assemble (join.ts): written by the tables' triggers, taken by the assembler.
    await client.query(`create table if not exists ${q(JOIN_MARKS_TABLE)} (
      seq bigint primary key default nextval('${q(VERSION_SEQUENCE)}'),
      collection text not null,
      node text not null,
      key text not null,
      fanout boolean not null default false,
      at timestamptz not null default clock_timestamp())`);
    await client.query(
      `create index if not exists syncline_join_marks_next on ${q(JOIN_MARKS_TABLE)} (collection, node, fanout, seq)`,
    );
    await client.query(
      `create index if not exists syncline_join_marks_key on ${q(JOIN_MARKS_TABLE)} (collection, node, key)`,
    );
    // A captured table is the application's: capture (capture.ts) changes it, on request, never this.
    for (const c of declaration.collections.filter((c) => !c.capture)) {
      await client.query(createTableSql(c));
      // Tables that predate Syncline get a version column (backfill gives every row a real version),
      // and fields new in the declaration get nullable columns.
      await addColumns(c.table, [
        [VERSION_COLUMN, 'bigint not null default 0'],
        ...fieldColumns(c).map(({ column, field }): [string, string] => [column, pgColumnType(field)]),
      ]);
    }
  });
}
