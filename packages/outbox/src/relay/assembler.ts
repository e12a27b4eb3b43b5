// The assembler of joined documents (db/join.ts): turns the marks the tables' triggers recorded into
// outbox events carrying whole documents, which the relay then publishes like any other. Runs in the
// relay's process, as two loops on connections of their own, each step one transaction per collection
// under a transaction-scoped lock tried without waiting (several relays may run one; one works at a time):
//   expand    marks of joined rows become marks of the rows that join them, up to the roots (fan-out);
//             on its own connection, so that a large fan-out (100 000 products of one brand: one
//             statement) never holds up the documents writers touch;
//   assemble  a batch of documents — those writers touched first, fan-out after, at most
//             SYNCLINE_ASSEMBLE_FANOUT_RATE of those per second — read with one statement and appended.
// A crash loses nothing: marks leave with what they became, in the same commit.
import { backoffDelay, type Logger, metricsOn, type Registry, sleep } from '@syncline/core';
import type { KafkaAdmin, KafkaClient } from '@syncline/kafka';
import { type Collection, type Declaration, isJoined, joinNodes } from '@syncline/schema';
import pg from 'pg';
import { assembleSql, expandMarksSql, outboxBacklogSql, pickMarksSql } from '../db/join.ts';
import { assembleLockName, expandLockName, JOIN_MARKS_TABLE, operationLockKey, q } from '../db/tables.ts';

export interface AssemblerOptions {
  /** Most documents assembled in one transaction. */
  batchSize: number;
  /**
   * Most fanned-out documents (and re-emits) assembled per second, 0 for no limit: what is left of the
   * pipeline's capacity keeps the documents writers touch fresh while a large fan-out runs.
   */
  fanoutRate: number;
  /** Most marks of one joined table expanded by one statement. */
  expandSize: number;
  /**
   * Fan-out is assembled only while fewer events than this wait for the index: in the outbox, and in
   * the collection's topic for the sink's consumer group. A fan-out then never queues more than this
   * ahead of the documents writers touch.
   */
  fanoutBacklog: number;
  /** The sink's consumer group, whose lag counts in that backlog. */
  sinkGroup: string;
}

/** How long a reading of the sink's lag is used. */
const LAG_MS = 50;

const IDLE_MIN_MS = 2;
const IDLE_MAX_MS = 100;
const SAMPLE_MS = 5000;
/** Fan-out never gets less than one batch per this many seconds, however large the backlog. */
const FLOOR_SHARE = 10;
/** How long the assembly waits when fan-out is left but its budget is spent. */
const FANOUT_WAIT_MS = 20;

/** What one step did: how much work (0: nothing to do, wait), and whether it waits for fan-out budget. */
type Step = { work: number; throttled?: boolean };

/** A loop of steps on a PostgreSQL connection of its own: back-to-back while there is work, backing off when idle. */
class StepLoop {
  private client: pg.Client | undefined;
  private wakeUp = new AbortController();
  private readonly deps: {
    name: string;
    pgUrl: string;
    log: Logger;
    step: (client: pg.Client) => Promise<Step>;
  };

  constructor(deps: StepLoop['deps']) {
    this.deps = deps;
  }

  wake(): void {
    this.wakeUp.abort();
  }

  async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.deps.pgUrl, application_name: this.deps.name });
    client.on('error', () => {
      if (this.client === client) this.client = undefined;
    });
    await client.connect();
    this.client = client;
    return client;
  }

  async run(signal: AbortSignal): Promise<void> {
    let idle = IDLE_MIN_MS;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const { work, throttled } = await this.deps.step(await this.connection());
        failures = 0;
        if (work > 0) {
          idle = IDLE_MIN_MS;
          continue;
        }
        await this.idleWait(throttled ? FANOUT_WAIT_MS : idle, signal);
        if (!throttled) idle = Math.min(IDLE_MAX_MS, idle * 2);
      } catch (err) {
        if (signal.aborted) break;
        const delay = backoffDelay(failures++, { initialMs: 200, maxMs: 5000 });
        this.deps.log.error({ err, retryInMs: delay }, `${this.deps.name}: cannot go on; retrying`);
        await this.close();
        await sleep(delay, signal);
      }
    }
    await this.close();
  }

  private async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }

  private async idleWait(ms: number, signal: AbortSignal): Promise<void> {
    this.wakeUp = new AbortController();
    await sleep(ms, AbortSignal.any([signal, this.wakeUp.signal]));
  }
}

/** Runs fn in a transaction holding the lock, or does nothing (and returns undefined) when another holds it. */
async function underLock<T>(client: pg.Client, lock: string, fn: () => Promise<T>): Promise<T | undefined> {
  // READ COMMITTED whatever the database's default: each statement takes its own snapshot, so the one
  // that reads the documents sees every commit before it, after the lock and the versions (join.ts).
  await client.query('begin isolation level read committed');
  try {
    const { rows } = await client.query<{ ok: boolean }>(
      `select pg_try_advisory_xact_lock(${operationLockKey('$1')}) as ok`,
      [lock],
    );
    const result = rows[0]!.ok ? await fn() : undefined;
    await client.query(rows[0]!.ok ? 'commit' : 'rollback');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
}

export class DocumentAssembler {
  private readonly collections: Collection[];
  private readonly deps: {
    pgUrl: string;
    kafka: KafkaClient;
    log: Logger;
    registry: Registry;
    options: AssemblerOptions;
  };
  private abort = new AbortController();
  private running: Promise<unknown> | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private readonly metrics;
  private readonly expander: StepLoop;
  private readonly assembler: StepLoop;
  private onAssembled: () => void = () => {};
  /** Fan-out documents that may be assembled now (a token bucket filled at fanoutRate, up to one batch). */
  private tokens = 0;
  /** Fan-out that is assembled whatever the backlog (a bucket filled at one batch a second): never starved. */
  private floor = 0;
  private filledAt = performance.now();

  constructor(declaration: Declaration, deps: DocumentAssembler['deps']) {
    this.collections = declaration.collections.filter(isJoined);
    this.deps = deps;
    const m = metricsOn(deps.registry);
    this.metrics = {
      assembled: m.counter('syncline_assembler_documents_total', 'Joined documents assembled into the outbox'),
      expanded: m.counter(
        'syncline_assembler_marks_expanded_total',
        'Marks of joined rows expanded to the rows joining them',
      ),
      round: m.histogram('syncline_assembler_round_seconds', 'One assembly transaction of one collection'),
      pending: m.gauge('syncline_assembler_pending_marks', 'Marks of joined documents not yet assembled'),
    };
    // One collection failing (a document PostgreSQL cannot assemble) holds up only itself: its error is
    // logged and retried with the next steps, while the other collections go on.
    const failing = new Map<string, number>();
    const each = (fn: (client: pg.Client, c: Collection) => Promise<Step>) => async (client: pg.Client) => {
      const steps: Step[] = [];
      let failed: unknown;
      for (const c of this.collections) {
        if ((failing.get(c.name) ?? 0) > performance.now()) continue;
        try {
          steps.push(await fn(client, c));
          failing.delete(c.name);
        } catch (err) {
          if (this.collections.length === 1) throw err;
          failed = err;
          failing.set(c.name, performance.now() + 1000);
          deps.log.error({ err, collection: c.name }, 'cannot assemble this collection; retrying in 1 s');
          await client.query('rollback').catch(() => {});
        }
      }
      if (failed && steps.length === 0) throw failed;
      return { work: steps.reduce((n, s) => n + s.work, 0), throttled: steps.some((s) => s.throttled) };
    };
    const { pgUrl, log } = deps;
    this.expander = new StepLoop({ name: 'syncline-expander', pgUrl, log, step: each((cl, c) => this.expand(cl, c)) });
    this.assembler = new StepLoop({
      name: 'syncline-assembler',
      pgUrl,
      log,
      step: each((cl, c) => this.assemble(cl, c)),
    });
  }

  /** Whether there is anything to assemble in this declaration. */
  get needed(): boolean {
    return this.collections.length > 0;
  }

  /** Starts assembling; onAssembled is called after each commit that appended events. */
  start(onAssembled: () => void): void {
    if (this.running || !this.needed) return;
    this.onAssembled = onAssembled;
    this.abort = new AbortController();
    this.running = Promise.all([this.expander.run(this.abort.signal), this.assembler.run(this.abort.signal)]);
    const sample = () => void this.samplePending().catch(() => {});
    this.sampler = setInterval(sample, SAMPLE_MS);
    this.sampler.unref();
  }

  /** Cut the idle waits short: a local commit probably marked something. */
  wake(): void {
    this.expander.wake();
    this.assembler.wake();
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    this.abort.abort();
    this.wake();
    await this.running;
    this.running = undefined;
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.close()).catch(() => {});
  }

  private admin: Promise<KafkaAdmin> | undefined;
  private lag = new Map<string, { at: number; value: number }>();

  /**
   * Records of the collection's topic the sink's group has not committed yet (read at most every LAG_MS;
   * a partition the group never committed counts 0, and so does Kafka unreachable: only pacing is lost).
   */
  private async sinkLag(c: Collection): Promise<number> {
    const cached = this.lag.get(c.name);
    if (cached && performance.now() - cached.at < LAG_MS) return cached.value;
    let value = 0;
    try {
      if (!this.admin) {
        this.admin = this.deps.kafka.admin();
        this.admin.catch(() => {
          this.admin = undefined;
        });
      }
      const admin = await this.admin;
      const [ends, committed] = await Promise.all([
        admin.topicOffsets(c.topic),
        admin.groupOffsets(this.deps.options.sinkGroup, c.topic),
      ]);
      for (const end of ends) {
        const at = committed.get(end.partition);
        if (at !== undefined) value += Math.max(0, end.high - at);
      }
    } catch {
      value = 0;
    }
    this.lag.set(c.name, { at: performance.now(), value });
    return value;
  }

  async samplePending(): Promise<number> {
    const c = await this.assembler.connection();
    const { rows } = await c.query<{ n: string }>(`select count(*) as n from ${q(JOIN_MARKS_TABLE)}`);
    const n = Number(rows[0]!.n);
    this.metrics.pending.set(n);
    return n;
  }

  /** Marks of joined rows, deepest first (one step carries a mark from a leaf to the root), up to the roots. */
  private async expand(client: pg.Client, c: Collection): Promise<Step> {
    const { expandSize } = this.deps.options;
    const expanded = await underLock(client, expandLockName(c.name), async () => {
      let n = 0;
      for (const node of joinNodes(c).slice(1).reverse()) {
        const sql = expandMarksSql(c, node);
        const { rows } = await client.query<{ taken: number }>({ ...sql, values: [...sql.values, expandSize] });
        n += rows[0]!.taken;
      }
      return n;
    });
    if (expanded) {
      this.metrics.expanded.inc(expanded);
      this.assembler.wake();
    }
    return { work: expanded ?? 0 };
  }

  /** One batch of documents: writers' first, then fan-out within its budget. */
  private async assemble(client: pg.Client, c: Collection): Promise<Step> {
    const { batchSize, fanoutRate, fanoutBacklog } = this.deps.options;
    const now = performance.now();
    this.tokens =
      fanoutRate > 0 ? Math.min(batchSize, this.tokens + ((now - this.filledAt) * fanoutRate) / 1000) : batchSize;
    this.floor = Math.min(batchSize, this.floor + ((now - this.filledAt) * batchSize) / 1000 / FLOOR_SHARE);
    this.filledAt = now;
    // What waits for the index, read before the lock: fan-out waits while the relay and the sink have enough to do.
    const { rows: backlog } = await client.query<{ n: number }>(outboxBacklogSql(fanoutBacklog));
    const room = fanoutBacklog - backlog[0]!.n - (backlog[0]!.n < fanoutBacklog ? await this.sinkLag(c) : 0);
    const budget = Math.max(Math.floor(this.floor), Math.min(Math.floor(this.tokens), room));
    const end = this.metrics.round.startTimer();
    const result = await underLock(client, assembleLockName(c.name), async () => {
      const { rows: picked } = await client.query<{ key: string; version: string; fanout: boolean }>(
        pickMarksSql(c, batchSize, budget),
      );
      if (picked.length) {
        await client.query(
          assembleSql(
            c,
            picked.map((p) => p.key),
            picked.map((p) => p.version),
          ),
        );
      }
      return { picked: picked.length, fannedOut: picked.filter((p) => p.fanout).length };
    });
    if (!result) return { work: 0 };
    end();
    if (result.picked) {
      this.metrics.assembled.inc(result.picked);
      this.onAssembled();
    }
    if (fanoutRate > 0) this.tokens -= result.fannedOut;
    this.floor = Math.max(0, this.floor - result.fannedOut);
    // The budget ran out with fan-out perhaps left: wait for more (writers' documents still come first).
    const throttled = result.fannedOut >= budget;
    return { work: result.picked - (throttled ? result.fannedOut : 0), throttled };
  }
}
