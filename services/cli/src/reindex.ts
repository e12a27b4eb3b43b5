// Reindex: rebuild a collection's index from its compacted topic with zero downtime.
//   1. create a new physical index from the current declaration, tuned for loading (no refresh,
//      no replicas); the alias keeps serving the old index all along
//   2. consume the topic from the beginning with a dedicated consumer group, through the same
//      SinkProcessor as the live sink (external versions, dead letters), up to the end offsets
//   3. restore the index settings, refresh, and swap the alias atomically
//   4. catch up once more, directly into the new index, with what the live sink may have written
//      into the old index between the last catch-up and the swap (external versions make this safe)
//   5. retire the old index: out of the alias, deleted after the grace period
// The live sink keeps running throughout. Exclusive per collection (advisory lock) and resumable:
// the state row in syncline_reindex names the index and group, and the group's offsets the progress.
import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { createLogger, createMetricsRegistry } from '@syncline/core';
import {
  ensureIndex,
  indexMappings,
  indexSettings,
  KafkaDeadLetterSink,
  physicalIndexName,
  SinkMetrics,
  SinkProcessor,
  EsBulkWriter,
} from '@syncline/es-sink';
import type { Collection } from '@syncline/schema';
import { withExclusiveLock } from './context.ts';

export interface ReindexOptions {
  graceSeconds?: number;
  onProgress?: (done: number, total: number) => void;
  /** Test hook: called after the first catch-up, before the swap. */
  beforeSwap?: () => Promise<void>;
}

export interface ReindexResult {
  collection: string;
  from: string | null;
  to: string;
  events: number;
  documents: number;
  resumed: boolean;
  deleted: string[];
}

async function currentTargets(es: Client, alias: string): Promise<string[]> {
  const exists = await es.indices.existsAlias({ name: alias });
  return exists ? Object.keys(await es.indices.getAlias({ name: alias })) : [];
}

async function ensureState(pool: pg.Pool): Promise<void> {
  await pool.query(`create table if not exists syncline_reindex (
    collection text primary key, index text not null, group_id text not null, started_at timestamptz not null default now())`);
  await pool.query(`create table if not exists syncline_retired_index (
    index text primary key, collection text not null, retired_at timestamptz not null default now())`);
}

/** Consumes the topic with `groupId` into `index` until every partition reached the end offsets seen now. */
async function catchUp(
  kafka: Kafka,
  es: Client,
  c: Collection,
  index: string,
  groupId: string,
  onProgress?: (done: number, total: number) => void,
) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(c.topic);
    const target = new Map(ends.map((p) => [p.partition, Number(p.high)]));
    const position = async () => {
      const committed = (await admin.fetchOffsets({ groupId, topics: [c.topic] }))[0]!.partitions;
      return new Map(committed.map((p) => [p.partition, Number(p.offset)]));
    };
    const total = [...target.values()].reduce((s, n) => s + n, 0);
    const remaining = (pos: Map<number, number>) =>
      [...target].reduce((s, [p, end]) => s + Math.max(0, end - Math.max(pos.get(p) ?? 0, 0)), 0);
    if (remaining(await position()) === 0) return 0;

    const registry = createMetricsRegistry('reindex', false);
    const deadLetters = new KafkaDeadLetterSink(kafka);
    const processor = new SinkProcessor({
      collection: { ...c, index: { ...c.index, alias: index } },
      writer: new EsBulkWriter(es, 60_000),
      deadLetters,
      // Loading: large bulks, every partition at once (the index is not serving searches yet).
      limits: { maxDocs: 10_000, maxBytes: 10 << 20, retryInitialMs: 200, retryMaxMs: 10_000 },
      metrics: new SinkMetrics(registry),
      log: createLogger('reindex', 'warn'),
    });
    // A short fetch wait: at the end of the topic a long poll would only delay the disconnect.
    const consumer = kafka.consumer({
      groupId,
      maxBytesPerPartition: 8 << 20,
      maxBytes: 32 << 20,
      maxWaitTimeInMs: 100,
    });
    let events = 0;
    let running = true;
    await consumer.connect();
    await consumer.subscribe({ topic: c.topic, fromBeginning: true });
    // autoCommit commits only resolved offsets; kafkajs also resolves batches that hold nothing but
    // transaction markers, so the committed position reaches the end offsets.
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 200,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, ends.length),
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset, commitOffsetsIfNecessary }) => {
        const outcome = await processor.processBatch(batch.topic, batch.partition, batch.messages, {
          active: () => running && isRunning() && !isStale(),
          heartbeat,
        });
        if (outcome === 'abandoned') return;
        resolveOffset(batch.lastOffset());
        await commitOffsetsIfNecessary();
        events += batch.messages.length;
        onProgress?.(events, total);
      },
    });
    try {
      for (;;) {
        if (remaining(await position()) === 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      running = false;
      await consumer.disconnect();
      await deadLetters.close();
    }
    return events;
  } finally {
    await admin.disconnect();
  }
}

export async function reindex(
  pool: pg.Pool,
  kafka: Kafka,
  es: Client,
  c: Collection,
  options: ReindexOptions = {},
): Promise<ReindexResult> {
  const alias = c.index.alias;
  return withExclusiveLock(pool, `reindex:${c.name}`, async () => {
    await ensureState(pool);
    await ensureIndex(es, c); // template from the current declaration; alias exists from here on
    const state = (
      await pool.query<{ index: string; group_id: string }>(
        'select index, group_id from syncline_reindex where collection = $1',
        [c.name],
      )
    ).rows[0];
    const before = await currentTargets(es, alias);
    let index: string;
    let groupId: string;
    const resumed = Boolean(state);
    if (state) {
      ({ index, group_id: groupId } = state);
    } else {
      const existing = Object.keys(await es.indices.get({ index: `${alias}_*`, expand_wildcards: 'all' }));
      const generation = Math.max(0, ...existing.map((n) => Number(n.slice(alias.length + 1)) || 0)) + 1;
      index = physicalIndexName(c, generation);
      groupId = `syncline-reindex.${c.name}.${index}`;
      await pool.query('insert into syncline_reindex (collection, index, group_id) values ($1, $2, $3)', [
        c.name,
        index,
        groupId,
      ]);
    }
    if (!(await es.indices.exists({ index }))) {
      await es.indices.create({
        index,
        settings: { ...indexSettings(c), refresh_interval: '-1', number_of_replicas: 0 },
        mappings: indexMappings(c) as never,
      });
    }
    let events = await catchUp(kafka, es, c, index, groupId, options.onProgress);
    await es.indices.putSettings({
      index,
      settings: { refresh_interval: c.index.refreshInterval, number_of_replicas: c.index.replicas },
    });
    await es.indices.refresh({ index });
    await options.beforeSwap?.();
    const old = (await currentTargets(es, alias)).filter((n) => n !== index);
    await es.indices.updateAliases({
      actions: [...old.map((n) => ({ remove: { index: n, alias } })), { add: { index, alias, is_write_index: true } }],
    });
    events += await catchUp(kafka, es, c, index, groupId);
    await es.indices.refresh({ index });

    for (const n of old) {
      await pool.query(
        'insert into syncline_retired_index (index, collection) values ($1, $2) on conflict do nothing',
        [n, c.name],
      );
    }
    const deleted: string[] = [];
    const due = await pool.query<{ index: string }>(
      'select index from syncline_retired_index where collection = $1 and retired_at <= now() - make_interval(secs => $2)',
      [c.name, options.graceSeconds ?? 3600],
    );
    for (const { index: n } of due.rows) {
      await es.indices.delete({ index: n }, { ignore: [404] });
      await pool.query('delete from syncline_retired_index where index = $1', [n]);
      deleted.push(n);
    }
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
    await pool.query('delete from syncline_reindex where collection = $1', [c.name]);
    const documents = (await es.count({ index })).count;
    return {
      collection: c.name,
      from: before.find((n) => n !== index) ?? null,
      to: index,
      events,
      documents,
      resumed,
      deleted,
    };
  });
}
