// What every Syncline process serves for operations — /healthz (alive), /readyz (200 only when ready
// to do its job) and /metrics (Prometheus) — and how it starts and stops: SIGTERM or SIGINT stop it
// once, gracefully; a failure to start prints one line and exits 1.
import Fastify, { type FastifyInstance, type RouteShorthandOptions } from 'fastify';
import { isSynclineError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Registry } from './metrics.ts';

export interface OpsOptions {
  registry: Registry;
  /** Whether the process can do its job now, with what /readyz shows of its state. */
  readiness: () => Promise<{ ready: boolean } & Record<string, unknown>>;
}

/** Adds the three routes to a server (hidden from OpenAPI). */
export function opsRoutes(app: FastifyInstance, { registry, readiness }: OpsOptions): void {
  // Hidden from the write API's OpenAPI document (@fastify/swagger reads schema.hide).
  const hide = { schema: { hide: true } } as RouteShorthandOptions;
  app.get('/healthz', hide, async () => ({ status: 'ok' }));
  app.get('/readyz', hide, async (_req, reply) => {
    const state = await readiness().catch((err: Error) => ({ ready: false, error: err.message }));
    return reply.status(state.ready ? 200 : 503).send(state);
  });
  app.get('/metrics', hide, async (_req, reply) =>
    reply.header('content-type', registry.contentType).send(await registry.metrics()),
  );
}

/** Listens and logs 'listening' with the port (tests and scripts read it from that line). */
export async function listen(app: FastifyInstance, log: Logger, host: string, port: number): Promise<void> {
  await app.listen({ host, port });
  const address = app.server.address();
  log.info({ port: typeof address === 'object' ? address?.port : undefined }, 'listening');
}

/** A server of the three routes alone, listening. */
export async function startOpsServer(
  options: OpsOptions & { log: Logger; host: string; port: number },
): Promise<FastifyInstance> {
  const app = Fastify();
  opsRoutes(app, options);
  await listen(app, options.log, options.host, options.port);
  return app;
}

/** Resolves with the first SIGTERM or SIGINT. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/** Runs a service process: start it, stop it at the first signal, exit. */
export function runService(name: string, start: () => Promise<{ log: Logger; stop(): Promise<void> }>): void {
  start().then(
    async (service) => {
      const signal = await untilSignal();
      service.log.info({ signal }, 'shutting down');
      await service.stop();
      process.exit(0);
    },
    (err: unknown) => {
      console.error(isSynclineError(err) ? `${name}: ${err.message}` : err);
      process.exit(1);
    },
  );
}
