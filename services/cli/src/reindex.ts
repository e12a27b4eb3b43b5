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
import { createLogger, createMetricsRegistry } from '@syncline/core';
import type { KafkaAdmin, KafkaClient } from '@syncline/kafka';
import { REINDEX_TABLE, RETIRED_INDEX_TABLE, withOperationLock } from '@syncline/outbox';
import type { Collection } from '@syncline/schema';
import type { SearchEngine } from '@syncline/search';
import {
  BulkWriter,
  ensureIndex,
  indexMappings,
  indexSettings,
  KafkaDeadLetterSink,
  physicalIndexName,
  SinkProcessor,
  sinkMetrics,
} from '@syncline/sink';
import type pg from 'pg';

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

/**
 * Reindex reads the topic with this many consumers, each alone in its own group (`<group>.<k>`) and
 * given a fixed slice of the partitions (p mod SLICES = k): a consumer fetches again only once all of
 * its batches settled, so with one consumer Elasticsearch idles during every fetch;
 * with two, one indexes while the other fetches.
 */
const SLICES = 2;
const sliceGroupIds = (groupId: string) => Array.from({ length: SLICES }, (_, k) => `${groupId}.${k}`);

/** Every consumer group of one rebuild (one target index) starts with this. */
const groupPrefix = (c: Collection, index: string) => `syncline-reindex.${c.name}.${index}.`;

/** Commits `positions` to the (new, empty) slice groups of `groupId`. */
async function seedPositions(admin: KafkaAdmin, topic: string, groupId: string, positions: Map<number, number>) {
  const groups = sliceGroupIds(groupId);
  for (let k = 0; k < SLICES; k++) {
    const slice = new Map([...positions].filter(([p, offset]) => p % SLICES === k && offset > 0));
    await admin.setGroupOffsets(groups[k]!, topic, slice);
  }
}

/** Where each partition of the topic stands for the slice groups: their committed offsets, 0 when none. */
async function committedPositions(admin: KafkaAdmin, topic: string, groupId: string): Promise<Map<number, number>> {
  const committed = await Promise.all(sliceGroupIds(groupId).map((g) => admin.groupOffsets(g, topic)));
  const positions = new Map<number, number>();
  committed.forEach((offsets, k) => {
    for (const [p, offset] of offsets) if (p % SLICES === k) positions.set(p, offset);
  });
  return positions;
}

/**
 * Consumes the topic into `index` from `reached` (each partition's position; updated in place) up to
 * the end offsets `ends`. Progress is committed to the slice groups as batches settle, so a crash
 * resumes; completion is seen as batches settle, without polling the groups.
 */
async function catchUp(
  kafka: KafkaClient,
  search: SearchEngine,
  c: Collection,
  index: string,
  groupId: string,
  reached: Map<number, number>,
  ends: Array<{ partition: number; high: number }>,
  onProgress?: (done: number, total: number) => void,
) {
  const groups = sliceGroupIds(groupId);
  const target = new Map(ends.map((p) => [p.partition, p.high]));
  for (const p of target.keys()) if (!reached.has(p)) reached.set(p, 0);
  const remaining = (partitions: number[]) =>
    partitions.reduce((s, p) => s + Math.max(0, target.get(p)! - reached.get(p)!), 0);
  const all = [...target.keys()];
  const total = [...target.values()].reduce((s, n) => s + n, 0);
  if (remaining(all) === 0) return 0;

  const registry = createMetricsRegistry('reindex', false);
  const deadLetters = new KafkaDeadLetterSink(kafka);
  const processor = new SinkProcessor({
    collection: { ...c, index: { ...c.index, alias: index } },
    writer: new BulkWriter(search, 60_000),
    deadLetters,
    // Loading: large bulks, every partition at once (the index is not serving searches yet).
    limits: { maxDocs: 10_000, maxBytes: 10 << 20, retryInitialMs: 200, retryMaxMs: 10_000 },
    metrics: sinkMetrics(registry),
    log: createLogger('reindex', 'warn'),
  });
  let events = 0;
  let running = true;
  // A failing slice stops the others (their batches abandon, their consumers disconnect).
  const aborted = Promise.withResolvers<never>();
  aborted.promise.catch(() => {});

  const slice = async (k: number) => {
    const partitions = all.filter((p) => p % SLICES === k);
    if (remaining(partitions) === 0) return;
    let finishing = false;
    const finished = Promise.withResolvers<void>();
    // A partition settled up to `next`; once all of the slice reached their ends, commit them.
    const advance = async (partition: number, next: number) => {
      reached.set(partition, Math.max(reached.get(partition)!, next));
      if (remaining(partitions) > 0 || finishing) return;
      finishing = true;
      await consumer.commit(partitions.map((p) => ({ topic: c.topic, partition: p, offset: reached.get(p)! })));
      finished.resolve();
    };
    // Progress is committed at most every second, so a crash resumes near where it stopped.
    let committedAt = Date.now();
    const consumer = kafka.consumer({
      groupId: groups[k]!,
      topics: [c.topic],
      partitions,
      maxBytesPerPartition: 2 << 20,
      maxBytes: 6 << 20,
      // A short fetch wait: at the end of the topic a long poll would only delay the disconnect.
      maxWaitMs: 100,
      concurrency: Math.max(1, partitions.length),
      onPosition: (_, partition, next) => void advance(partition, next).catch(finished.reject),
      onCrash: (err, restarting) => {
        if (!restarting) finished.reject(err);
      },
      eachBatch: async (batch, control) => {
        const outcome = await processor.processBatch(batch.topic, batch.partition, batch.messages, {
          active: () => running && control.active(),
          heartbeat: control.heartbeat,
        });
        if (outcome === 'abandoned') return 'abandoned';
        events += batch.messages.length;
        onProgress?.(events, total);
        if (Date.now() - committedAt >= 1000) {
          committedAt = Date.now();
          await consumer.commit(partitions.map((p) => ({ topic: c.topic, partition: p, offset: reached.get(p)! })));
        }
        await advance(batch.partition, batch.next);
        return 'settled';
      },
    });
    try {
      await consumer.start();
      await Promise.race([finished.promise, aborted.promise]);
    } finally {
      await consumer.stop();
    }
  };
  const outcomes = await Promise.allSettled(
    Array.from({ length: SLICES }, (_, k) =>
      slice(k).catch((err: unknown) => {
        running = false;
        aborted.reject(err);
        throw err;
      }),
    ),
  );
  await deadLetters.close();
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw failed.reason;
  return events;
}

export async function reindex(
  pool: pg.Pool,
  kafka: KafkaClient,
  search: SearchEngine,
  c: Collection,
  options: ReindexOptions = {},
): Promise<ReindexResult> {
  return withOperationLock(pool, `reindex:${c.name}`, async () => {
    // Kafka's admin connects, and the end offsets the rebuild reads up to are fetched, while the
    // index is prepared (what arrives later is read by the catch-up after the swap).
    const admin = await kafka.admin();
    const ends = admin.topicOffsets(c.topic);
    ends.catch(() => {});
    try {
      return await rebuild(pool, kafka, admin, ends, search, c, options);
    } finally {
      await admin.close();
    }
  });
}

/** One more than the highest generation of the alias's physical indexes (1 when there is none). */
async function nextGeneration(search: SearchEngine, alias: string): Promise<number> {
  const existing = await search.indexNames(`${alias}_*`);
  return Math.max(0, ...existing.map((n) => Number(n.slice(alias.length + 1)) || 0)) + 1;
}

async function rebuild(
  pool: pg.Pool,
  kafka: KafkaClient,
  admin: KafkaAdmin,
  endsNow: Promise<Array<{ partition: number; high: number }>>,
  search: SearchEngine,
  c: Collection,
  options: ReindexOptions,
): Promise<ReindexResult> {
  const alias = c.index.alias;
  await ensureIndex(search, c); // template from the current declaration; alias exists from here on
  const state = (
    await pool.query<{ index: string; group_id: string }>(
      `select index, group_id from ${REINDEX_TABLE} where collection = $1`,
      [c.name],
    )
  ).rows[0];
  const before = await search.aliasTargets(alias);
  const index = state?.index ?? physicalIndexName(c, await nextGeneration(search, alias));
  let reached = new Map<number, number>();
  // Each run has its own groups. A crashed run's consumers stay members of its groups until their
  // sessions time out, and joining those would wait for that: a resumed run starts its new groups
  // at the old groups' positions.
  const groupId = `${groupPrefix(c, index)}${Date.now().toString(36)}`;
  if (state) {
    reached = await committedPositions(admin, c.topic, state.group_id);
    await seedPositions(admin, c.topic, groupId, reached);
  }
  await pool.query(
    `insert into ${REINDEX_TABLE} (collection, index, group_id) values ($1, $2, $3)
     on conflict (collection) do update set group_id = excluded.group_id`,
    [c.name, index, groupId],
  );
  if (!(await search.indexExists(index))) {
    await search.createIndex(index, {
      settings: { ...indexSettings(c), refresh_interval: '-1', number_of_replicas: 0 },
      mappings: indexMappings(c),
    });
  }
  const ends = await endsNow;
  let events = await catchUp(kafka, search, c, index, groupId, reached, ends, options.onProgress);
  await search.putSettings(index, { refresh_interval: c.index.refreshInterval, number_of_replicas: c.index.replicas });
  await search.refresh(index);
  await options.beforeSwap?.();
  const old = (await search.aliasTargets(alias)).filter((n) => n !== index);
  await search.swapAlias(alias, index, old);
  const late = await catchUp(kafka, search, c, index, groupId, reached, await admin.topicOffsets(c.topic));
  if (late > 0) await search.refresh(index);
  events += late;

  const retire = `insert into ${RETIRED_INDEX_TABLE} (index, collection) values ($1, $2) on conflict do nothing`;
  for (const n of old) await pool.query(retire, [n, c.name]);
  const deleted: string[] = [];
  const due = await pool.query<{ index: string }>(
    `select index from ${RETIRED_INDEX_TABLE} where collection = $1 and retired_at <= now() - make_interval(secs => $2)`,
    [c.name, options.graceSeconds ?? 3600],
  );
  for (const { index: n } of due.rows) {
    await search.deleteIndex(n);
    await pool.query(`delete from ${RETIRED_INDEX_TABLE} where index = $1`, [n]);
    deleted.push(n);
  }
  // This run's groups, and those of crashed runs of this rebuild whose members have expired by now.
  const groups = (await admin.listGroups()).filter((g) => g.startsWith(groupPrefix(c, index)));
  await admin.deleteGroups(groups).catch(() => {});
  await pool.query(`delete from ${REINDEX_TABLE} where collection = $1`, [c.name]);
  return {
    collection: c.name,
    from: before.find((n) => n !== index) ?? null,
    to: index,
    events,
    documents: await search.count(index),
    resumed: Boolean(state),
    deleted,
  };
}
