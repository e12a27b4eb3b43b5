// Scheduled reconcile: run reconcile for every collection every --interval seconds, export the drift
// it finds as Prometheus gauges, and repair it through the outbox when --repair is given.
import { createLogger, createMetricsRegistry, metricsOn, startOpsServer, untilSignal } from '@syncline/core';
import type { Context } from './context.ts';
import { reconcile } from './reconcile.ts';

const DRIFT_KINDS = ['missing', 'stale', 'orphaned', 'diverged', 'ahead'] as const;

export async function serveReconcile(
  ctx: Context,
  opts: { intervalSeconds: number; repair: boolean; host: string; port: number },
) {
  const log = createLogger('reconcile-service');
  const registry = createMetricsRegistry('reconcile-service');
  const m = metricsOn(registry);
  const drift = m.gauge('syncline_reconcile_drift', 'Ids found drifting in the last run', ['collection', 'kind']);
  const runs = m.counter('syncline_reconcile_runs_total', 'Reconcile runs', ['collection', 'result']);
  const repaired = m.counter('syncline_reconcile_repaired_total', 'Ids re-emitted through the outbox', ['collection']);
  const lastRun = m.gauge('syncline_reconcile_last_run_timestamp_seconds', 'End of the last run', ['collection']);

  let stopped = false;
  const once = async () => {
    for (const c of ctx.declaration.collections) {
      try {
        const r = await reconcile(ctx.pool, ctx.search, ctx.declaration, c, { repair: opts.repair });
        const found = Object.fromEntries(DRIFT_KINDS.map((kind) => [kind, r[kind].length]));
        for (const kind of DRIFT_KINDS) drift.set({ collection: c.name, kind }, found[kind]!);
        repaired.inc({ collection: c.name }, r.repaired);
        runs.inc({ collection: c.name, result: 'ok' });
        lastRun.set({ collection: c.name }, Date.now() / 1000);
        log.info({ collection: c.name, ...found, repaired: r.repaired }, 'reconciled');
      } catch (err) {
        runs.inc({ collection: c.name, result: 'error' });
        log.error({ err, collection: c.name }, 'reconcile failed');
      }
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await once();
      const until = Date.now() + opts.intervalSeconds * 1000;
      while (!stopped && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(500, until - Date.now())));
    }
  })();

  const http = await startOpsServer({
    registry,
    readiness: async () => ({ ready: true, repair: opts.repair, intervalSeconds: opts.intervalSeconds }),
    log,
    host: opts.host,
    port: opts.port,
  });
  await untilSignal();
  stopped = true;
  await http.close();
  await loop;
}
