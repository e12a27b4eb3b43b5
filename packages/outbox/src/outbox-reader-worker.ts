// Worker thread of OutboxReader: reads committed outbox rows oldest first on its own PostgreSQL
// connection and encodes them into a packed batch, so parsing and Avro encoding run beside (not on)
// the thread that talks to Kafka. Reads need no lock: only removals, on the leader's session, do.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import type { Declaration } from '@syncline/schema';
import { BatchEncoder } from './event-batch.ts';
import type { ReadRequest, ReadResponse, Shard } from './outbox-reader.ts';
import { OUTBOX_TABLE, q, shardFilterSql } from './sql.ts';

const { connectionString, declaration, shard } = workerData as {
  connectionString: string;
  declaration: Declaration;
  shard: Shard;
};
const encoder = new BatchEncoder(declaration);
// The rows of the batch still in flight are skipped (a hashed NOT IN keeps the index order).
const READ_SQL = `select seq, collection, aggregate_id, op, version, payload,
  floor(extract(epoch from created_at) * 1000)::float8 as committed_ms
  from ${q(OUTBOX_TABLE)} where seq not in (select unnest($2::bigint[]))
  ${shard.count > 1 ? `and ${shardFilterSql(String(shard.count), String(shard.index))}` : ''} order by seq limit $1`;

let client: pg.Client | undefined;

async function connection(): Promise<pg.Client> {
  if (client) return client;
  const c = new pg.Client({ connectionString, application_name: `syncline-relay-reader:${process.pid}` });
  c.on('error', () => {
    if (client === c) client = undefined;
  });
  await c.connect();
  client = c;
  return c;
}

parentPort!.on('message', async ({ id, limit, exclude }: ReadRequest) => {
  try {
    const c = await connection();
    const { rows } = await c.query<{
      seq: string;
      collection: string;
      aggregate_id: string;
      op: 'UPSERT' | 'DELETE';
      version: string;
      payload: Record<string, unknown> | null;
      committed_ms: number;
    }>(READ_SQL, [limit, exclude]);
    const batch = encoder.pack(
      rows.map((r) => ({
        seq: r.seq,
        collection: r.collection,
        aggregateId: r.aggregate_id,
        op: r.op,
        version: Number(r.version),
        payload: r.payload,
        committedAt: r.committed_ms,
      })),
    );
    const transfer = [batch.bytes, ...batch.topics.map((t) => t.layout.buffer as ArrayBuffer)];
    parentPort!.postMessage({ id, batch } satisfies ReadResponse, transfer);
  } catch (err) {
    // A failed read drops the connection; the next read opens a new one.
    const old = client;
    client = undefined;
    await old?.end().catch(() => {});
    parentPort!.postMessage({ id, error: (err as Error).message ?? String(err) } satisfies ReadResponse);
  }
});
