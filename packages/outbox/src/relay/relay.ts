// The outbox relay: while it holds leadership, it reads committed outbox rows oldest first,
// publishes them, and only then removes them. A crash between publish and removal republishes
// (harmless: events carry versions); nothing is removed before Kafka acknowledged it.
// Waking is adaptive polling: back-to-back while rows keep coming, backing off to IDLE_MAX_MS when
// the outbox is empty; wake() (called after a local commit) cuts the wait short.
import { type Logger, metricsOn, type Registry, retry, sleep } from '@syncline/core';
import { classifyKafkaError, type EventPublisher } from '@syncline/kafka';
import { classifyPgError } from '../db/pg-errors.ts';
import type { DocumentAssembler } from './assembler.ts';
import type { SeqRuns } from './event-batch.ts';
import type { BatchReader, EncodedBatch } from './outbox-reader.ts';
import type { OutboxStore } from './pg-outbox-store.ts';

export interface RelayOptions {
  /** Most events in one batch (one Kafka transaction). */
  batchSize: number;
  /** About the most bytes of records in one batch: batches shrink when records are large. */
  batchBytes: number;
  /** Fault injection for tests: called after a publish, before the rows are removed. */
  afterPublish?: (() => void) | undefined;
}

const IDLE_MIN_MS = 2;
const IDLE_MAX_MS = 100;
const STANDBY_POLL_MS = 1000;
const BACKLOG_SAMPLE_MS = 5000;
/** Between attempts to publish after a failure. */
const PUBLISH_BACKOFF = { initialMs: 200, maxMs: 5000 };

export type RelayState = 'stopped' | 'standby' | 'active';

export class OutboxRelay {
  private readonly deps: {
    store: OutboxStore;
    reader: BatchReader;
    publisher: EventPublisher;
    log: Logger;
    registry: Registry;
    options: RelayOptions;
    /** Assembles joined documents into the outbox, beside the relay (none without joined collections). */
    assembler?: DocumentAssembler | undefined;
  };
  private abort = new AbortController();
  private wakeUp: AbortController = new AbortController();
  private loop: Promise<void> | undefined;
  private sampler: NodeJS.Timeout | undefined;
  state: RelayState = 'stopped';
  private readonly metrics;

  constructor(deps: OutboxRelay['deps']) {
    this.deps = deps;
    const m = metricsOn(deps.registry);
    this.metrics = {
      published: m.counter('syncline_relay_events_published_total', 'Events published to Kafka'),
      batches: m.histogram('syncline_relay_produce_seconds', 'Latency of one produce (transaction) to Kafka'),
      // Stages of commit → indexed (the sink has the later ones), per batch, from its oldest event's commit.
      commitToRead: m.histogram(
        'syncline_relay_commit_to_read_seconds',
        'From a commit to the relay reading its event',
      ),
      commitToPublished: m.histogram(
        'syncline_relay_commit_to_published_seconds',
        'From a commit to Kafka acknowledging its event (the transaction committed)',
      ),
      failures: m.counter('syncline_relay_publish_failures_total', 'Failed publish attempts'),
      active: m.gauge('syncline_relay_active', '1 while this relay holds leadership'),
      backlog: m.gauge('syncline_outbox_backlog', 'Unpublished outbox events'),
      oldest: m.gauge('syncline_outbox_oldest_age_seconds', 'Age of the oldest unpublished outbox event'),
    };
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run();
    this.deps.assembler?.start(() => this.wakeUp.abort());
    // Every relay, leading or standing by, shows the outbox's backlog.
    const sample = () => void this.sampleBacklog().catch(() => {});
    sample();
    this.sampler = setInterval(sample, BACKLOG_SAMPLE_MS);
    this.sampler.unref();
  }

  /** Cut the idle wait short: there is probably something new (to assemble, or to publish). */
  wake(): void {
    this.deps.assembler?.wake();
    this.wakeUp.abort();
  }

  /** Publishes nothing more and gives up leadership; returns after the batch in flight is published and removed (or failed). */
  async stop(): Promise<void> {
    clearInterval(this.sampler);
    await this.deps.assembler?.stop();
    this.abort.abort();
    this.wake();
    await this.loop;
    // Leadership goes with the session: a standby takes over at its next poll.
    await Promise.all([this.deps.reader.close(), this.deps.store.close()]);
    this.loop = undefined;
    this.state = 'stopped';
    this.metrics.active.set(0);
  }

  async sampleBacklog(): Promise<{ count: number; oldestAgeSeconds: number }> {
    const b = await this.deps.store.backlog();
    this.metrics.backlog.set(b.count);
    this.metrics.oldest.set(b.oldestAgeSeconds);
    return b;
  }

  private async run(): Promise<void> {
    const { store, reader, publisher, log, options } = this.deps;
    const signal = this.abort.signal;
    let idle = IDLE_MIN_MS;
    // Pipelined, with at most one batch ever committed to Kafka but not yet removed:
    //   read N+1 ‖ send N → commit N → remove N ‖ send N+1 → (N removed) commit N+1 → remove N+1 ‖ …
    // Batches are committed strictly one after the other, and each is every row not yet removed in seq
    // order, so per-key commit order holds (a row of a key read later was committed after that key's
    // earlier rows). A crash republishes at most the one committed-but-unremoved batch, whose versions
    // then repeat in place but never go back; a batch whose transaction was not committed is aborted
    // and never visible to (read-committed) consumers.
    type Step = { batch: EncodedBatch; done: Promise<void> };
    let inflight: Step | undefined; // sent; committed once done
    let removing: Step | undefined; // committed; removed once done
    const removeCommitted = (): Promise<void> => {
      const step = inflight;
      inflight = undefined;
      if (!step) return Promise.resolve();
      const done = step.done.then(async () => {
        options.afterPublish?.();
        await store.remove(step.batch.runs);
        this.metrics.published.inc(step.batch.events);
      });
      done.catch(() => {}); // observed by whoever awaits it
      removing = { batch: step.batch, done };
      return done;
    };
    const drain = async () => {
      await removeCommitted();
      await removing?.done;
      removing = undefined;
    };
    // The read of the batch after the current one starts as soon as the current one arrives, so the
    // reader thread works while this thread publishes.
    let ahead: Promise<EncodedBatch> | undefined;
    const forget = async () => {
      await ahead?.catch(() => {});
      ahead = undefined;
      await inflight?.done.catch(() => {});
      await removing?.done.catch(() => {});
      inflight = undefined;
      removing = undefined;
    };
    // Up to three batches are in memory (removing, in flight, read ahead). Records can be large, so a
    // read asks for as many as fit batchBytes at the size of the largest record of the last batch
    // read (until one was read, as if batchSize were at most 1000).
    let largest = options.batchBytes / Math.min(options.batchSize, 1000);
    const limit = () => Math.max(1, Math.min(options.batchSize, Math.floor(options.batchBytes / largest)));
    const read = (exclude: SeqRuns) =>
      reader.read(limit(), exclude).then((batch) => {
        if (batch.events > 0) largest = batch.maxRecordBytes;
        return batch;
      });
    let refusal = '';
    const lead = () =>
      store.tryLead().catch((err: Error) => {
        if (err.message !== refusal) log.error({ err: err.message }, 'relay cannot lead this outbox');
        refusal = err.message;
        return false;
      });
    while (!signal.aborted) {
      if (!(await lead())) {
        await forget();
        if (this.state !== 'standby') log.info('relay is a hot standby; another relay holds the outbox');
        this.state = 'standby';
        this.metrics.active.set(0);
        await sleep(STANDBY_POLL_MS, signal);
        continue;
      }
      if (this.state !== 'active') log.info('relay is active');
      this.state = 'active';
      this.metrics.active.set(1);
      const step = async () => {
        // No backlog: read once the batch in flight is committed, so that the read takes in everything
        // committed until then.
        if (!ahead) await inflight?.done;
        const unremoved = [...(removing?.batch.runs ?? []), ...(inflight?.batch.runs ?? [])];
        const batch = await (ahead ?? read(unremoved));
        ahead = undefined;
        if (batch.events === 0) {
          await drain();
          await this.idleWait(idle, signal);
          idle = Math.min(IDLE_MAX_MS, idle * 2);
          return;
        }
        idle = IDLE_MIN_MS;
        this.metrics.commitToRead.observe((Date.now() - batch.oldestCommittedAt) / 1000);
        // With a backlog (the batch came back full) the next one is read while this one is sent.
        const full = batch.events >= limit();
        if (full) {
          ahead = read([...unremoved, ...batch.runs]);
          ahead.catch(() => {}); // observed when awaited
        }
        // One Kafka transaction at a time: the previous batch is committed first. Its removal then runs
        // while this one is sent, and this one commits only after it.
        await inflight?.done;
        const previousRemoved = removeCommitted();
        const end = this.metrics.batches.startTimer();
        const done = publisher.publish(batch.topicMessages, previousRemoved).then(() => {
          end();
          this.metrics.commitToPublished.observe((Date.now() - batch.oldestCommittedAt) / 1000);
        });
        done.catch(() => {}); // observed by removeCommitted()
        inflight = { batch, done };
      };
      // Nothing in flight survives a failure: rows not removed are read and published again. A failure
      // retrying cannot fix is logged as an error and tried again at the longest backoff: a relay never stops.
      const failed = (err: unknown, retryInMs: number, retriable: boolean) => {
        this.metrics.failures.inc();
        log[retriable ? 'warn' : 'error']({ err, retryInMs }, 'relay could not publish; retrying');
      };
      try {
        await retry(
          async (attempt) => {
            // After a failure the session (and with it leadership) may be gone: lead again first.
            if (attempt > 0 && !(await lead())) return;
            try {
              await step();
            } catch (err) {
              await forget();
              throw err;
            }
          },
          {
            backoff: PUBLISH_BACKOFF,
            classifiers: [classifyPgError, (err) => classifyKafkaError(err, 'producer')],
            signal,
            onRetry: (err, _attempt, delay) => failed(err, delay, true),
          },
        );
      } catch (err) {
        if (signal.aborted) break;
        failed(err, PUBLISH_BACKOFF.maxMs, false);
        await sleep(PUBLISH_BACKOFF.maxMs, signal);
      }
    }
    try {
      await drain();
    } catch (err) {
      log.warn({ err }, 'the last batch was not confirmed; it will be published again');
    }
  }

  private async idleWait(ms: number, signal: AbortSignal): Promise<void> {
    this.wakeUp = new AbortController();
    const both = AbortSignal.any([signal, this.wakeUp.signal]);
    await sleep(ms, both);
  }
}
