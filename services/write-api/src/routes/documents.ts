// Document routes: PUT (create or replace), PATCH (merge), DELETE, GET, and _bulk. Every write
// runs in one PostgreSQL transaction that also appends its outbox event(s); any error rolls back.

import { type ErrorDetail, SynclineError } from '@syncline/core';
import {
  classifyPgError,
  joinedDocumentsSql,
  type OutboxWriter,
  VERSION_COLUMN,
  type WriteOp,
  type WriteResult,
  withTransaction,
} from '@syncline/outbox';
import {
  type Collection,
  type Document,
  documentJsonSchema,
  imageToDocument,
  isJoined,
  isValidId,
  rowToDocument,
  validateDocument,
} from '@syncline/schema';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { IndexWaiter } from '../index-waiter.ts';

export interface DocumentRoutesDeps {
  pool: pg.Pool;
  writer: OutboxWriter;
  collections: Collection[];
  afterCommit: () => void;
  bulkMaxOperations: number;
  waitMaxMs: number;
  index?: IndexWaiter | undefined;
}

type Params = { collection: string; id: string };
/** The most rolled-back transactions spent on naming the operations PostgreSQL refuses in one _bulk. */
const MAX_PROBES = 32;
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
  // Validation is the declaration's (validateDocument) and this file's, never Fastify's: its default
  // validator coerces ("id": true became the id "true"). Route schemas only describe the API.
  app.setValidatorCompiler(() => () => true);
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

  async function write(c: Collection, ops: WriteOp[], paths?: string[]): Promise<WriteResult[]> {
    let results: WriteResult[];
    try {
      results = await deps.writer.commit(deps.pool, c.name, ops);
    } catch (err) {
      const known = classifyPgError(err);
      if (!known || known.code !== 'SYNC_VALUE_REFUSED' || !paths) throw known ?? err;
      const refused = await refusedOperations(c, ops, paths, { probes: MAX_PROBES });
      throw new SynclineError('SYNC_VALUE_REFUSED', `${known.message}; nothing was written`, {
        details: refused?.length
          ? refused.map((path) => ({ path, message: 'PostgreSQL refused a value of this operation' }))
          : [{ path: 'operations', message: 'PostgreSQL refused a value of these operations together' }],
      });
    }
    deps.afterCommit();
    return results;
  }

  /**
   * The operations PostgreSQL refuses, found by halves in transactions that are rolled back; at most
   * `budget.probes` of them (a bulk refused everywhere must not cost thousands), and undefined when the
   * search ran out or met another failure (the answer then names no operation).
   */
  async function refusedOperations(
    c: Collection,
    ops: WriteOp[],
    paths: string[],
    budget: { probes: number },
  ): Promise<string[] | undefined> {
    if (budget.probes-- <= 0) return undefined;
    const ROLLBACK = new Error('rollback');
    const refused = await withTransaction(deps.pool, async (client) => {
      await deps.writer.apply(client, c.name, ops);
      throw ROLLBACK;
    }).then(
      () => false,
      (err) => (err === ROLLBACK ? false : classifyPgError(err)?.code === 'SYNC_VALUE_REFUSED' ? true : undefined),
    );
    if (refused !== true) return refused === false ? [] : undefined;
    if (ops.length === 1) return paths;
    const half = ops.length >> 1;
    const first = await refusedOperations(c, ops.slice(0, half), paths.slice(0, half), budget);
    const second = first && (await refusedOperations(c, ops.slice(half), paths.slice(half), budget));
    return first && second && [...first, ...second];
  }

  /** The wait a write asks for, validated before anything is written: the timeout in ms, or undefined. */
  function waitOf(query: Query): number | undefined {
    if (query.wait === undefined) {
      if (query.timeout !== undefined) throw invalidQuery('timeout', 'only with wait=indexed');
      return undefined;
    }
    if (query.wait !== 'indexed' || !deps.index) throw invalidQuery('wait', 'the only value is indexed');
    const timeout = query.timeout === undefined ? Math.min(5000, deps.waitMaxMs) : Number(query.timeout);
    if (!/^\d{1,9}$/.test(query.timeout ?? '1') || timeout < 1 || timeout > deps.waitMaxMs) {
      throw invalidQuery('timeout', `must be an integer from 1 to ${deps.waitMaxMs} (milliseconds)`);
    }
    return timeout;
  }

  async function waitIfAsked(c: Collection, timeout: number | undefined, results: WriteResult[], reply: FastifyReply) {
    if (timeout === undefined) return;
    // The write committed: a failure of the wait itself (the index or Kafka unreachable) is a wait that
    // did not see it in time, never an error that would suggest the write failed.
    const indexed = await deps.index!.waitIndexed(c, results, Date.now() + timeout).catch(() => false);
    if (indexed) return;
    // The write committed: a single-document answer still carries its version.
    if (results.length === 1 && !isJoined(c)) reply.header('etag', `"${results[0]!.version}"`);
    throw new SynclineError('SYNC_WAIT_TIMEOUT', `committed, but not indexed within ${timeout} ms; it will be`, {
      details: results.map((r) => ({
        path: r.id,
        message: isJoined(c) ? 'not assembled and indexed yet' : `version ${r.version}`,
      })),
    });
  }

  const invalidQuery = (path: string, message: string) =>
    new SynclineError('SYNC_VALIDATION_FAILED', `invalid query parameter ${path}`, { details: [{ path, message }] });

  /** PUT, PATCH and DELETE of one document: checked in full before anything is written. */
  async function writeOne(
    op: WriteOp['op'],
    req: FastifyRequest<{ Params: Params; Querystring: Query }>,
    reply: FastifyReply,
  ) {
    const c = collectionOf(req.params.collection);
    checkId(c, req.params.id);
    const ifMatch = parseIfMatch(req.headers['if-match']);
    const wait = waitOf(req.query);
    const { id } = req.params;
    const [r] = await write(c, [
      op === 'upsert'
        ? { op, id, document: valid(c, req.body, 'full'), ifMatch }
        : op === 'patch'
          ? { op, id, patch: valid(c, req.body, 'patch'), ifMatch }
          : { op, id, ifMatch },
    ]);
    await waitIfAsked(c, wait, [r!], reply);
    return send(c, reply, r!.created ? 201 : 200, r!);
  }

  const send = (c: Collection, reply: FastifyReply, status: number, r: WriteResult) => {
    const version = versionOf(c, r);
    if (version !== null) reply.header('etag', `"${version}"`);
    return reply
      .status(status)
      .send(r.op === 'DELETE' ? { id: r.id, version, deleted: true } : { id: r.id, version, document: r.document });
  };

  const docParams = {
    type: 'object',
    properties: { collection: { type: 'string' }, id: { type: 'string' } },
    required: ['collection', 'id'],
  };
  const waitQuery = {
    type: 'object',
    properties: {
      wait: { type: 'string', enum: ['indexed'], description: 'Answer only once Elasticsearch has this version' },
      timeout: {
        type: 'integer',
        minimum: 1,
        description: 'Milliseconds to wait for wait=indexed: 1 to SYNCLINE_WAIT_INDEXED_MAX_MS (default 5000)',
      },
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
    (req, reply) => writeOne('upsert', req, reply),
  );

  app.patch<{ Params: Params; Querystring: Query }>(
    '/v1/collections/:collection/documents/:id',
    {
      schema: { summary: 'Merge fields into a document', params: docParams, querystring: waitQuery, body: anyDocument },
    },
    (req, reply) => writeOne('patch', req, reply),
  );

  app.delete<{ Params: Params; Querystring: Query }>(
    '/v1/collections/:collection/documents/:id',
    { schema: { summary: 'Delete a document', params: docParams, querystring: waitQuery } },
    (req, reply) => writeOne('delete', req, reply),
  );

  app.get<{ Params: Params }>(
    '/v1/collections/:collection/documents/:id',
    { schema: { summary: 'Read a document from PostgreSQL', params: docParams } },
    async (req: FastifyRequest<{ Params: Params }>, reply) => {
      const c = collectionOf(req.params.collection);
      checkId(c, req.params.id);
      if (isJoined(c)) {
        // The document as the join reads it now (what the index will show once it is assembled).
        const { rows } = await deps.pool.query<{ image: Record<string, unknown> }>(
          joinedDocumentsSql(c, [req.params.id]),
        );
        if (!rows[0]) throw new SynclineError('SYNC_NOT_FOUND', `no document '${req.params.id}' in '${c.name}'`);
        const doc = imageToDocument(c, rows[0].image);
        if (!doc.ok)
          throw new SynclineError('SYNC_VALUE_REFUSED', `document '${req.params.id}' does not fit the declaration`, {
            details: doc.details,
          });
        return reply.send({ id: req.params.id, document: doc.document });
      }
      const { rows } = await deps.pool.query<Record<string, unknown>>(
        `select * from "${c.table}" where "${c.primaryKey}" = $1`,
        [req.params.id],
      );
      const row = rows[0];
      if (!row) throw new SynclineError('SYNC_NOT_FOUND', `no document '${req.params.id}' in '${c.name}'`);
      // A captured table stores no version (it lives in the events): no ETag to offer.
      if (c.capture) return reply.send({ id: req.params.id, document: rowToDocument(c, row) });
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
      const wait = waitOf(req.query);
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
      const paths = ops.map((_, i) => `operations[${i}]`);
      if (details.length) {
        throw new SynclineError('SYNC_VALIDATION_FAILED', 'some operations are invalid; nothing was written', {
          details,
        });
      }
      const results = await write(c, ops, paths);
      await waitIfAsked(c, wait, results, reply);
      return reply.send({
        items: results.map((r) => ({ id: r.id, op: r.op, version: versionOf(c, r), created: r.created })),
      });
    },
  );

  /** A write's version; null for a joined collection, whose documents are versioned when assembled. */
  function versionOf(c: Collection, r: WriteResult): number | null {
    return isJoined(c) ? null : r.version;
  }

  for (const c of deps.collections) app.addSchema({ $id: `document.${c.name}`, ...documentJsonSchema(c) });
}
