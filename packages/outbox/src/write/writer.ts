// Records changes inside the caller's PostgreSQL transaction: the data change and its outbox event
// commit together or not at all. Per document id, a transaction-scoped advisory lock is taken
// before the version is drawn from the sequence, so versions of one id increase in commit order.
// Used by the write service and by applications that embed Syncline in their own transactions.

import { backoffDelay, SynclineError, sleep } from '@syncline/core';
import {
  type Collection,
  type Declaration,
  type Document,
  EventCodec,
  findCollection,
  isJoined,
  rowToDocument,
} from '@syncline/schema';
import type pg from 'pg';
import { markIdsSql, writtenMarksSql } from '../db/join.ts';
import {
  arrayLiteral,
  capturedEventsSql,
  captureEmitSql,
  captureWriteSql,
  KEY_ALIAS,
  lockCapturedRowsSql,
  lockIdsSql,
  selectRowsSql,
  tableWritersSql,
  writeChangesSql,
  writersLeftSql,
} from '../db/sql.ts';
import { type Sql, VERSION_COLUMN } from '../db/tables.ts';
import { withTransaction } from './transaction.ts';

export type WriteOp =
  | { op: 'upsert'; id: string; document: Document; ifMatch?: number | undefined }
  | { op: 'patch'; id: string; patch: Document; ifMatch?: number | undefined }
  | { op: 'delete'; id: string; ifMatch?: number | undefined };

export interface WriteResult {
  id: string;
  op: 'UPSERT' | 'DELETE';
  /** 0 for a joined collection's write: its document is versioned when it is assembled (join.ts). */
  version: number;
  /** true when an upsert created the document. */
  created: boolean;
  document: Document | null;
}

export class OutboxWriter {
  private readonly declaration: Declaration;
  private readonly writeSql = new Map<string, (values: unknown[]) => Sql>();
  private readonly codecs = new Map<string, EventCodec>();

  constructor(declaration: Declaration) {
    this.declaration = declaration;
  }

  collection(name: string): Collection {
    const c = findCollection(this.declaration, name);
    if (!c) throw new SynclineError('SYNC_UNKNOWN_COLLECTION', `no collection named '${name}'`);
    return c;
  }

  /**
   * Applies the operations (documents already validated) as a transaction of their own. Plain upserts
   * of a table Syncline owns are one statement (it takes the ids' locks, draws the versions, upserts and
   * appends the events), which PostgreSQL runs as a transaction by itself: one round trip instead of
   * three (begin, statement, commit), the same locks and the same atomicity.
   */
  commit(pool: pg.Pool, collectionName: string, ops: WriteOp[]): Promise<WriteResult[]> {
    const c = this.collection(collectionName);
    if (ops.length === 0 || c.capture || needsCurrentRows(ops)) {
      return withTransaction(pool, (client) => this.apply(client, collectionName, ops));
    }
    const results = this.plan(c, ops, new Map());
    return this.write(pool, c, results, distinctIds(ops)).then(() => results);
  }

  /** Applies the operations (documents already validated) in the caller's open transaction. */
  async apply(client: pg.ClientBase, collectionName: string, ops: WriteOp[]): Promise<WriteResult[]> {
    const c = this.collection(collectionName);
    if (ops.length === 0) return [];
    const ids = distinctIds(ops);
    // A captured table's triggers take the locks after the rows' own: taking them first here could
    // deadlock with a direct write. Its rows are locked (FOR UPDATE) when they are read instead.
    if (c.capture) {
      if (ops.some((o) => o.ifMatch !== undefined)) {
        throw new SynclineError(
          'SYNC_INVALID_PRECONDITION',
          `If-Match is not available on ${c.name}: a captured table stores no version (any client may write it)`,
        );
      }
      const needsRow = needsCurrentRows(ops);
      const current = needsRow ? await this.read(client, c, ids, true) : new Map<string, Record<string, unknown>>();
      const results = this.plan(c, ops, current);
      await this.writeCaptured(client, c, results);
      return results;
    }
    // Plain upserts need nothing from the current row: the write statement takes the locks itself (one
    // round trip). Patches, deletes and If-Match read the row, in a statement after the locks.
    const needsRow = needsCurrentRows(ops);
    if (needsRow) await this.lock(client, c, ids);
    const current = needsRow ? await this.read(client, c, ids) : new Map<string, Record<string, unknown>>();
    const results = this.plan(c, ops, current);
    await this.write(client, c, results, needsRow ? undefined : ids);
    return results;
  }

  /** Checks If-Match and existence against the current rows; each op's result, version still 0. */
  private plan(c: Collection, ops: WriteOp[], current: Map<string, Record<string, unknown>>): WriteResult[] {
    const results: WriteResult[] = [];
    ops.forEach((o) => {
      const row = current.get(o.id);
      const currentVersion = row ? Number(row[VERSION_COLUMN]) : undefined;
      if (o.ifMatch !== undefined && o.ifMatch !== currentVersion) {
        throw new SynclineError(
          'SYNC_VERSION_MISMATCH',
          `'${o.id}' is at version ${currentVersion ?? 'none (absent)'}, not ${o.ifMatch}`,
          { details: [{ path: o.id, message: `current version ${currentVersion ?? 'absent'}` }] },
        );
      }
      if ((o.op === 'patch' || o.op === 'delete') && !row) {
        throw new SynclineError('SYNC_NOT_FOUND', `no document '${o.id}' in '${c.name}'`);
      }
      if (o.op === 'delete') {
        results.push({ id: o.id, op: 'DELETE', version: 0, created: false, document: null });
      } else {
        const document = o.op === 'upsert' ? o.document : { ...rowToDocument(c, row!), ...o.patch };
        results.push({ id: o.id, op: 'UPSERT', version: 0, created: false, document });
      }
    });
    return results;
  }

  /**
   * For rows the caller changed with its own SQL: emits each row's current state (or a delete
   * when the row is gone) with a new version, stamped onto the row.
   */
  async recordChange(client: pg.ClientBase, collectionName: string, ids: string[]): Promise<WriteResult[]> {
    const c = this.collection(collectionName);
    const sorted = [...new Set(ids)].sort();
    if (isJoined(c)) return this.markJoined(client, c, sorted);
    if (c.capture) return this.reemitCaptured(client, c, sorted);
    await this.lock(client, c, sorted);
    const current = await this.read(client, c, sorted);
    const results: WriteResult[] = sorted.map((id) => {
      const row = current.get(id);
      return row
        ? { id, op: 'UPSERT', version: 0, created: false, document: rowToDocument(c, row) }
        : { id, op: 'DELETE', version: 0, created: false, document: null };
    });
    await this.write(client, c, results);
    return results;
  }

  /**
   * A captured collection's rows re-emitted (capture.ts), each with a version newer than every change
   * already committed or in flight, without ever waiting for a lock, so it can never be in a deadlock
   * with the application's transactions (whose triggers take no lock of their own): the rows are
   * locked FOR SHARE NOWAIT (a savepoint undone and tried again while a writer holds one), then
   * appended as events; writers after them wait for this transaction, so their versions are newer.
   * An id without a row is left alone: its delete is already an event (see repairCaptured for rows
   * that never had one).
   */
  private async reemitCaptured(client: pg.ClientBase, c: Collection, ids: string[]): Promise<WriteResult[]> {
    for (let attempt = 0; ; attempt++) {
      await client.query('savepoint syncline_reemit');
      try {
        const locked = await this.lockRows(client, c, ids);
        await client.query('release savepoint syncline_reemit');
        if (locked.length === 0) return [];
        const { rows } = await client.query<{ id: string; op: 'UPSERT' | 'DELETE'; version: string }>(
          captureEmitSql(c, locked, false),
        );
        return rows.map((r) => ({ id: r.id, op: r.op, version: Number(r.version), created: false, document: null }));
      } catch (err) {
        if ((err as { code?: string }).code !== '55P03') throw err;
        await client.query('rollback to savepoint syncline_reemit');
        if (attempt >= 200) throw new SynclineError('SYNC_LOCKED', `writers kept rows of ${c.name} locked; retry`);
        await sleep(backoffDelay(attempt, { initialMs: 5, maxMs: 200 }));
      }
    }
  }

  /**
   * Repairs documents of a captured collection (reconcile): ids whose row is gone get a delete, then
   * the rows are re-emitted. A writer that inserted such an id and had not committed when the delete
   * was drawn holds an older version, so the deletes are committed first, every transaction writing
   * the table at that moment is waited for (at most waitMs, holding nothing), and the re-emit that
   * follows sends the rows that exist by then, newer. Returns the ids it could not settle in time
   * (a later reconcile finds them again).
   */
  async repairCaptured(pool: pg.Pool, collectionName: string, ids: string[], waitMs = 60_000) {
    const c = this.collection(collectionName);
    const sorted = [...new Set(ids)].sort();
    if (isJoined(c)) {
      const marked = await withTransaction(pool, (client) => this.markJoined(client, c, sorted));
      return { deleted: 0, reemitted: marked.length, unsettled: [] };
    }
    const deleted = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ id: string }>(captureEmitSql(c, sorted, true));
      return rows.length;
    });
    const { rows: w } = await pool.query<{ writers: string[] }>(tableWritersSql(c));
    let settled = w[0]!.writers.length === 0;
    for (let attempt = 0, deadline = Date.now() + waitMs; !settled && Date.now() < deadline; attempt++) {
      const { rows: left } = await pool.query<{ n: number }>(writersLeftSql(c, w[0]!.writers));
      settled = left[0]!.n === 0;
      if (!settled) await sleep(backoffDelay(attempt, { initialMs: 5, maxMs: 500 }));
    }
    const reemitted = await withTransaction(pool, (client) => this.reemitCaptured(client, c, sorted));
    return { deleted, reemitted: reemitted.length, unsettled: settled ? [] : sorted };
  }

  /**
   * A joined collection's documents re-emitted: marked for assembly, which reads each one whole (or
   * finds its root row gone: a delete) and versions it after every assembly before. Takes no lock.
   */
  private async markJoined(client: pg.ClientBase, c: Collection, ids: string[]): Promise<WriteResult[]> {
    await client.query(markIdsSql(c, ids));
    return ids.map((id) => ({ id, op: 'UPSERT', version: 0, created: false, document: null }));
  }

  /** Locks the rows of these ids FOR SHARE without waiting (55P03 when a writer holds one); the ids found. */
  private async lockRows(client: pg.ClientBase, c: Collection, ids: string[]): Promise<string[]> {
    const { rows } = await client.query<{ id: string }>(lockCapturedRowsSql(c, ids, true));
    return rows.map((r) => r.id);
  }

  private async lock(client: pg.ClientBase, c: Collection, sortedIds: string[]): Promise<void> {
    await client.query(lockIdsSql(c, sortedIds));
  }

  /** Current rows, read in a statement after the lock (so with a snapshot that sees the last holder's commit). */
  private async read(client: pg.ClientBase, c: Collection, ids: string[], forUpdate = false) {
    const { rows } = await client.query<Record<string, unknown>>(selectRowsSql(c, ids, forUpdate));
    return new Map(rows.map((r) => [String(r[KEY_ALIAS]), r]));
  }

  /** A captured table's write: the table's change only; its triggers version it and append the events. */
  private async writeCaptured(client: pg.ClientBase, c: Collection, results: WriteResult[]) {
    let sql = this.writeSql.get(c.name);
    if (!sql) {
      sql = captureWriteSql(c);
      this.writeSql.set(c.name, sql);
    }
    const { rows } = await client.query<{ id: string; created: boolean; mark: string }>(
      sql([results.map((r) => r.id), results.map((r) => r.op), ...this.fieldArrays(c, results)]),
    );
    const ids = results.map((r) => r.id);
    const created = new Map(rows.map((r) => [r.id, r.created]));
    if (isJoined(c)) {
      // Versioned when assembled; here only whether the triggers marked every document.
      const { rows: marked } = await client.query<{ id: string }>(writtenMarksSql(c, ids, rows[0]!.mark));
      const found = new Set(marked.map((m) => m.id));
      for (const r of results) {
        if (!found.has(r.id)) throw notRecorded(c, r.id);
        r.created = created.get(r.id) ?? false;
      }
      return;
    }
    const events = await client.query<{ id: string; version: string }>(capturedEventsSql(c, ids, rows[0]!.mark));
    const versions = new Map(events.rows.map((e) => [e.id, Number(e.version)]));
    for (const r of results) {
      const version = versions.get(r.id);
      if (version === undefined) throw notRecorded(c, r.id);
      r.version = version;
      r.created = created.get(r.id) ?? false;
    }
  }

  /** One array per declared field over the results (array fields as array literals; deletes null). */
  private fieldArrays(c: Collection, results: WriteResult[]): unknown[][] {
    return Object.entries(c.fields).map(([name, field]) =>
      results.map((r) => {
        const v = r.document?.[name];
        if (v === undefined || v === null) return null;
        return field.type === 'array' ? arrayLiteral(v as unknown[]) : v;
      }),
    );
  }

  /**
   * Versions, writes and appends the outbox events in one statement; fills in version and created.
   * With lockIds (sorted) the statement takes the ids' locks itself; without, the caller holds them.
   */
  private async write(client: pg.ClientBase | pg.Pool, c: Collection, results: WriteResult[], lockIds?: string[]) {
    const key = `${c.name}${lockIds ? '+lock' : ''}`;
    let sql = this.writeSql.get(key);
    if (!sql) {
      sql = writeChangesSql(c, lockIds !== undefined);
      this.writeSql.set(key, sql);
    }
    // Each document is Avro-encoded here, once; the events carry the bytes (see writeChangesSql).
    let codec = this.codecs.get(c.name);
    if (!codec) {
      codec = new EventCodec(c);
      this.codecs.set(c.name, codec);
    }
    const encoded: Buffer[] = [];
    const offsets: number[] = [];
    const lengths: number[] = [];
    let offset = 0;
    for (const r of results) {
      if (r.document === null) {
        offsets.push(0);
        lengths.push(-1);
        continue;
      }
      const bytes = encodeDocument(codec, r.id, r.document);
      encoded.push(bytes);
      offsets.push(offset);
      lengths.push(bytes.length);
      offset += bytes.length;
    }
    const { rows } = await client.query<{ id: string; version: string; created: boolean }>(
      sql([
        results.map((r) => r.id),
        c.name,
        Buffer.concat(encoded, offset),
        codec.fingerprint,
        results.map((r) => r.op),
        offsets,
        lengths,
        ...this.fieldArrays(c, results),
        ...(lockIds ? [lockIds] : []),
      ]),
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const r of results) {
      const row = byId.get(r.id)!;
      r.version = Number(row.version);
      r.created = row.created;
    }
  }
}

const notRecorded = (c: Collection, id: string) =>
  new SynclineError(
    'SYNC_CAPTURE_NOT_READY',
    `no change of '${id}' was recorded: capture is not enabled on ${c.table} (run syncline capture enable ${c.name}), or a trigger of the table skipped the write`,
  );

/** Patches, deletes and If-Match read the current rows; plain upserts need nothing from them. */
const needsCurrentRows = (ops: WriteOp[]) => ops.some((o) => o.op !== 'upsert' || o.ifMatch !== undefined);

/** The operations' ids, sorted (the order locks are taken in); an id twice in one request is refused. */
function distinctIds(ops: WriteOp[]): string[] {
  const seen = new Set<string>();
  ops.forEach((o, i) => {
    if (seen.has(o.id)) {
      throw new SynclineError('SYNC_VALIDATION_FAILED', `id '${o.id}' appears twice in one request`, {
        details: [{ path: `operations[${i}].id`, message: 'duplicate id in one request' }],
      });
    }
    seen.add(o.id);
  });
  return [...seen].sort();
}

/** A document the event schema cannot carry is the caller's error (the write service validates first). */
function encodeDocument(codec: EventCodec, id: string, document: Document): Buffer {
  try {
    return codec.encodeDocument(document);
  } catch (cause) {
    throw new SynclineError('SYNC_VALIDATION_FAILED', `document '${id}' does not fit the collection's event schema`, {
      details: [{ path: id, message: (cause as Error).message.slice(0, 200) }],
      cause,
    });
  }
}
