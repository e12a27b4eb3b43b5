// Builds the write service from its configuration and dependencies; main.ts starts it, tests
// call buildApp and use inject() or listen on an ephemeral port.
import { timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type Logger, metricsOn, opsRoutes, type Registry, SynclineError } from '@syncline/core';
import { OutboxWriter } from '@syncline/outbox';
import { type Declaration, MAX_ID_BYTES } from '@syncline/schema';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type pg from 'pg';
import type { WriteApiConfig } from './config.ts';
import { clientErrorHandler, errorBody, makeErrorHandler } from './http-errors.ts';
import type { IndexWaiter } from './index-waiter.ts';
import { documentRoutes } from './routes/documents.ts';

export interface WriteApiDeps {
  config: Pick<
    WriteApiConfig,
    'SYNCLINE_API_KEYS' | 'SYNCLINE_BODY_LIMIT_BYTES' | 'SYNCLINE_BULK_MAX_OPERATIONS' | 'SYNCLINE_WAIT_INDEXED_MAX_MS'
  >;
  declaration: Declaration;
  pool: pg.Pool;
  log: Logger;
  registry: Registry;
  /** Called after each commit (wakes an embedded relay). */
  afterCommit?: () => void;
  index?: IndexWaiter;
}

const OPEN_PATHS = ['/healthz', '/readyz', '/metrics', '/docs'];

export async function buildApp(deps: WriteApiDeps): Promise<FastifyInstance> {
  const { config, log } = deps;
  const onError = makeErrorHandler(log);
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.SYNCLINE_BODY_LIMIT_BYTES,
    // Every id the collection's pattern allows (at most MAX_ID_BYTES, percent-encoded) reaches the route.
    routerOptions: { maxParamLength: MAX_ID_BYTES * 3 },
    return503OnClosing: true,
    // The framework's own refusals (bad URL, id too long, malformed request line) in the documented shape.
    frameworkErrors: onError,
    clientErrorHandler,
  });
  app.setErrorHandler(onError);
  // Documents are JSON only: anything else is 415, not a string document. An empty body of a GET or
  // DELETE sent with a JSON content type is no body; of a write, it is malformed JSON.
  app.removeContentTypeParser(['text/plain', 'application/json']);
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) =>
    body === '' && (req.method === 'GET' || req.method === 'DELETE')
      ? done(null, undefined)
      : json(req, body as string, done),
  );
  app.setNotFoundHandler((req, reply) => {
    const err = new SynclineError('SYNC_ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    return reply.status(404).send(errorBody(err));
  });

  const m = metricsOn(deps.registry);
  const requests = m.counter('syncline_http_requests_total', 'HTTP requests', ['method', 'route', 'status']);
  const latency = m.histogram('syncline_http_request_seconds', 'HTTP request latency', ['method', 'route']);
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: reply.statusCode });
    latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  const keys = config.SYNCLINE_API_KEYS.map((k) => Buffer.from(k));
  if (keys.length === 0) log.warn('SYNCLINE_API_KEYS is empty: the write API accepts requests without a key');
  app.addHook('onRequest', async (req) => {
    if (keys.length === 0 || OPEN_PATHS.some((p) => req.url === p || req.url.startsWith(`${p}/`))) return;
    const header = req.headers['x-api-key'] ?? req.headers.authorization?.replace(/^Bearer\s+/i, '');
    const given = Buffer.from(typeof header === 'string' ? header : '');
    if (!keys.some((k) => k.length === given.length && timingSafeEqual(k, given))) {
      throw new SynclineError('SYNC_UNAUTHORIZED', 'send a valid API key in X-Api-Key or Authorization: Bearer');
    }
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Syncline write API',
        version: '1',
        description: `Writes to PostgreSQL with a transactional outbox. Collections: ${deps.declaration.collections
          .map((c) => c.name)
          .join(', ')}. Errors: {"error": {"code", "message", "details"}} with the codes of docs/errors.md.`,
      },
      components: {
        securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' } },
      },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Ready while PostgreSQL answers: a write needs nothing else (Kafka and the index come after commit).
  opsRoutes(app, {
    registry: deps.registry,
    readiness: () =>
      deps.pool.query('select 1').then(
        () => ({ ready: true }),
        () => ({ ready: false, reason: 'postgresql' }),
      ),
  });

  await app.register(documentRoutes, {
    pool: deps.pool,
    writer: new OutboxWriter(deps.declaration),
    collections: deps.declaration.collections,
    afterCommit: deps.afterCommit ?? (() => {}),
    bulkMaxOperations: config.SYNCLINE_BULK_MAX_OPERATIONS,
    waitMaxMs: config.SYNCLINE_WAIT_INDEXED_MAX_MS,
    index: deps.index,
  });
  return app;
}
