// The assembler of joined documents (db/join.ts): turns the marks the tables' triggers recorded into
// outbox events carrying whole documents, which the relay then publishes like any other. Runs in the
// relay's process. Each round is one transaction per collection, under the collection's assembly lock
// (transaction-scoped, tried without waiting: several relays may run one, only one assembles at a
// time): expand the marks of joined rows up the tree, then assemble a batch of documents — those
// writers touched directly first, fan-out after — and append them. A crash loses nothing: the marks
// leave with the events they became, in the same commit.
import { backoffDelay, type Logger, metricsOn, type Registry, sleep } from '@syncline/core';
import { type Collection, type Declaration, isJoined, joinNodes } from '@syncline/schema';
import pg from 'pg';
import { assembleSql, expandMarksSql, pickMarksSql } from '../db/join.ts';
import { assembleLockName, JOIN_MARKS_TABLE, operationLockKey, q } from '../db/tables.ts';

export interface AssemblerOptions {
  /** Most documents assembled in one transaction. */
  batchSize: number;
  /** Most marks of one joined table expanded by one statement. */
  expandSize: number;
}

const IDLE_MIN_MS = 2;
const IDLE_MAX_MS = 100;
const SAMPLE_MS = 5000;

export class DocumentAssembler {
  private readonly collections: Collection[];
  private readonly deps: { pgUrl: string; log: Logger; registry: Registry; options: AssemblerOptions };
  private client: pg.Client | undefined;
  private abort = new AbortController();
  private wakeUp = new AbortController();
  private loop: Promise<void> | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private readonly metrics;

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
  }

  /** Whether there is anything to assemble in this declaration. */
  get needed(): boolean {
    return this.collections.length > 0;
  }

  /** Starts assembling; onAssembled is called after each commit that appended events. */
  start(onAssembled: () => void): void {
    if (this.loop || !this.needed) return;
    this.abort = new AbortController();
    this.loop = this.run(onAssembled);
    const sample = () => void this.samplePending().catch(() => {});
    this.sampler = setInterval(sample, SAMPLE_MS);
    this.sampler.unref();
  }

  /** Cut the idle wait short: a local commit probably marked something. */
  wake(): void {
    this.wakeUp.abort();
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    this.abort.abort();
    this.wake();
    await this.loop;
    this.loop = undefined;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }

  async samplePending(): Promise<number> {
    const c = await this.connection();
    const { rows } = await c.query<{ n: string }>(`select count(*) as n from ${q(JOIN_MARKS_TABLE)}`);
    const n = Number(rows[0]!.n);
    this.metrics.pending.set(n);
    return n;
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.deps.pgUrl, application_name: 'syncline-assembler' });
    client.on('error', () => {
      if (this.client === client) this.client = undefined;
    });
    await client.connect();
    this.client = client;
    return client;
  }

  private async run(onAssembled: () => void): Promise<void> {
    const signal = this.abort.signal;
    let idle = IDLE_MIN_MS;
    let failures = 0;
    while (!signal.aborted) {
      try {
        let work = 0;
        let assembled = 0;
        for (const c of this.collections) {
          const r = await this.round(c);
          work += r.work;
          assembled += r.assembled;
        }
        failures = 0;
        if (assembled > 0) onAssembled();
        if (work > 0) {
          idle = IDLE_MIN_MS;
          continue;
        }
        await this.idleWait(idle, signal);
        idle = Math.min(IDLE_MAX_MS, idle * 2);
      } catch (err) {
        if (signal.aborted) break;
        const delay = backoffDelay(failures++, { initialMs: 200, maxMs: 5000 });
        this.deps.log.error({ err, retryInMs: delay }, 'cannot assemble joined documents; retrying');
        const c = this.client;
        this.client = undefined;
        await c?.end().catch(() => {});
        await sleep(delay, signal);
      }
    }
  }

  /** One transaction of one collection: expansions, then one batch of documents. */
  private async round(c: Collection): Promise<{ work: number; assembled: number }> {
    const { batchSize, expandSize } = this.deps.options;
    const client = await this.connection();
    const end = this.metrics.round.startTimer();
    await client.query('begin');
    try {
      const { rows: lock } = await client.query<{ ok: boolean }>(
        `select pg_try_advisory_xact_lock(${operationLockKey('$1')}) as ok`,
        [assembleLockName(c.name)],
      );
      if (!lock[0]!.ok) {
        await client.query('rollback');
        return { work: 0, assembled: 0 };
      }
      // Deepest first, so that one round carries a mark from a leaf to the root.
      let expanded = 0;
      for (const node of joinNodes(c).slice(1).reverse()) {
        const sql = expandMarksSql(c, node);
        for (let i = 0; i < 10; i++) {
          const { rows } = await client.query<{ taken: number }>({ ...sql, values: [...sql.values, expandSize] });
          expanded += rows[0]!.taken;
          if (rows[0]!.taken < expandSize) break;
        }
      }
      const { rows: picked } = await client.query<{ key: string; version: string }>(pickMarksSql(c, batchSize));
      if (picked.length) {
        await client.query(
          assembleSql(
            c,
            picked.map((p) => p.key),
            picked.map((p) => p.version),
          ),
        );
      }
      await client.query('commit');
      end();
      this.metrics.expanded.inc(expanded);
      this.metrics.assembled.inc(picked.length);
      return { work: expanded + picked.length, assembled: picked.length };
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    }
  }

  private async idleWait(ms: number, signal: AbortSignal): Promise<void> {
    this.wakeUp = new AbortController();
    await sleep(ms, AbortSignal.any([signal, this.wakeUp.signal]));
  }
}
