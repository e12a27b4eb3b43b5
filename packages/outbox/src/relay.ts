// The outbox relay: while it holds leadership, it reads committed outbox rows oldest first,
// publishes them, and only then removes them. A crash between publish and removal republishes
// (harmless: events carry versions); nothing is removed before Kafka acknowledged it.
// Waking is adaptive polling: back-to-back while rows keep coming, backing off to idleMaxMs when
// the outbox is empty; wake() (called after a local commit) cuts the wait short.
import { backoffDelay, Counter, Gauge, Histogram, type Logger, type Registry, sleep } from '@syncline/core';
import type { EventPublisher } from './kafka-event-publisher.ts';
import type { OutboxRow, OutboxStore } from './pg-outbox-store.ts';

export interface RelayOptions {
  batchSize: number;
  idleMinMs: number;
  idleMaxMs: number;
  standbyPollMs: number;
  /** Fault injection for tests: called after a publish, before the rows are removed. */
  afterPublish?: () => void;
}

export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  batchSize: 5000,
  idleMinMs: 2,
  idleMaxMs: 100,
  standbyPollMs: 1000,
};

export type RelayState = 'stopped' | 'standby' | 'active';

export class OutboxRelay {
  private readonly store: OutboxStore;
  private readonly publisher: EventPublisher;
  private readonly log: Logger;
  private readonly options: RelayOptions;
  private abort = new AbortController();
  private wakeUp: AbortController = new AbortController();
  private loop: Promise<void> | undefined;
  state: RelayState = 'stopped';
  private readonly metrics;

  constructor(deps: {
    store: OutboxStore;
    publisher: EventPublisher;
    log: Logger;
    registry: Registry;
    options?: Partial<RelayOptions>;
  }) {
    this.store = deps.store;
    this.publisher = deps.publisher;
    this.log = deps.log;
    this.options = { ...DEFAULT_RELAY_OPTIONS, ...deps.options };
    const registers = [deps.registry];
    this.metrics = {
      published: new Counter({
        name: 'syncline_relay_events_published_total',
        help: 'Events published to Kafka',
        registers,
      }),
      batches: new Histogram({
        name: 'syncline_relay_produce_seconds',
        help: 'Latency of one produce (transaction) to Kafka',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers,
      }),
      failures: new Counter({
        name: 'syncline_relay_publish_failures_total',
        help: 'Failed publish attempts',
        registers,
      }),
      active: new Gauge({ name: 'syncline_relay_active', help: '1 while this relay holds leadership', registers }),
      backlog: new Gauge({ name: 'syncline_outbox_backlog', help: 'Unpublished outbox events', registers }),
      oldest: new Gauge({
        name: 'syncline_outbox_oldest_age_seconds',
        help: 'Age of the oldest unpublished outbox event',
        registers,
      }),
    };
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  /** Cut the idle wait short: there is probably something new. */
  wake(): void {
    this.wakeUp.abort();
  }

  /** Publishes nothing more; returns after the batch in flight is published and removed (or failed). */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake();
    await this.loop;
    this.loop = undefined;
    this.state = 'stopped';
    this.metrics.active.set(0);
  }

  async sampleBacklog(): Promise<{ count: number; oldestAgeSeconds: number }> {
    const b = await this.store.backlog();
    this.metrics.backlog.set(b.count);
    this.metrics.oldest.set(b.oldestAgeSeconds);
    return b;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let idle = this.options.idleMinMs;
    let failures = 0;
    // The next batch is read while one is publishing (pipelining). Batches are published strictly one
    // after the other, and the next batch is every row not in flight in seq order, so per-key commit
    // order holds: a row of a key read later was committed after that key's earlier rows.
    let inflight: { rows: OutboxRow[]; done: Promise<void> } | undefined;
    const settle = async () => {
      if (!inflight) return;
      const { rows, done } = inflight;
      inflight = undefined;
      await done;
      this.options.afterPublish?.();
      await this.store.remove(rows.map((r) => r.seq));
      this.metrics.published.inc(rows.length);
    };
    while (!signal.aborted) {
      if (!(await this.store.tryLead())) {
        await inflight?.done.catch(() => {});
        inflight = undefined;
        if (this.state !== 'standby') this.log.info('relay is a hot standby; another relay holds the outbox');
        this.state = 'standby';
        this.metrics.active.set(0);
        await sleep(this.options.standbyPollMs, signal);
        continue;
      }
      if (this.state !== 'active') this.log.info('relay is active');
      this.state = 'active';
      this.metrics.active.set(1);
      try {
        const busy = new Set(inflight?.rows.map((r) => r.seq));
        const fetched = await this.store.fetch(this.options.batchSize + busy.size);
        const rows = busy.size ? fetched.filter((r) => !busy.has(r.seq)).slice(0, this.options.batchSize) : fetched;
        if (rows.length === 0) {
          await settle();
          await this.idleWait(idle, signal);
          idle = Math.min(this.options.idleMaxMs, idle * 2);
          continue;
        }
        idle = this.options.idleMinMs;
        // The previous batch is confirmed and removed before this one is sent: at most one batch is
        // ever published-but-not-removed, so a crash republishes it alone and a key's versions can
        // repeat in place but never go back (publishing two batches ahead could replay N, N+1, N, N+1).
        await settle();
        const end = this.metrics.batches.startTimer();
        const done = this.publisher.publish(rows).then(() => {
          end();
        });
        done.catch(() => {}); // observed by settle()
        inflight = { rows, done };
        failures = 0;
      } catch (err) {
        // Nothing in flight survives a failure: rows not removed are read and published again.
        await inflight?.done.catch(() => {});
        inflight = undefined;
        failures++;
        this.metrics.failures.inc();
        const delay = backoffDelay(failures, { initialMs: 100, maxMs: 5000 });
        this.log.warn({ err, failures, retryInMs: delay }, 'relay could not publish; retrying');
        await sleep(delay, signal);
      }
    }
    try {
      await settle();
    } catch (err) {
      this.log.warn({ err }, 'the last batch was not confirmed; it will be published again');
    }
  }

  private async idleWait(ms: number, signal: AbortSignal): Promise<void> {
    this.wakeUp = new AbortController();
    const both = AbortSignal.any([signal, this.wakeUp.signal]);
    await sleep(ms, both);
  }
}
