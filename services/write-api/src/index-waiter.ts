// ?wait=indexed: answer a write only once the search index shows it (a real-time multi-get through the
// alias; search sees it at the index's next refresh). An upsert is there when the index has its
// version or a newer one. A delete is there when the index has no version at or below it AND none is
// on its way: "not found" alone would also be true of a document whose upsert is still in the
// pipeline, and that upsert would appear after the answer. So for deletes the waiter first sees the
// ids' events leave the outbox, then notes the end offsets of their partitions, and waits until the
// sink's consumer group has committed past them (it commits only what the index acknowledged).
import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { sleep } from '@syncline/core';
import { keyHash } from '@syncline/kafka';
import { OUTBOX_TABLE } from '@syncline/outbox';
import { type Collection, EventCodec } from '@syncline/schema';

export interface Change {
  id: string;
  op: 'UPSERT' | 'DELETE';
  version: number;
}

export interface IndexWaiter {
  /** True once the index shows every change; false at the deadline (epoch ms). */
  waitIndexed(c: Collection, changes: Change[], deadline: number): Promise<boolean>;
}

const POLL_MS = 25;

export class PipelineIndexWaiter implements IndexWaiter {
  private readonly es: Client;
  private readonly pool: pg.Pool;
  private readonly kafka: Kafka;
  private readonly sinkGroup: string;

  constructor(deps: { es: Client; pool: pg.Pool; kafka: Kafka; sinkGroup: string }) {
    this.es = deps.es;
    this.pool = deps.pool;
    this.kafka = deps.kafka;
    this.sinkGroup = deps.sinkGroup;
  }

  async waitIndexed(c: Collection, changes: Change[], deadline: number): Promise<boolean> {
    const deletes = changes.filter((ch) => ch.op === 'DELETE');
    if (deletes.length && !(await this.settled(c, deletes, deadline))) return false;
    let pending = changes;
    for (;;) {
      // One multi-get per round for every change still waited for.
      const { docs } = await this.es.mget({ index: c.index.alias, ids: pending.map((ch) => ch.id), _source: false });
      const version = new Map(docs.map((d) => [d._id, 'found' in d && d.found ? (d._version ?? 0) : null]));
      pending = pending.filter((ch) => {
        const v = version.get(ch.id) ?? null;
        return ch.op === 'UPSERT' ? v === null || v < ch.version : v !== null && v <= ch.version;
      });
      if (pending.length === 0) return true;
      if (Date.now() > deadline) return false;
      await sleep(POLL_MS);
    }
  }

  /** Every event of these ids has been published, and the sink has settled their partitions past it. */
  private async settled(c: Collection, deletes: Change[], deadline: number): Promise<boolean> {
    const ids = deletes.map((d) => d.id);
    for (;;) {
      const { rows } = await this.pool.query(
        `select 1 from ${OUTBOX_TABLE} where collection = $1 and aggregate_id = any($2::text[]) limit 1`,
        [c.name, ids],
      );
      if (rows.length === 0) break;
      if (Date.now() > deadline) return false;
      await sleep(POLL_MS);
    }
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(c.topic);
      const codec = new EventCodec(c);
      const partitions = new Set(ids.map((id) => keyHash(codec.encodeKey(id)) % ends.length));
      // Every relay batch is a Kafka transaction, and its commit marker takes the last offset: the sink,
      // which commits after each record it settled, stands one short of the end once it read everything.
      const target = new Map(
        ends.filter((e) => partitions.has(e.partition)).map((e) => [e.partition, Number(e.high) - 1]),
      );
      for (;;) {
        const [committed] = await admin.fetchOffsets({ groupId: this.sinkGroup, topics: [c.topic] });
        const behind = (committed?.partitions ?? []).filter(
          (p) => target.has(p.partition) && Number(p.offset) < target.get(p.partition)!,
        );
        if (committed && behind.length === 0 && committed.partitions.some((p) => target.has(p.partition))) return true;
        if (Date.now() > deadline) return false;
        await sleep(POLL_MS);
      }
    } finally {
      await admin.disconnect();
    }
  }
}
