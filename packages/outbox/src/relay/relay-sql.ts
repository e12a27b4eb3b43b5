// The relay's SQL over the outbox: reading the next events around the batches still in flight,
// removing published ones, and reading the commit times the read session prints.
import pg from 'pg';
import { shardFilterSql } from '../db/sql.ts';
import { OUTBOX_TABLE, q, type Sql } from '../db/tables.ts';
import type { SeqRuns } from './event-batch.ts';

/** The runs as [first, last] pairs, in their order. */
const pairsOf = (runs: SeqRuns) =>
  Array.from({ length: runs.length / 2 }, (_, i): [number, number] => [runs[2 * i]!, runs[2 * i + 1]!]);

/** The runs as sorted, disjoint, non-adjacent [first, last] pairs. */
export function mergeRuns(runs: SeqRuns): [number, number][] {
  const merged: [number, number][] = [];
  for (const [first, last] of pairsOf(runs).sort((a, b) => a[0] - b[0])) {
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
  return (limit: number, exclude: SeqRuns): Sql => {
    const runs = mergeRuns(exclude);
    // The gaps around the runs, as open intervals (lo, hi).
    const gaps: [string, string][] = [];
    let lo = '0';
    for (const [first, last] of runs) {
      gaps.push([lo, String(first)]);
      lo = String(last);
    }
    gaps.push([lo, MAX_SEQ]);
    if (gaps.length === 1) return { text: `select ${columns} ${from} order by seq limit $1`, values: [limit] };
    if (gaps.length > maxBranches) {
      return {
        text: `select e.* from unnest($2::bigint[], $3::bigint[]) as g(lo, hi) cross join lateral (
  select ${columns} ${from} and seq > g.lo and seq < g.hi order by seq limit $1) e
order by seq limit $1`,
        values: [limit, gaps.map((g) => g[0]), gaps.map((g) => g[1])],
      };
    }
    const params: unknown[] = [limit];
    const p = (n: string) => `$${params.push(n)}::bigint`;
    const branches = gaps.map(
      ([a, b]) => `(select ${columns} ${from} and seq > ${p(a)} and seq < ${p(b)} order by seq limit $1)`,
    );
    return { text: `${branches.join('\nunion all ')}\norder by seq limit $1`, values: params };
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
export function removeRunsSql(runs: SeqRuns): Sql {
  const pairs = pairsOf(runs);
  return {
    text: `delete from ${q(OUTBOX_TABLE)} o using unnest($1::bigint[], $2::bigint[]) as r(first, last)
  where o.seq between r.first and r.last`,
    values: [pairs.map(([first]) => first), pairs.map(([, last]) => last)],
  };
}
