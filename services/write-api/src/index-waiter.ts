// ?wait=indexed: answer a write only once the search index shows it (a real-time multi-get through the
// alias; search sees it at the index's next refresh). An upsert is there when the index has its
// version or a newer one. A delete is there when the index has no version at or below it AND none is
// on its way: "not found" alone would also be true of a document whose upsert is still in the
// pipeline, and that upsert would appear after the answer. So for deletes the waiter first sees the
// events up to them leave the outbox, then notes the end offsets of their partitions, and waits until the
// sink's consumer group has committed past them (it commits only what the index acknowledged).
import { sleep } from '@syncline/core';
import { type KafkaAdmin, type KafkaClient, keyHash } from '@syncline/kafka';
import { OUTBOX_TABLE, pendingMarksSql, type WriteResult, waitMarksSql } from '@syncline/outbox';
import { type Collection, EventCodec, isJoined } from '@syncline/schema';
import type { SearchEngine } from '@syncline/search';
import type pg from 'pg';

/** A committed change the wait is for. */
export type Change = Pick<WriteResult, 'id' | 'op' | 'version'>;

export interface IndexWaiter {
  /** True once the index shows every change; false at the deadline (epoch ms). */
  waitIndexed(c: Collection, changes: Change[], deadline: number): Promise<boolean>;
  close?(): Promise<void>;
}

const POLL_MS = 25;
/** From this many changes on, a wait follows the pipeline's offsets before it asks the index. */
const LARGE = 100;

export class PipelineIndexWaiter implements IndexWaiter {
  private readonly deps: { search: SearchEngine; pool: pg.Pool; kafka: KafkaClient; sinkGroup: string };

  constructor(deps: PipelineIndexWaiter['deps']) {
    this.deps = deps;
  }

  async waitIndexed(c: Collection, changes: Change[], deadline: number): Promise<boolean> {
    if (isJoined(c)) {
      const assembled = await this.assembled(c, changes, deadline);
      if (!assembled) return false;
      changes = assembled;
    }
    // Deletes need it; a large batch saves the index thousands of ids per poll by waiting on cheap reads of
    // the outbox and the group's offsets first, then checking the index once.
    const deletes = changes.filter((ch) => ch.op === 'DELETE');
    const viaOffsets = changes.length > LARGE ? changes : deletes;
    if (viaOffsets.length && !(await this.settled(c, viaOffsets, deadline))) return false;
    let pending = changes;
    for (;;) {
      // One multi-get per round for every change still waited for.
      const version = await beforeDeadline(
        this.deps.search.versions(
          c.index.alias,
          pending.map((ch) => ch.id),
        ),
        deadline,
      );
      pending = pending.filter((ch) => {
        const v = version.get(ch.id) ?? null;
        return ch.op === 'UPSERT' ? v === null || v < ch.version : v !== null && v <= ch.version;
      });
      if (pending.length === 0) return true;
      if (Date.now() > deadline) return false;
      await sleep(POLL_MS);
    }
  }

  /**
   * A joined collection's write is versioned when it is assembled: each document is marked again now,
   * after the commit, and an upsert is indexed at any version above its mark — an assembly that drew
   * it after the mark, whose snapshot holds the write (join.ts). A delete first waits for its mark to
   * be taken (every assembly of the id before it has then committed and reached the outbox), then, as
   * any delete, for the pipeline to settle and the index to show no version at all. Undefined at the deadline.
   */
  private async assembled(c: Collection, changes: Change[], deadline: number): Promise<Change[] | undefined> {
    const { rows } = await this.deps.pool.query<{ id: string; seq: string }>(
      waitMarksSql(
        c,
        changes.map((ch) => ch.id),
      ),
    );
    const mark = new Map(rows.map((r) => [r.id, r.seq]));
    const deletes = changes.filter((ch) => ch.op === 'DELETE');
    while (deletes.length) {
      const { rows: pending } = await this.deps.pool.query<{ id: string }>(
        pendingMarksSql(
          c,
          deletes.map((d) => d.id),
          deletes.map((d) => mark.get(d.id)!),
        ),
      );
      if (pending.length === 0) break;
      if (Date.now() > deadline) return undefined;
      await sleep(POLL_MS);
    }
    return changes.map((ch) => ({
      id: ch.id,
      op: ch.op,
      version: ch.op === 'UPSERT' ? Number(mark.get(ch.id)) + 1 : Number.MAX_SAFE_INTEGER,
    }));
  }

  /** Every event of these ids has been published, and the sink has settled their partitions past it. */
  private async settled(c: Collection, changes: Change[], deadline: number): Promise<boolean> {
    // Every outbox row up to the newest committed now (these deletes' included) is gone once the smallest
    // seq left is above it: both are primary-key lookups, however large a backlog is.
    const seq = async (fn: 'min' | 'max') => {
      const { rows } = await this.deps.pool.query(`select ${fn}(seq) as s from ${OUTBOX_TABLE}`);
      return Number(rows[0].s ?? Number.POSITIVE_INFINITY);
    };
    const newest = await seq('max');
    while (newest !== Number.POSITIVE_INFINITY && (await seq('min')) <= newest) {
      if (Date.now() > deadline) return false;
      await sleep(POLL_MS);
    }
    const admin = await this.connectedAdmin(deadline);
    const ends = await beforeDeadline(admin.topicOffsets(c.topic), deadline);
    const codec = this.codec(c);
    const partitions = new Set(changes.map((d) => keyHash(codec.encodeKey(d.id)) % ends.length));
    // Every relay batch is a Kafka transaction, and its commit marker takes the last offset: the sink,
    // which commits after each record it settled, stands one short of the end once it read everything.
    const target = new Map(ends.filter((e) => partitions.has(e.partition)).map((e) => [e.partition, e.high - 1]));
    for (;;) {
      const committed = await beforeDeadline(admin.groupOffsets(this.deps.sinkGroup, c.topic), deadline);
      const settled = [...target].every(([p, end]) => (committed.get(p) ?? -1) >= end);
      if (settled) return true;
      if (Date.now() > deadline) return false;
      await sleep(POLL_MS);
    }
  }

  private readonly codecs = new Map<string, EventCodec>();
  private codec(c: Collection): EventCodec {
    const codec = this.codecs.get(c.name) ?? new EventCodec(c);
    this.codecs.set(c.name, codec);
    return codec;
  }

  /** One admin client for every wait, connected on first use. */
  private admin: Promise<KafkaAdmin> | undefined;
  private connectedAdmin(deadline: number): Promise<KafkaAdmin> {
    if (!this.admin) {
      this.admin = this.deps.kafka.admin();
      this.admin.catch(() => {
        this.admin = undefined;
      });
    }
    return beforeDeadline(this.admin, deadline);
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.close()).catch(() => {});
  }
}

/** The promise's value, or a rejection once the deadline passed. */
function beforeDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the wait ran out')), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
