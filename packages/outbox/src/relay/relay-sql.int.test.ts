// The relay's read and removal SQL on a real PostgreSQL: the read skips exactly the runs in flight and
// returns every other row oldest first, whichever of its two forms it takes; removal takes exactly the runs.

import { loadDeclaration } from '@syncline/schema';
import { createNamespace, type Namespace } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../db/migrations.ts';
import { mergeRuns, readEventsSql, removeRunsSql, utcMillis } from './relay-sql.ts';

// The demo's products as a table Syncline owns (this suite tests that mode; test/capture.test.ts the other).
const declaration = {
  collections: loadDeclaration(
    new URL('../../../../syncline.collections.json', import.meta.url).pathname,
  ).collections.map((c) => ({ ...c, capture: false, relations: {} })),
};

describe('relay SQL', () => {
  let ns: Namespace;
  const seqs = async () =>
    (await ns.pool.query<{ seq: string }>('select seq from syncline_outbox order by seq')).rows.map((r) =>
      Number(r.seq),
    );

  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'relaysql');
    await migrate(ns.pool, declaration);
    // Seqs 1..300 with holes, as left by rolled-back or not yet committed writers.
    await ns.pool.query(`insert into syncline_outbox (seq, collection, aggregate_id, op, version)
      select g, 'products', 'p-' || g, 'UPSERT', g from generate_series(1, 300) g where g % 7 <> 3 and g not between 40 and 60`);
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  it('merges runs in any order', () => {
    expect(mergeRuns([9, 10, 1, 1, 3, 5, 4, 6, 2, 2])).toEqual([
      [1, 6],
      [9, 10],
    ]);
  });

  it('reads the oldest rows outside the runs in flight, in both forms', async () => {
    const present = await seqs();
    const exclusions = [
      [],
      [1, 2],
      [5, 30, 100, 120],
      [250, 300, 1, 10],
      Array.from({ length: 40 }, (_, i) => [i * 6 + 2, i * 6 + 4]).flat(),
    ];
    for (const exclude of exclusions) {
      const runs = mergeRuns(exclude);
      const expected = present.filter((s) => !runs.some(([a, b]) => s >= a && s <= b)).slice(0, 50);
      for (const maxBranches of [1000, 2]) {
        const { rows } = await ns.pool.query<{ seq: string }>(
          readEventsSql({ index: 0, count: 1 }, [], maxBranches)(50, exclude),
        );
        expect(
          rows.map((r) => Number(r.seq)),
          `${maxBranches} ${exclude}`,
        ).toEqual(expected);
      }
    }
  });

  it('reads documents in base64, and a schema only when it is not the current one', async () => {
    const current = 'ab'.repeat(32);
    const older = 'cd'.repeat(32);
    await ns.pool.query(
      `insert into syncline_outbox (seq, collection, aggregate_id, op, version, document, schema) values
       (1001, 'products', 'd-1', 'UPSERT', 1, $1, $2), (1002, 'products', 'd-2', 'UPSERT', 2, $1, $3)`,
      [Buffer.from([0, 1, 2, 250, 255]), current, older],
    );
    const { rows } = await ns.pool.query({
      ...readEventsSql({ index: 0, count: 1 }, [current])(1000, []),
      rowMode: 'array',
    });
    const read = rows.filter((r) => Number(r[0]) > 1000);
    expect(read.map((r) => [Buffer.from(r[5], 'base64'), r[6]])).toEqual([
      [Buffer.from([0, 1, 2, 250, 255]), null],
      [Buffer.from([0, 1, 2, 250, 255]), older],
    ]);
    await ns.pool.query('delete from syncline_outbox where seq > 1000');
  });

  it('reads only its shard', async () => {
    const { rows } = await ns.pool.query<{ aggregate_id: string }>(
      readEventsSql({ index: 1, count: 3 })(1000, [10, 20]),
    );
    const { rows: all } = await ns.pool.query<{ aggregate_id: string; shard: number }>(
      `select aggregate_id, (hashtextextended(aggregate_id, 0) & 9223372036854775807) % 3 as shard
       from syncline_outbox where seq not between 10 and 20 order by seq`,
    );
    expect(rows.map((r) => r.aggregate_id)).toEqual(
      all.filter((r) => Number(r.shard) === 1).map((r) => r.aggregate_id),
    );
    expect(rows.length).toBeGreaterThan(0);
  });

  it('removes exactly the runs', async () => {
    const before = await seqs();
    await ns.pool.query(removeRunsSql([1, 10, 100, 100, 280, 400]));
    expect(await seqs()).toEqual(before.filter((s) => !(s <= 10 || s === 100 || s >= 280)));
  });
});

describe('relay read timestamps', () => {
  it('reads commit times to the millisecond as PostgreSQL prints them in UTC', async () => {
    const ns = await createNamespace(inject('services'), 'relayts');
    try {
      const c = await ns.pool.connect();
      try {
        await c.query("set timezone = 'UTC'; set datestyle = 'ISO'");
        const { rows } = await c.query<{ t: string; ms: string }>({
          text: `select t::text as t, floor(extract(epoch from t) * 1000)::int8::text as ms from (values
            ('2026-11-27 08:00:00+00'::timestamptz), ('2026-11-27 08:00:00.5+00'), ('2026-11-27 08:00:00.123456+00'),
            ('1999-12-31 23:59:59.999999+00'), ('2026-11-27 08:00:00.000999+00'), (clock_timestamp())) v(t)`,
        });
        for (const r of rows) expect(utcMillis(r.t), r.t).toBe(Number(r.ms));
        expect(utcMillis('2026-11-27 09:00:00.25+01')).toBe(Date.UTC(2026, 10, 27, 8, 0, 0, 250));
      } finally {
        c.release();
      }
    } finally {
      await ns.cleanup();
    }
  });
});
