// The sink's core: settle one partition's batch. Decode, keep the newest version per id, bulk in
// bounded chunks, classify every item; retry only the transient (exponential backoff with jitter,
// heartbeating, only this partition waits); dead-letter the permanent. Returns only when every
// event of the batch is settled, so the caller may commit the offset after the last one; returns
// 'abandoned' when the partition was lost meanwhile, so the caller commits nothing.
import type { KafkaMessage } from 'kafkajs';
import { backoffDelay, Counter, Histogram, isSynclineError, type Logger, type Registry, sleep } from '@syncline/core';
import { type ChangeEvent, type Collection, EventCodec, historicSchemas, SCHEMA_HEADER } from '@syncline/schema';
import { type PlannedEvent, planChunks } from './batch-planner.ts';
import { classify, type ItemResult } from './classify.ts';
import type { DeadLetter, DeadLetterSink } from './dead-letters.ts';
import type { SearchWriter } from './search-writer.ts';

export interface SinkLimits {
  maxDocs: number;
  maxBytes: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface BatchControl {
  /** False once the partition was revoked or the consumer is stopping. */
  active(): boolean;
  heartbeat(): Promise<void>;
}

export type BatchOutcome = 'settled' | 'abandoned';

export class SinkMetrics {
  readonly indexed: Counter;
  readonly stale: Counter;
  readonly retries: Counter;
  readonly deadLetters: Counter;
  readonly bulkSeconds: Histogram;
  readonly commitToIndexed: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.indexed = new Counter({
      name: 'syncline_sink_documents_indexed_total',
      help: 'Documents indexed or deleted',
      labelNames: ['collection'],
      registers,
    });
    this.stale = new Counter({
      name: 'syncline_sink_version_conflicts_total',
      help: 'Stale events skipped by external versioning',
      labelNames: ['collection'],
      registers,
    });
    this.retries = new Counter({
      name: 'syncline_sink_retries_total',
      help: 'Transient failures retried',
      labelNames: ['collection'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'syncline_sink_dead_letters_total',
      help: 'Events sent to the dead-letter topic',
      labelNames: ['collection'],
      registers,
    });
    this.bulkSeconds = new Histogram({
      name: 'syncline_sink_bulk_seconds',
      help: 'Latency of one _bulk request',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.commitToIndexed = new Histogram({
      name: 'syncline_sink_commit_to_indexed_seconds',
      help: 'From the PostgreSQL commit of a change to Elasticsearch acknowledging it',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
  }
}

export class SinkProcessor {
  private readonly codec: EventCodec;
  private readonly collection: Collection;
  private readonly writer: SearchWriter;
  private readonly deadLetters: DeadLetterSink;
  private readonly limits: SinkLimits;
  private readonly metrics: SinkMetrics;
  private readonly log: Logger;

  constructor(deps: {
    collection: Collection;
    writer: SearchWriter;
    deadLetters: DeadLetterSink;
    limits: SinkLimits;
    metrics: SinkMetrics;
    log: Logger;
  }) {
    this.collection = deps.collection;
    this.codec = new EventCodec(deps.collection, historicSchemas(deps.collection.name));
    this.writer = deps.writer;
    this.deadLetters = deps.deadLetters;
    this.limits = deps.limits;
    this.metrics = deps.metrics;
    this.log = deps.log;
  }

  async processBatch(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    control: BatchControl,
  ): Promise<BatchOutcome> {
    const label = { collection: this.collection.name };
    const events: ChangeEvent[] = [];
    const sourceOf = new Map<ChangeEvent, KafkaMessage>();
    const letters: DeadLetter[] = [];
    for (const message of messages) {
      if (message.value === null) continue; // tombstone: only for compaction
      try {
        const event = this.codec.decode(message.value, message.headers?.[SCHEMA_HEADER]?.toString());
        events.push(event);
        sourceOf.set(event, message);
      } catch (err) {
        letters.push({
          topic,
          partition,
          message,
          errorType: 'SYNC_EVENT_UNDECODABLE',
          reason: (err as Error).message,
        });
      }
    }

    for (const chunk of planChunks(events, this.limits)) {
      let pending: PlannedEvent[] = chunk;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (!control.active()) return 'abandoned';
        let results: ItemResult[] | undefined;
        const end = this.metrics.bulkSeconds.startTimer();
        try {
          results = await this.writer.bulk(this.collection.index.alias, pending);
        } catch (err) {
          results = undefined;
          this.log.warn({ err: (err as Error).message, partition, attempt }, 'bulk request failed; retrying');
        } finally {
          end();
        }
        const retry: PlannedEvent[] = [];
        if (!results) retry.push(...pending);
        else {
          const now = Date.now();
          let indexed = 0;
          let stale = 0;
          results.forEach((r, i) => {
            const planned = pending[i]!;
            switch (classify(r)) {
              case 'indexed':
              case 'absent':
                indexed++;
                this.metrics.commitToIndexed.observe((now - planned.event.committedAt) / 1000);
                break;
              case 'stale':
                stale++;
                break;
              case 'transient':
                retry.push(planned);
                break;
              case 'permanent':
                letters.push({
                  topic,
                  partition,
                  message: sourceOf.get(planned.event)!,
                  errorType: r.errorType ?? `http_${r.status}`,
                  reason: r.reason ?? 'rejected by Elasticsearch',
                });
                break;
            }
          });
          if (indexed) this.metrics.indexed.inc(label, indexed);
          if (stale) this.metrics.stale.inc(label, stale);
        }
        pending = retry;
        if (pending.length) {
          this.metrics.retries.inc(label, pending.length);
          await this.wait(attempt, control);
        }
      }
    }

    for (let attempt = 0; letters.length; attempt++) {
      if (!control.active()) return 'abandoned';
      try {
        await this.deadLetters.send(letters);
        this.metrics.deadLetters.inc(label, letters.length);
        this.log.warn({ partition, count: letters.length, first: letters[0]!.reason }, 'events dead-lettered');
        break;
      } catch (err) {
        this.log.warn(
          { err: isSynclineError(err) ? err.message : (err as Error).message },
          'dead-letter produce failed; retrying',
        );
        await this.wait(attempt, control);
      }
    }
    return 'settled';
  }

  private async wait(attempt: number, control: BatchControl): Promise<void> {
    const until =
      Date.now() + backoffDelay(attempt, { initialMs: this.limits.retryInitialMs, maxMs: this.limits.retryMaxMs });
    while (Date.now() < until && control.active()) {
      await sleep(Math.min(1000, until - Date.now()));
      await control.heartbeat().catch(() => {});
    }
  }
}
