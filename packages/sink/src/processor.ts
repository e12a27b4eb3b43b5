// The sink's core: settle one partition's batch. Decode, keep the newest version per id, bulk in
// bounded chunks, classify every item; retry only the transient (core's retry: exponential backoff
// with jitter, heartbeating, only this partition waits); dead-letter the permanent. Returns only when every
// event of the batch is settled, so the caller may commit the offset after the last one; returns
// 'abandoned' when the partition was lost meanwhile, so the caller commits nothing.

import { isSynclineError, type Logger, metricsOn, type Registry, retry, SynclineError, sleep } from '@syncline/core';
import { type BatchControl, classifyKafkaError, type IncomingRecord } from '@syncline/kafka';
import { type ChangeEvent, type Collection, EventCodec, historicSchemas, SCHEMA_HEADER } from '@syncline/schema';
import { type PlannedEvent, planChunks } from './batch-planner.ts';
import type { SearchWriter } from './bulk-writer.ts';
import { classify, classifySearchError, rejection } from './classify.ts';
import type { DeadLetter, DeadLetterSink } from './dead-letters.ts';

export interface SinkLimits {
  maxDocs: number;
  maxBytes: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export type BatchOutcome = 'settled' | 'abandoned';

export type SinkMetrics = ReturnType<typeof sinkMetrics>;

export function sinkMetrics(registry: Registry) {
  const m = metricsOn(registry);
  return {
    indexed: m.counter('syncline_sink_documents_indexed_total', 'Documents indexed or deleted', ['collection']),
    stale: m.counter('syncline_sink_version_conflicts_total', 'Stale events skipped by external versioning', [
      'collection',
    ]),
    retries: m.counter('syncline_sink_retries_total', 'Transient failures retried', ['collection']),
    deadLetters: m.counter('syncline_sink_dead_letters_total', 'Events sent to the dead-letter topic', ['collection']),
    bulkSeconds: m.histogram('syncline_sink_bulk_seconds', 'Latency of one _bulk request'),
    commitToFetched: m.histogram(
      'syncline_sink_commit_to_fetched_seconds',
      'From a commit to the sink decoding its event',
    ),
    commitToIndexed: m.histogram(
      'syncline_sink_commit_to_indexed_seconds',
      'From the PostgreSQL commit of a change to Elasticsearch acknowledging it',
    ),
  };
}

export class SinkProcessor {
  private readonly codec: EventCodec;
  private readonly deps: {
    collection: Collection;
    writer: SearchWriter;
    deadLetters: DeadLetterSink;
    limits: SinkLimits;
    metrics: SinkMetrics;
    log: Logger;
  };

  constructor(deps: SinkProcessor['deps']) {
    this.deps = deps;
    this.codec = new EventCodec(deps.collection, historicSchemas(deps.collection.name));
  }

  async processBatch(
    topic: string,
    partition: number,
    messages: IncomingRecord[],
    control: BatchControl,
  ): Promise<BatchOutcome> {
    const { collection, writer, deadLetters, limits, metrics, log } = this.deps;
    const label = { collection: collection.name };
    const events: ChangeEvent[] = [];
    const sourceOf = new Map<ChangeEvent, IncomingRecord>();
    const letters: DeadLetter[] = [];
    const deadLetter = (message: IncomingRecord, errorType: string, reason: string) =>
      letters.push({ topic, partition, message, errorType, reason });
    const fetchedAt = Date.now();
    for (const message of messages) {
      if (message.value === null) continue; // tombstone: only for compaction
      try {
        const event = this.codec.decode(message.value, message.headers?.[SCHEMA_HEADER]?.toString());
        metrics.commitToFetched.observe((fetchedAt - event.committedAt) / 1000);
        events.push(event);
        sourceOf.set(event, message);
      } catch (err) {
        deadLetter(message, 'SYNC_EVENT_UNDECODABLE', (err as Error).message);
      }
    }

    const backoff = { initialMs: limits.retryInitialMs, maxMs: limits.retryMaxMs };
    const wait = (ms: number) => this.pause(ms, control);
    try {
      for (const chunk of planChunks(events, limits)) {
        let pending: PlannedEvent[] = chunk;
        await retry(
          async () => {
            if (!control.active()) throw abandoned();
            const end = metrics.bulkSeconds.startTimer();
            const results = await writer.bulk(collection.index.alias, pending).finally(end);
            const transient: PlannedEvent[] = [];
            const now = Date.now();
            let indexed = 0;
            let stale = 0;
            results.forEach((r, i) => {
              const planned = pending[i]!;
              const outcome = classify(r);
              if (outcome === 'indexed' || outcome === 'absent') {
                indexed++;
                metrics.commitToIndexed.observe((now - planned.event.committedAt) / 1000);
              } else if (outcome === 'stale') stale++;
              else if (outcome === 'transient') transient.push(planned);
              else {
                const { code, message } = rejection(r);
                deadLetter(sourceOf.get(planned.event)!, code, message);
              }
            });
            if (indexed) metrics.indexed.inc(label, indexed);
            if (stale) metrics.stale.inc(label, stale);
            pending = transient;
            if (pending.length) throw new SynclineError('SYNC_INDEX_TRANSIENT', `${pending.length} items to retry`);
          },
          {
            backoff,
            classifiers: [classifySearchError],
            wait,
            onRetry: (err, attempt) => {
              metrics.retries.inc(label, pending.length);
              if (err.cause) log.warn({ err: err.message, partition, attempt }, 'bulk request failed; retrying');
            },
          },
        );
      }
      if (letters.length) {
        await retry(
          async () => {
            if (!control.active()) throw abandoned();
            await deadLetters.send(letters);
          },
          {
            backoff,
            classifiers: [(err) => classifyKafkaError(err, 'producer')],
            wait,
            onRetry: (err) => log.warn({ err: err.message }, 'dead-letter produce failed; retrying'),
          },
        );
        metrics.deadLetters.inc(label, letters.length);
        log.warn({ partition, count: letters.length, first: letters[0]!.reason }, 'events dead-lettered');
      }
    } catch (err) {
      if (isSynclineError(err, 'SYNC_PARTITION_LOST')) return 'abandoned';
      throw err;
    }
    return 'settled';
  }

  /** Waits, heartbeating so the group keeps the partition here; ends early once the batch is abandoned. */
  private async pause(ms: number, control: BatchControl): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && control.active()) {
      await sleep(Math.min(1000, until - Date.now()));
      await control.heartbeat().catch(() => {});
    }
  }
}

const abandoned = () =>
  new SynclineError('SYNC_PARTITION_LOST', 'the partition was revoked or the consumer is stopping');
