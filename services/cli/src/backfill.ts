// Backfill: publish every existing row of a collection through the outbox (so versions and per-key
// order hold exactly as for live writes), in keyset-paginated chunks. Resumable: progress is kept
// in syncline_backfill and a restarted backfill continues after the last chunk it committed.

import { BACKFILL_TABLE, keyType, OutboxWriter, withOperationLock, withTransaction } from '@syncline/outbox';
import type { Collection, Declaration } from '@syncline/schema';
import type pg from 'pg';

export interface BackfillOptions {
  chunk?: number;
  /** Rows per second at most (0: as fast as possible). */
  rate?: number;
  onProgress?: (done: number, total: number) => void;
  /** Stop after this many chunks (for tests of interruption). */
  maxChunks?: number;
}

export async function backfill(pool: pg.Pool, declaration: Declaration, c: Collection, options: BackfillOptions = {}) {
  const chunk = options.chunk ?? 1000;
  const writer = new OutboxWriter(declaration);
  return withOperationLock(pool, `backfill:${c.name}`, async () => {
    const state = await pool.query<{ last_id: string | null; emitted: string; finished_at: Date | null }>(
      `select last_id, emitted, finished_at from ${BACKFILL_TABLE} where collection = $1`,
      [c.name],
    );
    let last: string | null = null;
    let emitted = 0;
    const row = state.rows[0];
    if (row && !row.finished_at) {
      last = row.last_id;
      emitted = Number(row.emitted);
    } else {
      await pool.query(
        `insert into ${BACKFILL_TABLE} (collection) values ($1)
         on conflict (collection) do update set last_id = null, emitted = 0, started_at = now(), finished_at = null`,
        [c.name],
      );
    }
    const total = Number((await pool.query<{ n: string }>(`select count(*) as n from "${c.table}"`)).rows[0]!.n);
    const started = Date.now();
    let chunks = 0;
    for (;;) {
      if (options.maxChunks !== undefined && chunks >= options.maxChunks) return { emitted, total, finished: false };
      const { rows } = await pool.query<{ id: string }>(
        `select "${c.primaryKey}"::text as id from "${c.table}" where $1::text is null or "${c.primaryKey}" > $1::text::${keyType(c)} order by "${c.primaryKey}" limit $2`,
        [last, chunk],
      );
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.id);
      await withTransaction(pool, async (client) => {
        await writer.recordChange(client, c.name, ids);
        await client.query(`update ${BACKFILL_TABLE} set last_id = $2, emitted = emitted + $3 where collection = $1`, [
          c.name,
          ids.at(-1),
          ids.length,
        ]);
      });
      last = ids.at(-1)!;
      emitted += ids.length;
      chunks++;
      options.onProgress?.(emitted, total);
      if (options.rate) {
        const ahead = (emitted * 1000) / options.rate - (Date.now() - started);
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
      }
    }
    await pool.query(`update ${BACKFILL_TABLE} set finished_at = now() where collection = $1`, [c.name]);
    return { emitted, total, finished: true };
  });
}
