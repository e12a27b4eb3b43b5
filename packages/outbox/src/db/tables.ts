// Everything Syncline creates in PostgreSQL is named here, and every advisory-lock key it takes is
// formed here, so two features can never share a name or a key by accident. Identifiers come only
// from here and from the validated declaration and are quoted; values always travel as parameters.

import { SynclineError } from '@syncline/core';
import type { KeyType } from '@syncline/schema';
import type pg from 'pg';

export const OUTBOX_TABLE = 'syncline_outbox';
export const VERSION_SEQUENCE = 'syncline_version_seq';
/** The column every collection table carries: the version of the row's last change. */
export const VERSION_COLUMN = 'syncline_version';
export const RELAY_LAYOUT_TABLE = 'syncline_relay_layout';
export const BACKFILL_TABLE = 'syncline_backfill';
export const REINDEX_TABLE = 'syncline_reindex';
export const RETIRED_INDEX_TABLE = 'syncline_retired_index';
/** The collections whose tables are captured, with the columns capture needs (see capture.ts). */
export const CAPTURE_TABLE = 'syncline_capture';
/** The documents of joined collections waiting to be assembled (see join.ts). */
export const JOIN_MARKS_TABLE = 'syncline_join_marks';

export const q = (identifier: string): string => `"${identifier}"`;

/** A quoted identifier and a string literal for names that do not come from the declaration (a schema's). */
export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** The PostgreSQL type of each kind of primary key; ids travel as text and are cast to it. */
export const KEY_PG_TYPES: Record<KeyType, string> = { text: 'text', integer: 'bigint', uuid: 'uuid' };

/**
 * The text form PostgreSQL prints for each kind of key (POSIX regular expressions): ids of another
 * form cannot be a key of the table, so they are not cast (a text key takes any id).
 */
export const KEY_FORMS: Record<KeyType, string> = {
  text: '',
  integer: '^-?[0-9]{1,18}$',
  uuid: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
};

/** A statement and its parameters, as every SQL builder returns them (pg's QueryConfig). */
export interface Sql {
  /** A prepared statement's name: parsed and planned once per connection, not at every execution. */
  name?: string;
  text: string;
  values: unknown[];
}

/** Held (transaction-scoped) by migrations: one migration at a time per database. */
export const MIGRATION_LOCK_KEY = 7_300_001;

/** A document's lock key (collection and id given as SQL expressions): versions of one id are drawn under it. */
export const documentLockKey = (collection: string, id: string): string =>
  `hashtextextended(${collection} || chr(47) || ${id}, 0)`;

/** An operation's lock key in this schema (name given as an SQL expression): relay leadership, backfill, reindex. */
export const operationLockKey = (name: string): string => `hashtextextended(current_schema() || ':' || ${name}, 0)`;

/** The operation name under which one joined collection is assembled (transaction-scoped). */
export const assembleLockName = (collection: string): string => `syncline-assemble:${collection}`;

/** The operation name under which the marks of one joined collection are expanded (transaction-scoped). */
export const expandLockName = (collection: string): string => `syncline-expand:${collection}`;

/** The operation name under which the relay of one outbox shard leads. */
export const relayLockName = (shard: number): string => `syncline-relay:${shard}`;

/** Runs fn while this session holds the operation's lock; SYNC_LOCKED when another session holds it. */
export async function withOperationLock<T>(pool: pg.Pool, name: string, fn: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>(
      `select pg_try_advisory_lock(${operationLockKey('$1')}) as ok`,
      [name],
    );
    if (!rows[0]!.ok) throw new SynclineError('SYNC_LOCKED', `another '${name}' is running`);
    try {
      return await fn();
    } finally {
      await client.query(`select pg_advisory_unlock(${operationLockKey('$1')})`, [name]);
    }
  } finally {
    client.release();
  }
}
