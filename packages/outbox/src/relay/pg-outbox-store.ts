// The relay's hold on the outbox in PostgreSQL. Leadership is a session-level advisory lock held
// on one dedicated connection; removals run on that same connection, so a relay that lost its
// session (and with it the lock) cannot remove anything. The backlog is sampled on a connection of
// its own, so that it never queues behind (or overlaps) a removal. (Reading is OutboxReader's.)

import { isSynclineError } from '@syncline/core';
import pg from 'pg';
import { OUTBOX_TABLE, operationLockKey, q, relayLockName } from '../db/tables.ts';
import type { SeqRuns } from './event-batch.ts';
import type { Shard } from './outbox-reader.ts';
import { claimRelayLayout } from './relay-layout.ts';
import { removeRunsSql } from './relay-sql.ts';

export interface OutboxStore {
  /** Try to become the active relay for this outbox shard; true while held. Throws when the outbox is sharded otherwise. */
  tryLead(): Promise<boolean>;
  /** Removes the outbox rows of these seqs (published). */
  remove(runs: SeqRuns): Promise<void>;
  backlog(): Promise<{ count: number; oldestAgeSeconds: number }>;
  close(): Promise<void>;
}

export class PgOutboxStore implements OutboxStore {
  private client: pg.Client | undefined;
  private sampler: pg.Pool | undefined;
  private leading = false;
  private readonly connectionString: string;
  private readonly shard: Shard;

  constructor(connectionString: string, shard: Shard = { index: 0, count: 1 }) {
    this.connectionString = connectionString;
    this.shard = shard;
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: `syncline-relay:${process.pid}`,
    });
    client.on('error', () => {
      // The session is gone, and with it the advisory lock: the next call reconnects as a standby.
      this.client = undefined;
      this.leading = false;
    });
    await client.connect();
    this.client = client;
    return client;
  }

  async tryLead(): Promise<boolean> {
    try {
      const c = await this.connection();
      if (this.leading) {
        await c.query('select 1');
        return true;
      }
      // One lock per (schema, shard): outboxes in different schemas have independent relays.
      const { rows } = await c.query<{ ok: boolean }>(`select pg_try_advisory_lock(${operationLockKey('$1')}) as ok`, [
        relayLockName(this.shard.index),
      ]);
      // Every relay that leads checks that it reads the outbox the way the others do.
      if (rows[0]!.ok) await claimRelayLayout(c, this.shard.count);
      this.leading = rows[0]!.ok;
      return this.leading;
    } catch (err) {
      await this.drop(); // and with the session, the lock
      if (isSynclineError(err)) throw err;
      return false;
    }
  }

  async remove(runs: SeqRuns): Promise<void> {
    const c = await this.connection();
    await c.query(removeRunsSql(runs));
  }

  async backlog(): Promise<{ count: number; oldestAgeSeconds: number }> {
    if (!this.sampler) {
      this.sampler = new pg.Pool({
        connectionString: this.connectionString,
        max: 1,
        application_name: 'syncline-relay-backlog',
      });
      this.sampler.on('error', () => {}); // an idle connection lost: the pool opens another
    }
    const { rows } = await this.sampler.query<{ n: string; age: number | null }>(
      `select count(*) as n, extract(epoch from clock_timestamp() - min(created_at))::float8 as age from ${q(OUTBOX_TABLE)}`,
    );
    return { count: Number(rows[0]!.n), oldestAgeSeconds: rows[0]!.age ?? 0 };
  }

  private async drop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.leading = false;
    await c?.end().catch(() => {});
  }

  async close(): Promise<void> {
    const sampler = this.sampler;
    this.sampler = undefined;
    await Promise.all([this.drop(), sampler?.end().catch(() => {})]);
  }
}
