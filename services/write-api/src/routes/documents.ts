// Document routes: PUT (create or replace), PATCH (merge), DELETE, GET, and _bulk. Every write
// runs in one PostgreSQL transaction that also appends its outbox event(s); any error rolls back.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { type ErrorDetail, SynclineError } from '@syncline/core';
import { type OutboxWriter, VERSION_COLUMN, withTransaction, type WriteOp, type WriteResult } from '@syncline/outbox';
import {
  type Collection,
  type Document,
  documentJsonSchema,
  isValidId,
  rowToDocument,
  validateDocument,
} from '@syncline/schema';
import type { IndexedVersionReader } from '@syncline/sink';

export interface DocumentRoutesDeps {
  pool: pg.Pool;
  writer: OutboxWriter;
  collections: Collection[];
  afterCommit: () => void;
  bulkMaxOperations: number;
  waitMaxMs: number;
  index?: IndexedVersionReader | undefined;
}

type Params = { collection: string; id: string };
type Query = { wait?: string; timeout?: string };

function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const raw = Array.isArray(header) ? header[0] : header;
  const m = /^\s*(?:W\/)?"?(\d{1,16})"?\s*$/.exec(raw ?? '');
  if (!m) throw new SynclineError('SYNC_INVALID_PRECONDITION', 'If-Match must be a version, e.g. "42"');
  return Number(m[1]);
}

/** One _bulk item: a validated operation, or what is wrong with it. */
function parseOperation(c: Collection, raw: unknown, at: string): WriteOp | ErrorDetail[] {
  const o = raw as { op?: unknown; id?: unknown; document?: unknown; ifMatch?: unknown };
  if (typeof o !== 'object' || o === null) return [{ path: at, message: 'must be an object' }];
  if (!isValidId(c, o.id)) return [{ path: `${at}.id`, message: `must match ${c.idPattern}` }];
  if (o.ifMatch !== undefined && !(Number.isSafeInteger(o.ifMatch) && (o.ifMatch as number) > 0)) {
    return [{ path: `${at}.ifMatch`, message: 'must be a positive integer' }];
  }
  const ifMatch = o.ifMatch as number | undefined;
  if (o.op === 'delete') return { op: 'delete', id: o.id, ifMatch };
  if (o.op !== 'upsert' && o.op !== 'patch') return [{ path: `${at}.op`, message: 'must be upsert, patch or delete' }];
  const r = validateDocument(c, o.document, o.op === 'upsert' ? 'full' : 'patch');
  if (!r.ok) return r.details.map((d) => ({ ...d, path: `${at}.document.${d.path}` }));
  return o.op === 'upsert'
    ? { op: 'upsert', id: o.id, document: r.document, ifMatch }
    : { op: 'patch', id: o.id, patch: r.document, ifMatch };
}

export async function documentRoutes(app: FastifyInstance, deps: DocumentRoutesDeps): Promise<void> {
  const byName = new Map(deps.collections.map((c) => [c.name, c]));

  const collectionOf = (name: string): Collection => {
    const c = byName.get(name);
    if (!c) throw new SynclineError('SYNC_UNKNOWN_COLLECTION', `no collection named '${name}'`);
    return c;
  };
  const checkId = (c: Collection, id: string): void => {
    if (!isValidId(c, id)) {
      throw new SynclineError('SYNC_INVALID_ID', `id must match ${c.idPattern}`, {
        details: [{ path: 'id', message: `must match ${c.idPattern}` }],
      });
    }
  };
  const valid = (c: Collection, body: unknown, mode: 'full' | 'patch', prefix = ''): Document => {
    const r = validateDocument(c, body, mode);
    if (!r.ok) {
      const details = r.details.map((d) => ({ ...d, path: prefix + d.path }));
      throw new SynclineError('SYNC_VALIDATION_FAILED', `the document does not match '${c.name}'`, { details });
    }
    return r.document;
  };

  async function write(c: Collection, ops: WriteOp[]): Promise<WriteResult[]> {
    const results = await withTransaction(deps.pool, (client) => deps.writer.apply(client, c.name, ops));
    deps.afterCommit();
    return results;
  }

  async function waitIfAsked(c: Collection, query: Query, results: WriteResult[], reply: FastifyReply): Promise<void> {
    if (query.wait === undefined) return;
    if (query.wait !== 'indexed' || !deps.index) {
      throw new SynclineError('SYNC_VALIDATION_FAILED', 'wait must be "indexed"', {
        details: [{ path: 'wait', message: 'the only value is indexed' }],
      });
    }
    const timeout = Math.min(Number(query.timeout ?? 5000) || 5000, deps.waitMaxMs);
    const deadline = Date.now() + timeout;
    for (const r of results) {
      for (;;) {
        const v = await deps.index.indexedVersion(c, r.id);
        if (r.op === 'DELETE' ? v === null || v >= r.version : v !== null && v >= r.version) break;
        if (Date.now() > deadline) {
          // The write committed: a single-document answer still carries its version.
          if (results.length === 1) reply.header('etag', `"${r.version}"`);
          throw new SynclineError(
            'SYNC_WAIT_TIMEOUT',
            `committed as version ${r.version}, but not indexed within ${timeout} ms; it will be`,
            { details: [{ path: r.id, message: `version ${r.version}` }] },
          );
        }
        await new Promise((res) => setTimeout(res, 25));
      }
    }
  }

  const send = (reply: FastifyReply, status: number, r: WriteResult) =>
    reply
      .status(status)
      .header('etag', `"${r.version}"`)
      .send(
        r.op === 'DELETE'
          ? { id: r.id, version: r.version, deleted: true }
          : { id: r.id, version: r.version, document: r.document },
      );

  const docParams = {
    type: 'object',
    properties: { collection: { type: 'string' }, id: { type: 'string' } },
    required: ['collection', 'id'],
  };
  const waitQuery = {
    type: 'object',
    properties: {
      wait: { type: 'string', enum: ['indexed'], description: 'Answer only once Elasticsearch has this version' },
      timeout: { type: 'integer', description: 'Milliseconds to wait for wait=indexed (default 5000)' },
    },
  };
  const anyDocument = {
    type: 'object',
    description: 'A document of the collection; see components for each collection',
    additionalProperties: true,
  };

  app.put<{ Params: Params; Querystring: Query }>(
    '/v1/collections/:collection/documents/:id',
    {
      schema: {
        summary: 'Create or replace a document',
        params: docParams,
        querystring: waitQuery,
        body: anyDocument,
        headers: { type: 'object', properties: { 'if-match': { type: 'string' } } },
      },
    },
    async (req, reply) => {
      const c = collectionOf(req.params.collection);
      checkId(c, req.params.id);
      const ifMatch = parseIfMatch(req.headers['if-match']);
      const document = valid(c, req.body, 'full');
      const [r] = await write(c, [{ op: 'upsert', id: req.params.id, document, ifMatch }]);
      await waitIfAsked(c, req.query, [r!], reply);
      return send(reply, r!.created ? 201 : 200, r!);
    },
  );

  app.patch<{ Params: Params; Querystring: Query }>(
    '/v1/collections/:collection/documents/:id',
    {
      schema: { summary: 'Merge fields into a document', params: docParams, querystring: waitQuery, body: anyDocument },
    },
    async (req, reply) => {
      const c = collectionOf(req.params.collection);
      checkId(c, req.params.id);
      const ifMatch = parseIfMatch(req.headers['if-match']);
      const patch = valid(c, req.body, 'patch');
      const [r] = await write(c, [{ op: 'patch', id: req.params.id, patch, ifMatch }]);
      await waitIfAsked(c, req.query, [r!], reply);
      return send(reply, 200, r!);
    },
  );

  app.delete<{ Params: Params; Querystring: Query }>(
    '/v1/collections/:collection/documents/:id',
    { schema: { summary: 'Delete a document', params: docParams, querystring: waitQuery } },
    async (req, reply) => {
      const c = collectionOf(req.params.collection);
      checkId(c, req.params.id);
      const ifMatch = parseIfMatch(req.headers['if-match']);
      const [r] = await write(c, [{ op: 'delete', id: req.params.id, ifMatch }]);
      await waitIfAsked(c, req.query, [r!], reply);
      return send(reply, 200, r!);
    },
  );

  app.get<{ Params: Params }>(
    '/v1/collections/:collection/documents/:id',
    { schema: { summary: 'Read a document from PostgreSQL', params: docParams } },
    async (req: FastifyRequest<{ Params: Params }>, reply) => {
      const c = collectionOf(req.params.collection);
      checkId(c, req.params.id);
      const { rows } = await deps.pool.query<Record<string, unknown>>(
        `select * from "${c.table}" where "${c.primaryKey}" = $1`,
        [req.params.id],
      );
      const row = rows[0];
      if (!row) throw new SynclineError('SYNC_NOT_FOUND', `no document '${req.params.id}' in '${c.name}'`);
      const version = Number(row[VERSION_COLUMN]);
      return reply.header('etag', `"${version}"`).send({ id: req.params.id, version, document: rowToDocument(c, row) });
    },
  );

  app.post<{ Params: { collection: string }; Querystring: Query; Body: unknown }>(
    '/v1/collections/:collection/_bulk',
    {
      schema: {
        summary: 'Many upserts, patches and deletes in one transaction: all or nothing',
        params: { type: 'object', properties: { collection: { type: 'string' } }, required: ['collection'] },
        querystring: waitQuery,
        body: {
          type: 'object',
          properties: {
            operations: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  op: { type: 'string', enum: ['upsert', 'patch', 'delete'] },
                  id: { type: 'string' },
                  document: anyDocument,
                  ifMatch: { type: 'integer' },
                },
                required: ['op', 'id'],
              },
            },
          },
          required: ['operations'],
        },
      },
    },
    async (req, reply) => {
      const c = collectionOf(req.params.collection);
      const body = req.body as { operations?: unknown };
      if (typeof body !== 'object' || body === null || !Array.isArray(body.operations)) {
        throw new SynclineError('SYNC_VALIDATION_FAILED', 'the body must be {"operations": [...]}', {
          details: [{ path: 'operations', message: 'must be an array' }],
        });
      }
      if (body.operations.length === 0 || body.operations.length > deps.bulkMaxOperations) {
        throw new SynclineError('SYNC_VALIDATION_FAILED', `send 1 to ${deps.bulkMaxOperations} operations`, {
          details: [{ path: 'operations', message: `must have 1 to ${deps.bulkMaxOperations} items` }],
        });
      }
      const ops: WriteOp[] = [];
      const details: ErrorDetail[] = [];
      body.operations.forEach((raw: unknown, i: number) => {
        const parsed = parseOperation(c, raw, `operations[${i}]`);
        if (Array.isArray(parsed)) details.push(...parsed);
        else ops.push(parsed);
      });
      if (details.length) {
        throw new SynclineError('SYNC_VALIDATION_FAILED', 'some operations are invalid; nothing was written', {
          details,
        });
      }
      const results = await write(c, ops);
      await waitIfAsked(c, req.query, results, reply);
      return reply.send({
        items: results.map((r) => ({ id: r.id, op: r.op, version: r.version, created: r.created })),
      });
    },
  );

  for (const c of deps.collections) app.addSchema({ $id: `document.${c.name}`, ...documentJsonSchema(c) });
}
