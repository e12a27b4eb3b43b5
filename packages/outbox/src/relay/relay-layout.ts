// Relays split one outbox into shards by document id (every event of an id in one shard, so per-id
// order holds). All relays of an outbox must agree on the number of shards: a relay reading all rows
// next to one reading half of them would publish that half twice, interleaved. The first relay
// records its number; a relay configured otherwise refuses to lead (its service refuses to start).

import { SynclineError } from '@syncline/core';
import type pg from 'pg';
import { q, RELAY_LAYOUT_TABLE } from '../db/tables.ts';

export async function claimRelayLayout(db: pg.Pool | pg.ClientBase, shards: number): Promise<void> {
  const { rows } = await db.query<{ shards: number }>(
    `with claim as (insert into ${q(RELAY_LAYOUT_TABLE)} (id, shards) values (1, $1) on conflict (id) do nothing returning shards)
     select shards from claim union all select shards from ${q(RELAY_LAYOUT_TABLE)} where id = 1 limit 1`,
    [shards],
  );
  const recorded = rows[0]?.shards ?? shards;
  if (recorded !== shards) {
    throw new SynclineError(
      'SYNC_CONFIG_INVALID',
      `this outbox is relayed in ${recorded} shard(s) and this relay is configured for ${shards} ` +
        `(SYNCLINE_RELAY_SHARDS; the write API's embedded relay counts as 1 — set SYNCLINE_EMBEDDED_RELAY=false ` +
        `when relays are sharded). To change the number: stop every relay, then delete from ${RELAY_LAYOUT_TABLE}.`,
    );
  }
}
