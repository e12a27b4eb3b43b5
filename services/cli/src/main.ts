#!/usr/bin/env node
// The syncline command. Exit codes: 0 done (and, for reconcile, no drift left), 1 failed,
// 2 usage, 3 another run holds the lock, 4 reconcile found drift and did not repair it.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isSynclineError, SynclineError } from '@syncline/core';
import { captureStatus, disableCapture, enableCapture, OutboxWriter } from '@syncline/outbox';
import { backfill } from './backfill.ts';
import { createContext, progress } from './context.ts';
import { listDeadLetters, replayDeadLetters } from './dlq.ts';
import { driftCount, reconcile } from './reconcile.ts';
import { serveReconcile } from './reconcile-service.ts';
import { reindex } from './reindex.ts';
import { status } from './status.ts';

const HELP: Record<string, string> = {
  '': `usage: syncline <command> [options]

commands:
  status                        per collection: rows, outbox backlog, topic, lag, index, dead letters
  reindex <collection>          rebuild the index from the compacted topic; swap the alias (zero downtime)
  capture enable|disable|status <collection>
                                attach capture to the collection's own table (every committed change,
                                from any client), detach it, or check it; prints what it installed
  backfill <collection>         publish every existing row through the outbox (resumable)
  reconcile <collection>        report drift between PostgreSQL and Elasticsearch; --repair fixes it
  reconcile-service             reconcile every collection every --interval seconds; drift as metrics
  dlq list <collection>         dead letters with their reasons
  dlq replay <collection>       re-emit dead-lettered documents through the outbox

options for every command: --json (machine output), --help
environment: SYNCLINE_PG_URL, SYNCLINE_KAFKA_BROKERS, SYNCLINE_ES_URL, SYNCLINE_COLLECTIONS, SYNCLINE_SINK_GROUP
  (docs/configuration.md)
exit codes: 0 ok, 1 failed, 2 usage, 3 locked by another run, 4 drift found (reconcile without --repair)`,
  status: 'usage: syncline status [--json]',
  reindex: 'usage: syncline reindex <collection> [--grace-seconds N (default 3600)] [--json]',
  backfill: 'usage: syncline backfill <collection> [--chunk N (default 1000)] [--rate ROWS_PER_SECOND] [--json]',
  reconcile: 'usage: syncline reconcile <collection> [--repair] [--report FILE.json] [--json]',
  dlq: 'usage: syncline dlq list|replay <collection> [--json]',
  capture: 'usage: syncline capture enable|disable|status <collection> [--json]',
  'reconcile-service':
    'usage: syncline reconcile-service [--interval SECONDS (default 300)] [--repair] [--port N (default 8083)]\n' +
    'serves /healthz and /metrics (syncline_reconcile_drift{collection,kind}) on 127.0.0.1 (SYNCLINE_HTTP_HOST)',
};

const EXIT = { ok: 0, failed: 1, usage: 2, locked: 3, drift: 4 } as const;

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      repair: { type: 'boolean', default: false },
      report: { type: 'string' },
      chunk: { type: 'string' },
      rate: { type: 'string' },
      'grace-seconds': { type: 'string' },
      interval: { type: 'string' },
      port: { type: 'string' },
    },
  });
  const [command = '', ...rest] = positionals;
  if (values.help || command === '' || command === 'help') {
    console.log(HELP[command === 'help' ? '' : command] ?? HELP['']);
    return command === '' && !values.help ? EXIT.usage : EXIT.ok;
  }
  if (!(command in HELP)) throw new SynclineError('SYNC_USAGE', `unknown command '${command}'\n${HELP['']}`);
  const number = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new SynclineError('SYNC_USAGE', `--${name} must be a non-negative number`);
    return n;
  };
  const interactive = process.stderr.isTTY && !values.json;
  const out = (human: string, machine: unknown) => console.log(values.json ? JSON.stringify(machine, null, 2) : human);

  const ctx = createContext(process.env);
  try {
    switch (command) {
      case 'status': {
        await ctx.checkSearch();
        const rows = await status(ctx);
        out(
          rows
            .map(
              (r) =>
                `${r.collection}: ${r.postgresRows} rows, outbox backlog ${r.outboxBacklog}, topic ${r.topicEvents} events, sink lag ${r.consumerLag}, index ${r.indexDocuments} docs (alias -> ${r.aliasTarget ?? 'none'}), dead letters ${r.deadLetters}`,
            )
            .join('\n'),
          rows,
        );
        return EXIT.ok;
      }
      case 'reindex': {
        await ctx.checkSearch();
        const c = ctx.collection(rest[0]);
        await ctx.migrate();
        const r = await reindex(ctx.pool, ctx.kafka, ctx.search, c, {
          graceSeconds: number('grace-seconds', values['grace-seconds'], 3600),
          onProgress: progress(`reindex ${c.name}`, 0, interactive),
        });
        out(
          `${r.collection}: ${r.resumed ? 'resumed and ' : ''}rebuilt ${r.to} from ${r.events} events (${r.documents} documents); alias ${c.index.alias} -> ${r.to}${r.from ? ` (was ${r.from}, retired)` : ''}${r.deleted.length ? `; deleted ${r.deleted.join(', ')}` : ''}`,
          r,
        );
        return EXIT.ok;
      }
      case 'capture': {
        const [action, name] = rest;
        const c = ctx.collection(name);
        if (action === 'status') {
          const client = await ctx.pool.connect();
          const s = await captureStatus(client, c).finally(() => client.release());
          out(
            `${c.name}: capture of table ${s.table} is ${s.enabled ? 'enabled' : 'not enabled'}${s.problems.map((p) => `\n  problem: ${p}`).join('')}`,
            s,
          );
          return s.enabled && s.problems.length === 0 ? EXIT.ok : EXIT.failed;
        }
        if (action !== 'enable' && action !== 'disable') throw new SynclineError('SYNC_USAGE', HELP.capture!);
        await ctx.migrate();
        const r = action === 'enable' ? await enableCapture(ctx.pool, c) : await disableCapture(ctx.pool, c);
        out(
          [
            `${c.name}: capture ${action === 'enable' ? 'enabled on' : 'disabled on'} table ${r.table}`,
            ...r.actions.map((a) => `  ${a}`),
            ...r.notes.map((n) => `  note: ${n}`),
          ].join('\n'),
          r,
        );
        return EXIT.ok;
      }
      case 'backfill': {
        const c = ctx.collection(rest[0]);
        await ctx.migrate();
        const bar = progress(`backfill ${c.name}`, 0, interactive);
        const r = await backfill(ctx.pool, ctx.declaration, c, {
          chunk: number('chunk', values.chunk, 1000) || 1000,
          rate: number('rate', values.rate, 0),
          onProgress: (done, total) => bar(done, total),
        });
        out(`${c.name}: published ${r.emitted} of ${r.total} rows through the outbox`, r);
        return EXIT.ok;
      }
      case 'reconcile': {
        await ctx.checkSearch();
        const c = ctx.collection(rest[0]);
        const r = await reconcile(ctx.pool, ctx.search, ctx.declaration, c, { repair: values.repair });
        if (values.report) writeFileSync(values.report, JSON.stringify(r, null, 2));
        const drift = driftCount(r);
        out(
          `${c.name}: checked ${r.checked.postgres} rows and ${r.checked.elasticsearch} documents; missing ${r.missing.length}, stale ${r.stale.length}, orphaned ${r.orphaned.length}, diverged ${r.diverged.length}, ahead ${r.ahead.length}${values.repair ? `; repaired ${r.repaired} through the outbox` : ''}`,
          r,
        );
        return drift > 0 && !values.repair ? EXIT.drift : EXIT.ok;
      }
      case 'reconcile-service': {
        await ctx.checkSearch();
        await serveReconcile(ctx, {
          intervalSeconds: number('interval', values.interval, 300) || 300,
          repair: values.repair,
          host: ctx.http.host,
          port: number('port', values.port, ctx.http.port),
        });
        return EXIT.ok;
      }
      case 'dlq': {
        const [action, name] = rest;
        const c = ctx.collection(name);
        if (action === 'list') {
          const letters = await listDeadLetters(ctx.kafka, c);
          out(
            letters.map((l) => `${l.at} ${l.id} ${l.errorType}: ${l.reason} (from ${l.source})`).join('\n') ||
              'no dead letters',
            letters,
          );
          return EXIT.ok;
        }
        if (action === 'replay') {
          const n = await replayDeadLetters(ctx.kafka, ctx.pool, new OutboxWriter(ctx.declaration), c);
          out(`${c.name}: re-emitted ${n} dead-lettered documents through the outbox`, { replayed: n });
          return EXIT.ok;
        }
        throw new SynclineError('SYNC_USAGE', HELP.dlq!);
      }
      default:
        throw new SynclineError('SYNC_USAGE', HELP['']!);
    }
  } finally {
    await ctx.close();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (isSynclineError(err)) {
      console.error(`syncline: ${err.message}`);
      process.exit(err.code === 'SYNC_USAGE' ? EXIT.usage : err.code === 'SYNC_LOCKED' ? EXIT.locked : EXIT.failed);
    }
    console.error(`syncline: ${(err as Error).message ?? err}`);
    process.exit(EXIT.failed);
  },
);
