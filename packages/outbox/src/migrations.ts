// Idempotent schema set-up: the version sequence, the outbox table and one table per collection.
// New fields in the declaration become new nullable columns; nothing is ever dropped here.
import type pg from 'pg';
import type { Declaration } from '@syncline/schema';
import { withTransaction } from './transaction.ts';
import {
  createTableSql,
  OUTBOX_TABLE,
  pgType,
  q,
  RELAY_LAYOUT_TABLE,
  VERSION_COLUMN,
  VERSION_SEQUENCE,
} from './sql.ts';

const MIGRATION_LOCK = 7_300_001;

export async function migrate(pool: pg.Pool, declaration: Declaration): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`create sequence if not exists ${q(VERSION_SEQUENCE)} as bigint`);
    await client.query(`create table if not exists ${q(OUTBOX_TABLE)} (
      seq bigserial primary key,
      collection text not null,
      aggregate_id text not null,
      op text not null check (op in ('UPSERT', 'DELETE')),
      version bigint not null,
      payload jsonb,
      created_at timestamptz not null default clock_timestamp()
    )`);
    // How many relay shards share the outbox (one row, set by the first relay; see relay-layout.ts).
    await client.query(`create table if not exists ${q(RELAY_LAYOUT_TABLE)} (
      id int primary key check (id = 1),
      shards int not null check (shards > 0)
    )`);
    for (const c of declaration.collections) {
      await client.query(createTableSql(c));
      // Tables that predate Syncline get a version column; backfill gives every row a real version.
      await client.query(
        `alter table ${q(c.table)} add column if not exists ${q(VERSION_COLUMN)} bigint not null default 0`,
      );
      for (const [name, field] of Object.entries(c.fields)) {
        await client.query(`alter table ${q(c.table)} add column if not exists ${q(name)} ${pgType(field)}`);
      }
    }
  });
}
