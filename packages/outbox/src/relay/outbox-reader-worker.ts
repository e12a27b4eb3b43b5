// Worker thread of OutboxReader: reads committed outbox rows oldest first on its own PostgreSQL
// connection and encodes them into a packed batch, so parsing and Avro encoding run beside (not on)
// the thread that talks to Kafka. Reads need no lock: only removals, on the leader's session, do.
import { parentPort, workerData } from 'node:worker_threads';
import type { Declaration, Document } from '@syncline/schema';
import pg from 'pg';
import { BatchEncoder } from './event-batch.ts';
import type { ReadRequest, ReadResponse, Shard } from './outbox-reader.ts';
import { readEventsSql, utcMillis } from './relay-sql.ts';

const { connectionString, declaration, shard } = workerData as {
  connectionString: string;
  declaration: Declaration;
  shard: Shard;
};
const encoder = new BatchEncoder(declaration);
const readSql = readEventsSql(shard, encoder.fingerprints());

let client: pg.Client | undefined;

async function connection(): Promise<pg.Client> {
  if (client) return client;
  const c = new pg.Client({ connectionString, application_name: `syncline-relay-reader:${process.pid}` });
  c.on('error', () => {
    if (client === c) client = undefined;
  });
  await c.connect();
  // The outbox is a queue: it fills and empties faster than its statistics follow, and with stale
  // ones the planner reads a gap with a bitmap scan of every row in it and a sort. Its head is only
  // ever read well by ordered index range scans that stop at the limit, so this session uses those.
  await c.query('set enable_seqscan = off; set enable_bitmapscan = off');
  // Timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff+00', read by utcMillis.
  await c.query("set timezone = 'UTC'; set datestyle = 'ISO'");
  client = c;
  return c;
}

// The few value parsers this read needs (node-postgres reads every value as text). Seqs and
// versions stay below 2^53.
const PARSERS: Record<number, (v: string) => unknown> = {
  20: Number, // int8
  25: (v) => v, // text
  1184: utcMillis, // timestamptz
  3802: (v) => JSON.parse(v), // jsonb
};
const types = {
  getTypeParser: (oid: number) => {
    const parse = PARSERS[oid];
    if (!parse) throw new Error(`the outbox read got a column of unexpected type ${oid}`);
    return parse;
  },
};

type Row = [number, string, string, 'UPSERT' | 'DELETE', number, string | null, string | null, Document | null, number];

parentPort!.on('message', async ({ id, limit, exclude }: ReadRequest) => {
  try {
    const c = await connection();
    const config: pg.QueryArrayConfig = { ...readSql(limit, exclude), rowMode: 'array', types };
    const { rows } = await c.query<Row>(config);
    const batch = encoder.pack(
      rows.map(([seq, collection, aggregateId, op, version, document, schema, payload, committedAt]) => ({
        seq,
        collection,
        aggregateId,
        op,
        version,
        document: document === null ? null : Buffer.from(document, 'base64'),
        schema,
        payload,
        committedAt,
      })),
    );
    const transfer = [batch.bytes, ...batch.topics.map((t) => t.layout.buffer as ArrayBuffer)];
    parentPort!.postMessage({ id, batch } satisfies ReadResponse, transfer);
  } catch (err) {
    // A failed read drops the connection; the next read opens a new one.
    const old = client;
    client = undefined;
    await old?.end().catch(() => {});
    const { message, code } = err as { message?: string; code?: string };
    parentPort!.postMessage({ id, error: message ?? String(err), code } satisfies ReadResponse);
  }
});
